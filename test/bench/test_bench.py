"""spgrasp bench on the tiny test model: every stage timed, JSON and PNG written."""

import json
import subprocess
import sys


def test_bench_cli_writes_json_and_plot(tmp_path):
    out = tmp_path / "bench"
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros", "bench", "--model", "test_tiny", "--device", "cpu",
                          "--objects", "2", "--frames", "12", "--warmup", "2", "--resolution", "160x120",
                          "--n-hist", "4", "--threads", "1", "--out", str(out)], capture_output=True, text=True, timeout=300)
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


# --- GPU-mode harness, run on the CPU with tiny settings ---------------------------------------------------------
import pytest  # noqa: E402
import torch  # noqa: E402

TINY_SWEEP = ["models=[test_tiny]", "image_sizes=[128]", "n_hist=[2]", "objects=[1,2]", "frames=3", "warmup=1",
              "resolution=96x64", "threads=1", "sync_check=0", "long_stream=20",
              "long_stream_row={model: test_tiny, image_size: 128, n_hist: 2, objects: 2, mode: float32}",
              # the compiled rows trace with dynamo but skip inductor's code generation (tested in test/tracker)
              "tracker.compile_backend=aot_eager"]


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_sam2_baseline_segments_the_same_frames_on_cpu(tmp_path, restore_threads):
    from spgrasp_ros.bench.bench import scene_frames
    from spgrasp_ros.bench.sam2_baseline import run_sam2_baseline
    from spgrasp_ros.model.config import load_model_config

    torch.set_num_threads(1)
    frames, boxes = scene_frames(96, 64, objects=2, count=6, jpeg_dir=tmp_path)
    assert len(list(tmp_path.glob("*.jpg"))) == 6 and frames[0].shape == (64, 96, 3)
    config = load_model_config("test_tiny").replace(image_size=128, n_hist=2)
    result = run_sam2_baseline(config, tmp_path, boxes, device="cpu", warmup=2)
    assert result["predictor"] == "SAM2VideoPredictor" and not result["vos_optimized"]
    assert result["frames"] == 3 and len(result["frame_ms_series"]) == 3, "prompt frame and warm-up not counted"
    assert result["mask_shape"] == [2, 1, 64, 96], "one mask per object at video resolution"
    assert 0 < result["frame_ms"]["median"] <= result["frame_ms"]["p99"]
    assert "++model.num_maskmem=3" in result["overrides"] and "++model.image_size=128" in result["overrides"]


def test_sweep_on_cpu_writes_json_and_plot_with_ratios_and_resumes(tmp_path, restore_threads):
    from spgrasp_ros.cli import main

    out = tmp_path / "sweep"
    modes = "modes=[float32,bf16,compiled]"
    assert main(["bench", "--sweep", *TINY_SWEEP, modes, "time_budget_s=0.001", "--out", str(out)]) == 0
    first = json.loads((out / "sweep.json").read_text())
    assert not first["complete"] and first["rows"] == [], "the budget stops the sweep before its first row"
    assert main(["bench", "--sweep", *TINY_SWEEP, modes, "--resume", "--out", str(out)]) == 0
    result = json.loads((out / "sweep.json").read_text())
    assert result["complete"] and result["ceilings"]["copy_gbps"] > 0
    assert len(result["baselines"]) == 2 and len(result["rows"]) == 6
    for row in result["rows"]:
        assert row["ratio_to_sam2"]["median"] > 0 and len(row["frame_ms_series"]) == 3
        assert set(row["stages_ms"]) >= {"image_encoder", "memory_attention", "decoder", "memory_encoder"}
        assert row["floors"]["image_encoder"]["gflops"] > 0 and row["frame_floor_ms"] > 0
        assert row["memory"]["flat"] and row["memory"]["peak_bytes"] is None  # CPU: the tracker's state bytes
        assert row["syncs"] is None  # synchronisations are counted on CUDA only
    compiled = [r for r in result["rows"] if r["mode"] == "compiled"]
    assert all(r["compile"]["graphs_during_timed_frames"] == 0 and r["compile"]["counts"]["graph_breaks"] == 0
               for r in compiled)
    assert result["long_stream"]["flat"] and result["long_stream"]["frames"] == 20
    assert [t["met"] for t in result["targets"]][:2] == [False, False], "no base+ rows in this sweep"
    assert (out / "sweep.png").stat().st_size > 10000


def test_single_bench_with_sam2_baseline_and_long_stream(tmp_path, restore_threads):
    from spgrasp_ros.cli import main

    out = tmp_path / "one"
    assert main(["bench", "--model", "test_tiny", "--device", "cpu", "--image-size", "128", "--n-hist", "2",
                 "--objects", "2", "--frames", "3", "--warmup", "1", "--resolution", "96x64", "--threads", "1",
                 "--mode", "bf16", "--baseline", "--long-stream", "20", "--out", str(out)]) == 0
    result = json.loads((out / "bench.json").read_text())
    assert result["tracker_config"]["precision"] == "bfloat16" and result["sam2"]["frames"] == 3
    assert result["ratio_to_sam2"]["median"] == pytest.approx(
        result["frame_ms"]["median"] / result["sam2"]["frame_ms"]["median"])
    assert result["long_stream"]["flat"] and (out / "bench.png").stat().st_size > 5000


def test_bench_rejects_bad_sweep_settings(tmp_path, capsys):
    from spgrasp_ros.cli import main

    assert main(["bench", "--sweep", "modes=[fp8]", "--out", str(tmp_path)]) == 2
    assert "unknown modes" in capsys.readouterr().err
    assert main(["bench", "--sweep", "colour=red", "--out", str(tmp_path)]) == 2
    assert main(["bench", "frames=3", "--out", str(tmp_path)]) == 2, "KEY=VALUE outside a sweep: tracker.* only"
