"""`spgrasp demo` end to end: video source node -> tracker node (bundled model) -> grasps, video, summary."""

import json
import subprocess
import sys

import cv2
import pytest
from ros_harness import require_ros

pytestmark = pytest.mark.ros


def test_demo_runs_the_nodes_and_reports(tmp_path):
    require_ros()
    out = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "demo", "--frames", "24", "--rate", "8",
                          "--device", "cpu", "--out", str(out)], capture_output=True, text=True, timeout=600)
    print(run.stdout[-4000:], run.stderr[-4000:])
    assert run.returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_published"] == 24
    assert summary["frames_with_grasps"] >= 18, "nearly every frame after the prompt is answered"
    assert summary["grasp_accuracy"] is not None and summary["grasp_accuracy"] >= 0.6, "a broken pipeline scores near 0"
    assert summary["latency_ms"]["p50"] > 0 and summary["fps"] > 0
    lines = [line for line in run.stdout.splitlines() if line.startswith("frame ")]
    assert len(lines) >= 18 and "obj 1:" in lines[0], "grasps are printed as they arrive"
    video = cv2.VideoCapture(str(out / "spgrasp_demo.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 24 and int(video.get(cv2.CAP_PROP_FRAME_WIDTH)) == 640
    assert (out / "tracker.log").is_file() and (out / "video_source.log").is_file()
