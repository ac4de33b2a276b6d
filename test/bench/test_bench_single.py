"""spgrasp bench, one configuration, on the tiny test model: every stage timed, JSON and PNG written."""

import json
import subprocess
import sys

import numpy as np
import pytest


def test_bench_cli_writes_json_and_plot(tmp_path):
    out = tmp_path / "bench"
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros", "bench", "--model", "test_tiny", "--device", "cpu",
                          "--objects", "2", "--frames", "12", "--warmup", "2", "--resolution", "160x120",
                          "--n-hist", "4", "--threads", "1", "--out", str(out)], capture_output=True, text=True,
                         timeout=300)
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


def test_single_bench_with_sam2_baseline_and_long_stream(tmp_path, restore_threads):
    from spgrasp_ros.cli import main

    out = tmp_path / "one"
    assert main(["bench", "--model", "test_tiny", "--device", "cpu", "--image-size", "128", "--n-hist", "2",
                 "--objects", "2", "--frames", "3", "--warmup", "1", "--resolution", "96x64", "--threads", "1",
                 "--mode", "bf16", "--baseline", "--long-stream", "20", "--out", str(out)]) == 0
    result = json.loads((out / "bench.json").read_text())
    assert result["tracker_run"]["precision"] == "bfloat16" and result["sam2"]["frames"] == 3
    assert result["ratio_to_sam2"]["median"] == pytest.approx(
        result["frame_ms"]["median"] / result["sam2"]["frame_ms"]["median"])
    assert result["long_stream"]["flat"] and (out / "bench.png").stat().st_size > 5000
    side = result["interleaved"]  # the two systems stepped alternately on the same frames
    assert side["frames"] == 3 and side["warmup"] == 1 and side["sam2"]["predictor"] == "SAM2VideoPredictor"
    assert side["ratio_per_frame"]["median"] > 0 and np.isfinite(side["ratio_of_medians"])
    assert side["ours_ms"]["median"] > 0 and side["sam2_ms"]["median"] > 0
