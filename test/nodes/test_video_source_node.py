"""video_source_node in its own process: what it publishes (pixels, depth, camera_info under one header), and
how it ends (exit code 0 at the end of a finite source, non-zero with the reason for an unusable one)."""

import math

import cv2
import numpy as np
import pytest
from ros_harness import running_node

from spgrasp_ros.data.recorded import SequenceWriter

pytestmark = pytest.mark.ros

SIZE = (32, 24)  # (W, H)
CAMERA = {"fx": 40.0, "fy": 42.0, "cx": 15.5, "cy": 11.5}
NAMESPACE = "/video_source_test"


def _images(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8) for _ in range(count)]


def _depths(count: int) -> list[np.ndarray]:
    depths = [np.full((SIZE[1], SIZE[0]), 0.5 + 0.125 * i, np.float32) for i in range(count)]
    for depth in depths:
        depth[2, 3] = np.nan  # no measurement
    return depths


@pytest.fixture
def sequence(tmp_path):
    with SequenceWriter(tmp_path / "rec", SIZE, fps=30.0, camera=CAMERA) as writer:
        for image, depth in zip(_images(3), _depths(3)):
            writer.write(image, [], depth_m=depth)
    return tmp_path / "rec"


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "imgs").mkdir()
    for i, image in enumerate(_images(3)):
        cv2.imwrite(str(tmp_path / "imgs" / f"{i:02d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return tmp_path / "imgs"


def video_source(*params: str):
    """The node as a process in NAMESPACE with ``name:=value`` parameters; stopped, its output shown after."""
    return running_node("video_source_node", NAMESPACE, *params)


class Inbox:
    """Every image, depth and camera_info message on NAMESPACE (a reliable subscriber hears reliable
    publishers only; a best-effort one hears both)."""

    def __init__(self, ros_node, reliable: bool = True) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image

        reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(depth=10, reliability=reliability)
        self.images, self.infos, self.depths = [], [], []
        node = ros_node.node
        node.create_subscription(Image, f"{NAMESPACE}/image", self.images.append, qos)
        node.create_subscription(CameraInfo, f"{NAMESPACE}/camera_info", self.infos.append, qos)
        node.create_subscription(Image, f"{NAMESPACE}/depth", self.depths.append, qos)


def _key(header) -> tuple:
    return header.stamp.sec, header.stamp.nanosec, header.frame_id


def _frame_index(rgb: np.ndarray, images: list[np.ndarray]) -> int:
    matches = [i for i, image in enumerate(images) if np.array_equal(rgb, image)]
    assert matches, "a published image equals none of the source's frames"
    return matches[0]


def _seen_all(inbox: Inbox, images: list[np.ndarray]) -> bool:
    from spgrasp_ros.ros.image_messages import image_to_rgb

    return len({_frame_index(image_to_rgb(msg), images) for msg in inbox.images}) == len(images)


def _complete_frames(inbox: Inbox, images: list[np.ndarray]) -> dict[int, tuple]:
    """Frame index -> (image, camera_info, depth) for frames of which all three messages arrived (the first
    frames may go out before the test has discovered every publisher)."""
    from spgrasp_ros.ros.image_messages import image_to_rgb

    infos = {_key(msg.header): msg for msg in inbox.infos}
    depths = {_key(msg.header): msg for msg in inbox.depths}
    return {_frame_index(image_to_rgb(msg), images): (msg, infos[_key(msg.header)], depths[_key(msg.header)])
            for msg in inbox.images if _key(msg.header) in infos and _key(msg.header) in depths}


def _all_complete(inbox: Inbox, images: list[np.ndarray], process) -> bool:
    return len(_complete_frames(inbox, images)) == len(images) or process.popen.poll() is not None


def test_sequence_publishes_images_depth_and_camera_info_under_one_header(ros_node, sequence):
    from spgrasp_ros.ros.image_messages import depth_to_metres, image_to_rgb, intrinsics_from_camera_info

    images, depths = _images(3), _depths(3)
    inbox = Inbox(ros_node)
    with video_source(f"source:={sequence}", "loop:=true", "rate_hz:=20.0") as process:
        ros_node.spin_until(lambda: _all_complete(inbox, images, process),
                            timeout=30, what="image, depth and camera_info of all three frames")
        assert process.stop() == 0  # SIGINT: a clean exit

    for msg in inbox.images:
        assert (msg.encoding, msg.width, msg.height) == ("rgb8", *SIZE)
        assert msg.header.frame_id == "camera_color_optical_frame"
        _frame_index(image_to_rgb(msg), images)  # equal to one of the recorded frames
    for index, (image, info, depth_msg) in _complete_frames(inbox, images).items():
        # The camera_info and depth found for this image carry the very same stamp and frame_id.
        assert (info.width, info.height) == SIZE
        assert intrinsics_from_camera_info(info) == tuple(CAMERA[k] for k in ("fx", "fy", "cx", "cy"))
        assert (depth_msg.encoding, depth_msg.width, depth_msg.height) == ("32FC1", *SIZE)
        depth = depth_to_metres(depth_msg)
        assert math.isnan(depth[2, 3]) and np.isnan(depth).sum() == 1
        expected = depths[index]
        np.testing.assert_allclose(depth[~np.isnan(depth)], expected[~np.isnan(expected)], atol=1e-3)
    stamps = [_key(msg.header)[:2] for msg in inbox.images]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_image_folder_as_bgr8_with_default_intrinsics(ros_node, folder):
    from spgrasp_ros.ros.image_messages import image_to_rgb, intrinsics_from_camera_info

    images = _images(3)
    inbox = Inbox(ros_node, reliable=False)
    with video_source(f"source:={folder}", "loop:=true", "rate_hz:=20", "encoding:=bgr8", "frame_id:=my_cam",
                      "reliability:=best_effort") as process:
        ros_node.spin_until(lambda: _seen_all(inbox, images) or process.popen.poll() is not None, timeout=30,
                            what="all three images of the folder")
        ros_node.spin_for(0.3)
    assert not inbox.depths  # no depth publisher for sources without depth
    for msg in inbox.images:
        assert (msg.encoding, msg.width, msg.height, msg.step) == ("bgr8", *SIZE, 3 * SIZE[0])
        assert msg.header.frame_id == "my_cam"
        _frame_index(image_to_rgb(msg), images)  # PNG is lossless: exactly one of the files
    info = inbox.infos[-1]
    focal = (SIZE[0] / 2) / math.tan(math.radians(30))  # a 60 degree horizontal field of view
    centre = ((SIZE[0] - 1) / 2, (SIZE[1] - 1) / 2)
    assert intrinsics_from_camera_info(info) == pytest.approx((focal, focal, *centre))
    assert info.header.frame_id == "my_cam"


@pytest.mark.parametrize(("params", "published"), [(["max_frames:=2"], 2), ([], 3)])
def test_a_finite_source_ends_the_process_cleanly(ros_node, folder, params, published):
    inbox = Inbox(ros_node)
    with video_source(f"source:={folder}", "rate_hz:=10.0", *params) as process:
        ros_node.spin_until(lambda: process.popen.poll() is not None, timeout=30,
                            what="the node to exit by itself")
        assert process.wait(timeout=5) == 0
        assert f"published {published} frames; exiting" in process.output()
    assert len(inbox.images) <= published


@pytest.mark.parametrize(("params", "message"), [
    (["source:=/no/such/clip.mp4"], "/no/such/clip.mp4: no such file or folder"),
    ([], "parameter `source` is required"),
    (["source:=''"], "parameter `source` is required"),
    (["source:={folder}", "reliability:=sometimes"],
     "reliability must be one of reliable, best_effort, got 'sometimes'"),
])
def test_an_unusable_source_or_parameter_exits_non_zero_naming_it(folder, params, message):
    with video_source(*(p.format(folder=folder) for p in params)) as process:
        assert process.wait(timeout=30) != 0
        assert message in process.output()


def test_an_unreadable_frame_is_skipped_and_the_rest_published(folder):
    (folder / "01b.png").write_bytes(b"not a png")  # sorts between the 2nd and 3rd image
    with video_source(f"source:={folder}", "rate_hz:=20.0") as process:
        assert process.wait(timeout=30) == 0
        output = process.output()
    assert "01b.png: not a readable image" in output
    assert "published 3 frames, 1 unreadable frames skipped" in output


def test_wait_for_subscribers_holds_the_first_frame_until_someone_listens(ros_node, folder):
    from spgrasp_ros.ros.image_messages import image_to_rgb

    images = _images(3)
    with video_source(f"source:={folder}", "rate_hz:=20.0", "wait_for_subscribers:=1") as process:
        ros_node.spin_for(1.5)
        assert process.popen.poll() is None, "with nobody listening the replay has not started (nor ended)"
        inbox = Inbox(ros_node)
        ros_node.spin_until(lambda: process.popen.poll() is not None, timeout=30, what="the node to exit by itself")
        ros_node.spin_for(0.3)
        assert process.wait(timeout=5) == 0
    received = [_frame_index(image_to_rgb(msg), images) for msg in inbox.images]
    assert received == [0, 1, 2], "every frame arrives, from the first"
