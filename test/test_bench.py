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
