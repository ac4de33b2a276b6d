"""Bags and the recorded-sequence format both ways (`spgrasp bag from-sequence` / `to-sequence`), and
`spgrasp eval --data bag:BAG:annotations=SEQUENCE`: the same frames give the same figures as the sequence."""

import json

import numpy as np
import pytest

from spgrasp_ros.cli import main
from spgrasp_ros.data.recorded import SequenceWriter, read_sequence

pytestmark = pytest.mark.ros

SIZE = (40, 30)  # (W, H)
CAMERA = {"fx": 50.0, "fy": 51.0, "cx": 19.5, "cy": 14.5}
T0 = 1_700_000_000_123_456_789


def _recording(folder, frames=4, stamps=True):
    """A ZED-like recording: colour, depth in millimetres (0 = none -> NaN), intrinsics, stamps, frame_id."""
    rng = np.random.default_rng(11)
    with SequenceWriter(folder, SIZE, fps=15.0, camera=CAMERA, frame_id="zed_left_camera_frame_optical") as writer:
        for k in range(frames):
            depth = rng.integers(300, 3000, (SIZE[1], SIZE[0])).astype(np.float32) / 1000
            depth[k, :] = np.nan
            writer.write(rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8), [], depth_m=depth,
                         stamp_ns=T0 + k * 66_666_667 if stamps else None)
    return folder


def _same_sequences(a, b):
    assert len(a.frames) == len(b.frames)
    for x, y in zip(a.frames, b.frames):
        np.testing.assert_array_equal(x.load_image(), y.load_image())
        np.testing.assert_array_equal(x.load_depth(), y.load_depth())  # NaN where there was no measurement


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_a_recording_round_trips_through_a_bag(tmp_path, storage, capsys):
    source = _recording(tmp_path / "rec")
    assert main(["bag", "from-sequence", str(source), str(tmp_path / "bag"), "--storage", storage]) == 0
    assert main(["bag", "to-sequence", str(tmp_path / "bag"), str(tmp_path / "back")]) == 0
    output = capsys.readouterr().out
    assert "4 frames" in output and "4 frames of 40x30 at 15 fps, unlabelled" in output
    original, back = read_sequence(source), read_sequence(tmp_path / "back")
    _same_sequences(original, back)
    assert back.meta["camera"] == CAMERA and back.meta["stamps_ns"] == original.meta["stamps_ns"]
    assert back.meta["frame_id"] == "zed_left_camera_frame_optical" and back.meta["size"] == list(SIZE)
    assert all(frame.objects == [] for frame in back.frames), "unlabelled"


def test_a_bag_round_trips_through_a_sequence(tmp_path):
    from spgrasp_ros.ros.bag_frames import BagFrame, BagTopics, read_bag_frames, write_bag

    topics = BagTopics("/zed/zed_node/rgb/image_rect_color", "/zed/zed_node/depth/depth_registered",
                       "/zed/zed_node/rgb/camera_info")
    rng = np.random.default_rng(5)
    frames = []
    for k in range(3):
        depth = rng.integers(1, 5000, (SIZE[1], SIZE[0])).astype(np.float32) / 1000  # millimetre steps
        depth[:, k] = np.nan
        frames.append(BagFrame(T0 + k * 33_000_000, "cam_optical", rng.integers(0, 256, (SIZE[1], SIZE[0], 3),
                                                                                 dtype=np.uint8), depth,
                               tuple(CAMERA.values())))
    bag = write_bag(tmp_path / "zed", frames, topics, storage="sqlite3", colour="bgr8")
    flags = ["--image", topics.image, "--depth", topics.depth, "--camera-info", topics.camera_info]
    assert main(["bag", "to-sequence", str(bag), str(tmp_path / "seq"), *flags]) == 0
    assert main(["bag", "from-sequence", str(tmp_path / "seq"), str(tmp_path / "again"), *flags]) == 0
    again = list(read_bag_frames(tmp_path / "again", topics))
    assert [f.stamp_ns for f in again] == [f.stamp_ns for f in frames]
    for got, sent in zip(again, frames):
        assert got.frame_id == "cam_optical" and got.intrinsics == sent.intrinsics
        np.testing.assert_array_equal(got.rgb, sent.rgb)
        np.testing.assert_allclose(got.depth, sent.depth, atol=1e-6)  # NaN stays NaN


def test_a_sequence_without_stamps_gets_them_from_its_fps(tmp_path):
    from spgrasp_ros.ros.bag_frames import read_bag_frames

    source = _recording(tmp_path / "rec", frames=3, stamps=False)
    assert main(["bag", "from-sequence", str(source), str(tmp_path / "bag"), "--colour", "png"]) == 0
    assert [f.stamp_ns for f in read_bag_frames(tmp_path / "bag")] == [10**9, 10**9 + 66_666_667, 10**9 + 133_333_333]


def test_conversion_errors_are_one_line_naming_what(tmp_path, capsys):
    source = _recording(tmp_path / "rec", frames=1)
    assert main(["bag", "from-sequence", str(source), str(source)]) == 1
    assert f"{source} exists already" in capsys.readouterr().err
    assert main(["bag", "to-sequence", str(tmp_path / "nothing"), str(tmp_path / "out")]) == 1
    assert "nothing: cannot be read" in capsys.readouterr().err
    assert main(["record", str(source)]) == 1
    assert f"{source} exists already: choose a new folder for the bag" in capsys.readouterr().err


def _cells(path):
    """eval.json's cells without the latencies (timings differ between runs)."""
    results = json.loads(path.read_text())["results"]
    return {cell: {k: v for k, v in figures.items() if k != "latency_ms"}
            for cells in results.values() for cell, figures in cells.items()}


def test_eval_of_a_bag_with_its_annotations_equals_eval_of_the_sequence(tmp_path, capsys):
    from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic

    clip = write_synthetic(tmp_path / "synth", 1, SynthConfig(frames=10, max_objects=2), seed=100_500,
                           progress=False)[0]
    assert main(["bag", "from-sequence", str(clip), str(tmp_path / "clip_bag")]) == 0
    common = ["--intervals", "0,4", "--device", "cpu", "--threads", "1"]
    assert main(["eval", "--data", f"recorded:{clip}", "--out", str(tmp_path / "recorded"), *common]) == 0
    spec = f"bag:{tmp_path / 'clip_bag'}:annotations={clip / 'sequence.json'}"
    assert main(["eval", "--data", spec, "--out", str(tmp_path / "bag"), *common]) == 0
    recorded, bag = _cells(tmp_path / "recorded" / "eval.json"), _cells(tmp_path / "bag" / "eval.json")
    assert recorded["interval_0"]["scored"] > 0 and recorded == bag, "same frames, same figures"
    assert "labelled by" in capsys.readouterr().out

    wrong = write_synthetic(tmp_path / "other", 1, SynthConfig(frames=6), seed=100_501, progress=False)[0]
    for data, message in ((f"bag:{tmp_path / 'clip_bag'}", "a bag needs annotations=<recorded sequence folder>"),
                          (f"bag:{tmp_path / 'clip_bag'}:annotations={wrong},colour=/x", "unknown option 'colour'"),
                          (f"bag:{tmp_path / 'clip_bag'}:annotations={wrong}", "10 frames on /image, but")):
        assert main(["eval", "--data", data, "--out", str(tmp_path / "x"), *common]) == 1
        assert message in capsys.readouterr().err
