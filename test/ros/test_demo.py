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


def test_demo_runs_from_a_bag_with_its_annotations(tmp_path):
    """`spgrasp demo --bag`: a bag written from a synthetic clip, replayed through bag_source_node into the tracker,
    prompted and scored with the clip's own labels."""
    require_ros()
    from spgrasp_ros.cli import main
    from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic

    clip = write_synthetic(tmp_path / "synth", 1, SynthConfig(frames=16), seed=100_778, progress=False)[0]
    assert main(["bag", "from-sequence", str(clip), str(tmp_path / "bag")]) == 0  # 30 fps from 1 s
    out = tmp_path / "demo_bag"
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "demo", "--bag", str(tmp_path / "bag"),
                          "--annotations", str(clip), "--speed", "0.3", "--device", "cpu", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    print(run.stdout[-4000:], run.stderr[-4000:])
    assert run.returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_published"] == 16 and summary["frames_with_grasps"] >= 10
    assert summary["grasp_accuracy"] is not None and summary["grasp_accuracy"] >= 0.5
    assert summary["latency_ms"]["p50"] > 0 and "arrival" in summary["latency_from"]
    assert "bag: 16 frames of 160x120" in run.stdout and (out / "bag_source.log").is_file()
    video = cv2.VideoCapture(str(out / "spgrasp_demo.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 16

    # without ground truth, a prompt is needed: one line, before anything starts
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "demo", "--bag", str(tmp_path / "bag"),
                          "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "needs a prompt: --annotations" in run.stderr
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "demo", "--bag", str(tmp_path / "bag"),
                          "--box", "1,2,3", "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "--box '1,2,3': expected x0,y0,x1,y1" in run.stderr
