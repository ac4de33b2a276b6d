"""``spgrasp label``: an unlabelled recording (as the ZED node writes one: frames, depth, camera, stamps, no
objects) gets masks, visibility and mask-geometry grasps from one box per object, close to the truth."""

import subprocess
import sys

import numpy as np
import pytest

from spgrasp_ros.data.recorded import SequenceWriter, read_sequence
from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.data.types import object_box
from spgrasp_ros.evaluation.metrics import RectangleMetric
from spgrasp_ros.grasps.rectangles import grasp_corners
from spgrasp_ros.tracker.build import load_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.training.auto_labels import label_recording

CAMERA = {"fx": 140.0, "fy": 140.0, "cx": 80.0, "cy": 60.0}


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """(an unlabelled recording of a synthetic clip, the clip's labelled frames, first-frame boxes)."""
    sequence = generate_clip(SynthConfig(frames=8, min_objects=2, max_objects=2, occlusion_probability=0.0),
                             100_901).to_sequence()
    folder = tmp_path_factory.mktemp("rec") / "zed_20261201_120000"
    with SequenceWriter(folder, (160, 120), 10.0, camera=CAMERA, frame_id="zed_left_camera_frame_optical") as out:
        for k, frame in enumerate(sequence.frames):
            depth = np.full((120, 160), 0.2, np.float32)  # objects 20-40 px wide: 3-6 cm at fx 140
            out.write(frame.load_image(), [], depth_m=depth, stamp_ns=10**9 + k * 10**8)
    first = sequence.frames[0]
    masks = first.load_masks()
    boxes = [object_box(first, o.object_id, masks, (160, 120)).tolist() for o in first.objects]
    return folder, sequence, boxes


def test_labels_follow_the_objects_and_their_grasps_are_right(recording, tmp_path):
    folder, truth, boxes = recording
    tracker = load_tracker("demo", "cpu", TrackerConfig(), precision="float32")
    summary = label_recording(tracker, folder, tmp_path / "labelled", boxes, progress=False)
    assert summary["frames"] == 8 and summary["objects"] == 2 and summary["grasps"] > 0
    assert (tmp_path / "labelled_labels.mp4").stat().st_size > 0
    labelled = read_sequence(tmp_path / "labelled")
    assert labelled.meta["camera"] == CAMERA and labelled.meta["frame_id"] == "zed_left_camera_frame_optical"
    assert labelled.meta["stamps_ns"] == [10**9 + k * 10**8 for k in range(8)]  # copied from the recording
    metric, correct, scored, ious = RectangleMetric(), 0, 0, []
    for ours, real in zip(labelled.frames, truth.frames):
        assert np.array_equal(ours.load_image(), real.load_image())
        assert np.allclose(ours.load_depth(), 0.2, atol=1e-3)
        our_masks, real_masks = ours.load_masks(), real.load_masks()
        for label in ours.objects:  # tracker ids 1, 2 were prompted in the truth's object order
            truth_label = real.object(label.object_id)
            mine, theirs = our_masks == label.object_id, real_masks == label.object_id
            ious.append((mine & theirs).sum() / max((mine | theirs).sum(), 1))
            if not (label.visible and len(label.grasps) and truth_label.visible and len(truth_label.grasps)):
                continue
            g, t = label.grasps, truth_label.grasps
            scored += 1
            correct += bool(metric.is_correct(grasp_corners(g.centers[:1], g.angles[:1], g.widths[:1], g.jaws[:1]),
                                              g.angles[:1], grasp_corners(t.centers, t.angles, t.widths, t.jaws),
                                              t.angles)[0])
    assert scored >= 12 and correct / scored >= 0.8, (correct, scored)
    assert np.mean(ious) > 0.5


def test_the_command_needs_a_box_and_a_new_folder(recording, tmp_path):
    folder, _, _ = recording
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "label", str(folder), str(tmp_path / "x"),
                          "--box", "1,2,3"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stderr.strip() == "spgrasp label: --box '1,2,3': expected x0,y0,x1,y1 in pixels"
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "label", str(folder), str(folder),
                          "--box", "1,2,30,40"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "exists: give a new folder" in run.stderr
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros.cli", "label", str(folder)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2 and "required" in run.stderr  # argparse: the out folder and --box
