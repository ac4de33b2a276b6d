"""`spgrasp soak` end to end, CI-sized: source + tracker + viewer with re-prompts and every fault kind."""

import json
import subprocess
import sys

import pytest
from ros_harness import require_ros

from spgrasp_ros.ros.soak_report import FAULT_KINDS, MALFORMED_KINDS, PROMPT_KINDS, SoakConfig, rss_slope

pytestmark = pytest.mark.ros


@pytest.mark.slow
def test_soak_injects_every_fault_and_reports(tmp_path):
    require_ros()
    out = tmp_path / "soak"
    # 18 s: a re-prompt every 2 s (replace, append, remove, clear, ...), faults at 5 s (kill the source), 10 s
    # (deactivate + activate) and 15 s (malformed frames, while the clear of 14 s leaves nothing tracked)
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "soak", "--minutes", "0.3", "--fault-s", "5",
                          "--reprompt-s", "2", "--sample-s", "1", "--max-rss-slope", "1000", "--device", "cpu",
                          "--out", str(out)], capture_output=True, text=True, timeout=240)
    print(run.stdout[-4000:], run.stderr[-4000:])
    report = json.loads((out / "soak.json").read_text())
    assert run.returncode == 0 and report["passed"], report["failures"]
    faults = report["faults"]
    assert all(faults["injected"][kind] >= 1 for kind in FAULT_KINDS), faults["injected"]
    assert all(faults["malformed_sent"][kind] >= 1 for kind in MALFORMED_KINDS)
    assert faults["unrecovered"] == 0, "grasps come back after every fault"
    requests = report["requests"]
    assert requests["unanswered"] == 0 and requests["sent"] == requests["answered"] > 0
    assert all(requests["by_kind"][kind]["sent"] >= 1 for kind in PROMPT_KINDS)
    assert requests["by_kind"]["prompt_while_inactive"]["refused"] >= 1, "an inactive tracker refuses prompts"
    tracker, frames = report["tracker"], report["frames"]
    assert tracker["alive_throughout"] and tracker["exit_code"] == 0 and tracker["exited_by_itself"]
    assert report["source"]["exit_code"] == 0 and report["source"]["killed"] >= 1
    assert frames["processed"] > 0 and frames["rejected"] > 0, "malformed frames are rejected and counted"
    viewer = report["viewer"]
    assert viewer["grasp_arrays"] > 0 and viewer["masks"] > 0 and viewer["debug_images"] > 0
    assert viewer["stamps_not_increasing"] == 0, "each image stamp is published once, in order"
    assert report["rss_mib"]["start"] > 0 and report["rss_mib"]["slope_per_min"] is not None
    assert (out / "soak.png").stat().st_size > 0 and (out / "tracker.log").is_file()
    assert "soak of" in run.stdout and "PASSED" in run.stdout


def test_rss_slope_is_fitted_after_the_warmup():
    samples = [(0.0, 100.0), (30.0, 500.0)] + [(60.0 * m, 200.0 + 3.0 * m) for m in range(1, 6)]
    assert rss_slope(samples, warmup_share=0.2) == pytest.approx(3.0)
    assert rss_slope(samples[:2], warmup_share=0.0) is None, "too few samples: no slope"


@pytest.mark.parametrize("flag, value", [("--minutes", "0"), ("--fault-s", "-1"), ("--warmup-share", "1"),
                                         ("--rate-hz", "nan")])
def test_bad_options_fail_in_one_line(flag, value):
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "soak", flag, value], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and flag in run.stderr, run.stderr


def test_defaults_check():
    SoakConfig().check()  # the defaults are valid
