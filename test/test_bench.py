"""spgrasp bench on the tiny test model: every stage timed, JSON and PNG written."""

import json
import subprocess
import sys


def test_bench_cli_writes_json_and_plot(tmp_path):
    out = tmp_path / "bench"
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros", "bench", "--model", "test_tiny", "--device", "cpu",
                          "--objects", "2", "--frames", "12", "--warmup", "2", "--resolution", "160x120",
                          "--n-hist", "4", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads((out / "bench.json").read_text())
    assert result["model_config"]["n_hist"] == 4 and result["settings"]["objects"] == 2
    stages = result["stages_ms"]
    assert set(stages) == {"preprocess", "image_encoder", "memory_attention", "decoder", "memory_encoder",
                           "grasp_decode"}
    assert all(v["median"] > 0 and v["median"] <= v["p99"] for v in stages.values())
    total = result["frame_ms"]["median"]
    assert sum(v["median"] for v in stages.values()) <= total * 1.1, "stages are parts of the frame"
    assert (out / "bench.png").stat().st_size > 5000
    assert "frame (total)" in run.stdout


def test_ros_overhead_probe_measures_every_stage(tmp_path):
    from ros_harness import require_ros

    require_ros()
    from spgrasp_ros.cli import main

    assert main(["bench", "--ros-overhead", "--resolution", "320x240", "--frames", "20", "--out", str(tmp_path)]) == 0
    import json

    result = json.loads((tmp_path / "ros_overhead.json").read_text())
    assert result["delivered"] == {"grasps": 20, "mask": 20}, "every published message arrived"
    stages = result["stages"]
    assert set(stages) == {"image_to_array", "array_to_tensor", "grasp_array_publish", "mask_publish", "total"}
    assert stages["total"]["median_ms"] >= stages["mask_publish"]["median_ms"] > 0
