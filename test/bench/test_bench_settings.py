"""What a benchmark runs: modes and tracker overrides routed to where they belong, bad settings refused."""

import pytest

from spgrasp_ros.bench.settings import MODES, sweep_settings, tracker_run
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.optimised import OptimisedConfig


def test_modes_time_the_deployed_tracker_and_route_overrides():
    for mode in MODES:
        assert tracker_run(mode).config == TrackerConfig(), "bench times what the robot runs"
    assert tracker_run("float32").optimised is None and tracker_run("bf16").precision == "bfloat16"
    assert tracker_run("compiled").optimised == OptimisedConfig() and tracker_run("compiled").compiles
    run = tracker_run("compiled", {"search_window": 0.0, "readout_window": 1, "compile_backend": "aot_eager",
                                   "precision": "float32"})
    assert run.config.search_window == 0.0 and run.config.decode.readout_window == 1
    assert run.optimised.compile_backend == "aot_eager" and run.precision == "float32"
    assert tracker_run("float32", {"compile_backend": "aot_eager"}).optimised is None, "nothing turned on"
    assert tracker_run("auto", {"compile": True}).compiles
    with pytest.raises(ValueError, match=r"unknown tracker settings \['colour'\]"):
        tracker_run("auto", {"colour": "red"})
    with pytest.raises(ValueError, match="precision"):
        tracker_run("auto", {"precision": "fp8"})
    settings = sweep_settings(None, ["models=[test_tiny]", "resolution=96x64", "tracker.search_window=0"])
    assert settings.size == (96, 64) and settings.tracker == {"search_window": 0}


def test_bench_rejects_bad_sweep_settings(tmp_path, capsys):
    from spgrasp_ros.cli import main

    assert main(["bench", "--sweep", "modes=[fp8]", "--out", str(tmp_path)]) == 2
    assert "unknown modes" in capsys.readouterr().err
    assert main(["bench", "--sweep", "colour=red", "--out", str(tmp_path)]) == 2
    assert main(["bench", "frames=3", "--out", str(tmp_path)]) == 2, "KEY=VALUE outside a sweep: tracker.* only"
    assert main(["bench", "tracker.colour=red", "--out", str(tmp_path)]) == 2
    assert "unknown tracker settings" in capsys.readouterr().err
    assert main(["bench", "--resolution", "640", "--out", str(tmp_path)]) == 2
