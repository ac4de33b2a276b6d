"""spgrasp bench --sweep on the CPU with tiny settings: the GPU-mode harness, resumable, with sam2 ratios."""

import json

TINY_SWEEP = ["models=[test_tiny]", "image_sizes=[128]", "n_hist=[2]", "objects=[1,2]", "frames=3", "warmup=1",
              "resolution=96x64", "threads=1", "sync_check=0", "long_stream=20",
              "long_stream_row={model: test_tiny, image_size: 128, n_hist: 2, objects: 2, mode: float32}",
              # the compiled rows trace with dynamo but skip inductor's code generation (tested in test/tracker)
              "tracker.compile_backend=aot_eager"]


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
