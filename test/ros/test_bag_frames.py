"""rosbag2 files (MCAP and sqlite3) written from a synthetic clip with rosbags and read back: pixels, depth,
intrinsics, stamps and frame ids survive; a missing topic or an unreadable bag is named."""

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def _frames(count=4):
    from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
    from spgrasp_ros.ros.bag_frames import BagFrame

    sequence = generate_clip(SynthConfig(frames=count, min_objects=1, max_objects=2), 100321).to_sequence()
    out = []
    for k, frame in enumerate(sequence.frames):
        depth = np.full(frame.load_image().shape[:2], 0.8 + 0.01 * k, np.float32)
        depth[0, 0] = np.nan  # no measurement
        out.append(BagFrame(1_700_000_000_000_000_000 + k * 100_000_000, "camera_color_optical_frame",
                            frame.load_image(), depth, (200.0, 190.0, 80.0, 60.0)))
    return out


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_a_clip_round_trips_through_a_bag(tmp_path, storage):
    from spgrasp_ros.ros.bag_frames import read_bag_frames, write_bag

    frames = _frames()
    bag = write_bag(tmp_path / f"clip_{storage}", frames, storage=storage)
    read = list(read_bag_frames(bag))
    assert [f.stamp_ns for f in read] == [f.stamp_ns for f in frames]
    for got, sent in zip(read, frames):
        assert got.frame_id == "camera_color_optical_frame" and got.intrinsics == sent.intrinsics
        np.testing.assert_array_equal(got.rgb, sent.rgb)
        np.testing.assert_array_equal(got.depth, sent.depth)  # NaN where there was no measurement


def test_colour_only_bags_and_other_topic_names(tmp_path):
    from spgrasp_ros.ros.bag_frames import BagTopics, read_bag_frames, write_bag

    topics = BagTopics(image="/zed/zed_node/rgb/image_rect_color", depth="", camera_info="")
    bag = write_bag(tmp_path / "colour", _frames(2), topics)
    read = list(read_bag_frames(bag, topics))
    assert len(read) == 2 and read[0].depth is None and read[0].intrinsics is None


def test_a_missing_topic_and_an_unreadable_bag_are_named(tmp_path):
    from spgrasp_ros.ros.bag_frames import BagTopics, read_bag_frames, write_bag

    bag = write_bag(tmp_path / "clip", _frames(1))
    with pytest.raises(ValueError, match=r"no topic '/camera/image' \(it has: /camera_info, /depth, /image\)"):
        list(read_bag_frames(bag, BagTopics(image="/camera/image")))
    with pytest.raises(ValueError, match="holds sensor_msgs/msg/CameraInfo, not an image"):
        list(read_bag_frames(bag, BagTopics(image="/camera_info")))
    (tmp_path / "junk").mkdir()
    with pytest.raises(ValueError, match="junk: cannot be read"):
        list(read_bag_frames(tmp_path / "junk"))
    with pytest.raises(ValueError, match="storage 'zip'"):
        write_bag(tmp_path / "x", [], storage="zip")


@pytest.mark.parametrize(("colour", "exact"), [("bgr8", True), ("png", True), ("jpeg", False)])
def test_colour_formats_and_millimetre_depth_read_back(tmp_path, colour, exact):
    from spgrasp_ros.ros.bag_frames import CameraBag, read_bag_frames, write_bag

    frames = _frames(2)
    bag = write_bag(tmp_path / "bag", frames, colour=colour, depth_encoding="16UC1")
    with CameraBag(bag / "bag.mcap") as opened:  # a file in the bag stands for the bag
        assert opened.count == 2 and opened.image_type.endswith("CompressedImage" if colour != "bgr8" else "/Image")
    for got, sent in zip(read_bag_frames(bag), frames):
        if exact:
            np.testing.assert_array_equal(got.rgb, sent.rgb)
        else:
            assert np.abs(got.rgb.astype(int) - sent.rgb).mean() < 8, "JPEG is close"
        np.testing.assert_allclose(got.depth, sent.depth, atol=5e-4)  # millimetres; NaN stays NaN


def test_a_topic_asked_for_must_be_there_and_an_unreadable_frame_is_named(tmp_path):
    from spgrasp_ros.ros.bag_frames import BagTopics, read_bag_frames, write_bag

    bag = write_bag(tmp_path / "colour", _frames(1), BagTopics(depth="", camera_info=""))
    with pytest.raises(ValueError, match=r"no topic '/depth' \(it has: /image\); '' replays without depth"):
        list(read_bag_frames(bag))
    with pytest.raises(ValueError, match="depth encoding 'mono8'"):
        write_bag(tmp_path / "x", [], depth_encoding="mono8")
    with pytest.raises(ValueError, match="exists already"):
        write_bag(bag, [])
