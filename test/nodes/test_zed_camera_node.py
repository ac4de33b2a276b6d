"""zed_camera_node in its own process, driven through its lifecycle services as a launch file drives it.

STAND-IN FOR THE ZED SDK: a ZED 2i camera and the ZED SDK's Python API (pyzed, which needs CUDA and Stereolabs'
installer) cannot exist on the test machines. The node's process therefore gets test/helper_nodes/fake_pyzed on
its PYTHONPATH: a stand-in module for the ``pyzed.sl`` calls the node makes, returning known synthetic frames.
Everything after those SDK calls is the real node: parameters, BGRA -> RGB, depth cleaning, messages, the shared
header, QoS, lifecycle transitions, recording. One test runs without the stand-in, where configure must fail with
instructions to install the ZED SDK.
"""

import importlib.util
import json
import math
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from ros_harness import HELPERS, RosProcess

pytestmark = pytest.mark.ros

NS = "/zed/zed_node"  # the zed-ros2-wrapper's default namespace + node name
NODE = f"{NS}/zed_camera_node"
FAKE_PATH = HELPERS / "fake_pyzed"
SPECIALS_NAN = ((0, 0), (0, 1), (0, 2), (0, 3))  # the stand-in's NaN, -inf, +inf and 25 m depth pixels


def _load_fake_sl():
    """The stand-in module itself, for the frames it produces (loaded under another name)."""
    spec = importlib.util.spec_from_file_location("fake_pyzed_sl", FAKE_PATH / "pyzed" / "sl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sl = _load_fake_sl()


@pytest.fixture
def start_node(monkeypatch, tmp_path):
    """Start the node process (in NS, with ``name:=value`` parameters); stopped and its output shown after."""
    processes = []

    def start(*params: str, stand_in: bool = True, fail_grabs: str = "") -> RosProcess:
        path = os.environ.get("PYTHONPATH", "")
        if stand_in:
            monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(FAKE_PATH), path) if p))
        monkeypatch.setenv("FAKE_PYZED_LOG", str(tmp_path / "sdk_calls.jsonl"))
        monkeypatch.setenv("FAKE_PYZED_FAIL_GRABS", fail_grabs)
        args = [sys.executable, "-m", "spgrasp_ros.nodes.zed_camera_node", "--ros-args", "-r", "__ns:=" + NS]
        for param in params:
            args += ["-p", param]
        processes.append(RosProcess(args))
        monkeypatch.setenv("PYTHONPATH", path)
        return processes[-1]

    yield start
    for process in processes:
        process.stop()
        sys.stdout.write(f"--- output of zed_camera_node ---\n{process.output()}\n")


def _sdk_calls(tmp_path: Path) -> list[dict]:
    log = tmp_path / "sdk_calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


class Inbox:
    """Every message of the node's four outputs."""

    TOPICS = {"images": "rgb/image_rect_color", "depths": "depth/depth_registered", "infos": "rgb/camera_info",
              "depth_infos": "depth/camera_info", "jpegs": "rgb/image_rect_color/compressed"}

    def __init__(self, ros_node, reliable: bool = True) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        reliability = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        for attribute, topic in self.TOPICS.items():
            setattr(self, attribute, [])
            kind = CameraInfo if attribute.endswith("infos") else CompressedImage if attribute == "jpegs" else Image
            ros_node.node.create_subscription(kind, f"{NS}/{topic}", getattr(self, attribute).append,
                                              QoSProfile(depth=50, reliability=reliability))
        self.ros = ros_node

    def wait_for_publishers(self) -> None:
        node = self.ros.node
        self.ros.spin_until(lambda: all(node.count_publishers(f"{NS}/{t}") for t in self.TOPICS.values()), 30,
                            "the node's publishers")
        self.ros.spin_for(0.3)


def _key(header) -> tuple:
    return header.stamp.sec, header.stamp.nanosec, header.frame_id


def _index(header, fps: int = 30) -> int:
    """The stand-in's frame number, from the SDK image timestamp the header must carry."""
    stamp_ns = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
    index = round((stamp_ns - sl.FAKE_T0_NS) / round(1e9 / fps))
    assert stamp_ns == sl.fake_timestamp_ns(index, fps), "the stamp is not an SDK image timestamp"
    return index


def _complete(inbox: Inbox) -> dict[int, tuple]:
    """Frame number -> (image, depth, camera_info, depth camera_info) for frames all four arrived of."""
    by_key = [{_key(m.header): m for m in messages} for messages in (inbox.depths, inbox.infos, inbox.depth_infos)]
    return {_index(image.header): (image, *(found[_key(image.header)] for found in by_key))
            for image in inbox.images if all(_key(image.header) in found for found in by_key)}


def _check_depth(msg, index: int) -> None:
    from spgrasp_ros.ros.image_messages import depth_to_metres

    assert (msg.encoding, msg.width, msg.height) == ("32FC1", *sl.FAKE_SIZE)
    raw = np.frombuffer(bytes(msg.data), np.float32).reshape(sl.FAKE_SIZE[1], sl.FAKE_SIZE[0])
    expected = sl.fake_depth(index)
    for pixel in SPECIALS_NAN:  # NaN, -inf, +inf and beyond depth_max_m all go out as NaN
        assert math.isnan(raw[pixel])
        expected[pixel] = np.nan
    np.testing.assert_array_equal(raw, expected)
    np.testing.assert_array_equal(depth_to_metres(msg), expected)


def _check_camera_info(msg) -> None:
    from spgrasp_ros.ros.image_messages import intrinsics_from_camera_info

    assert (msg.width, msg.height) == sl.FAKE_SIZE
    assert intrinsics_from_camera_info(msg) == tuple(sl.FAKE_CALIBRATION[k] for k in ("fx", "fy", "cx", "cy"))
    assert list(msg.d) == [0.0] * 5  # rectified images


def test_publishes_one_header_per_frame_records_and_follows_its_lifecycle(ros_node, start_node, tmp_path):
    from lifecycle_msgs.msg import State

    from spgrasp_ros.data.recorded import read_recorded
    from spgrasp_ros.ros.image_messages import image_to_rgb
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient

    process = start_node(f"record_path:={tmp_path / 'recordings'}", "depth_max_m:=10.0", "resolution:=HD1080",
                         "depth_mode:=NEURAL_PLUS", fail_grabs="4")
    lifecycle = LifecycleClient(ros_node.node, ros_node.executor, NODE, timeout_s=30)
    inbox = Inbox(ros_node)
    assert lifecycle.configure().id == State.PRIMARY_STATE_INACTIVE, process.output()
    opened = _sdk_calls(tmp_path)[0]
    assert (opened["input"], opened["resolution"], opened["fps"], opened["depth_mode"], opened["units"],
            opened["depth_max"]) == ({"type": "first"}, "HD1080", 30, "NEURAL_PLUS", "METER", 10.0)
    inbox.wait_for_publishers()
    ros_node.spin_for(0.5)
    assert not inbox.images  # configured, not active: nothing is published

    assert lifecycle.activate().id == State.PRIMARY_STATE_ACTIVE
    ros_node.spin_until(lambda: len(_complete(inbox)) >= 6, 30, "six complete frames")
    assert lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    ros_node.spin_for(0.3)
    received = len(inbox.images)
    ros_node.spin_for(0.7)
    assert len(inbox.images) == received  # deactivated: publishing stopped

    frames = _complete(inbox)
    for index, (image, depth, info, depth_info) in frames.items():
        assert image.header == depth.header == info.header == depth_info.header  # one shared header
        assert image.header.frame_id == "zed_left_camera_frame_optical"
        assert (image.encoding, image.width, image.height, image.step) == ("bgra8", *sl.FAKE_SIZE, 4 * sl.FAKE_SIZE[0])
        assert bytes(image.data) == sl.fake_bgra(index).tobytes()  # the SDK's BGRA, untouched
        np.testing.assert_array_equal(image_to_rgb(image), sl.fake_bgra(index)[..., 2::-1])
        _check_depth(depth, index)
        _check_camera_info(info)
        _check_camera_info(depth_info)
    jpegs = {_index(jpeg.header): jpeg for jpeg in inbox.jpegs}
    assert set(jpegs) & set(frames)
    for index, jpeg in jpegs.items():  # JPEG (quality 80) of the same frame, as image_transport names it
        bgr = cv2.cvtColor(sl.fake_bgra(index), cv2.COLOR_BGRA2BGR)
        assert bytes(jpeg.data) == cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
        assert jpeg.format == "bgra8; jpeg compressed bgr8" and jpeg.header.frame_id == "zed_left_camera_frame_optical"
    # The 4th grab failed: logged and counted, and the node went on with the next frames.
    assert "frame lost (1 so far): grab failed: the ZED SDK says FAILURE" in process.output()
    assert max(frames) >= 4

    # The recording (finished at deactivate) holds every published frame, consecutively, with depth, unlabelled.
    sequences, _ = read_recorded(tmp_path / "recordings")
    assert len(sequences) == 1 and sequences[0].meta["camera"] == sl.FAKE_CALIBRATION
    recorded = sequences[0].frames
    assert f"recorded {len(recorded)} frames to" in process.output() and "(0 dropped)" in process.output()
    assert set(frames) <= set(range(len(recorded)))
    # ... each with the stamp it was published with, and the frame_id (a bag made of it pairs with the stream)
    stamps = sequences[0].meta["stamps_ns"]
    for index, (image, *_) in frames.items():
        assert stamps[index] == image.header.stamp.sec * 10**9 + image.header.stamp.nanosec
    assert sequences[0].meta["frame_id"] == "zed_left_camera_frame_optical"
    for index, frame in enumerate(recorded):
        np.testing.assert_array_equal(frame.load_image(), sl.fake_bgra(index)[..., 2::-1])
        depth, expected = frame.load_depth(), sl.fake_depth(index)
        assert all(np.isnan(depth[pixel]) for pixel in SPECIALS_NAN) and frame.objects == []
        valid = np.ones_like(depth, bool)
        for pixel in SPECIALS_NAN:
            valid[pixel] = False
        np.testing.assert_allclose(depth[valid], expected[valid], atol=1e-3)

    assert [c["call"] for c in _sdk_calls(tmp_path)] == ["open"]
    assert lifecycle.cleanup().id == State.PRIMARY_STATE_UNCONFIGURED
    assert [c["call"] for c in _sdk_calls(tmp_path)] == ["open", "close"]  # cleanup closed the camera
    assert process.stop() == 0


def test_rgb8_from_an_svo_recording_until_its_end(ros_node, start_node, tmp_path):
    from lifecycle_msgs.msg import State

    from spgrasp_ros.data.recorded import read_recorded
    from spgrasp_ros.ros.image_messages import image_to_rgb
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient

    svo = tmp_path / "take.svo2"
    svo.write_text("5")  # the stand-in's recording: 5 frames
    process = start_node(f"svo_file:={svo}", "image_encoding:=rgb8", "frame_id:=my_zed", "reliability:=best_effort",
                         f"record_path:={tmp_path / 'recordings'}", "record_depth:=false")
    lifecycle = LifecycleClient(ros_node.node, ros_node.executor, NODE, timeout_s=30)
    inbox = Inbox(ros_node, reliable=False)
    assert lifecycle.configure().id == State.PRIMARY_STATE_INACTIVE, process.output()
    assert _sdk_calls(tmp_path)[0]["input"] == {"type": "svo", "path": str(svo)}
    inbox.wait_for_publishers()
    assert lifecycle.activate().id == State.PRIMARY_STATE_ACTIVE
    ros_node.spin_until(lambda: "published 5 frames; nothing more to publish" in process.output(), 30,
                        "the end of the recording")
    ros_node.spin_for(0.3)
    assert inbox.images and lifecycle.get_state().id == State.PRIMARY_STATE_ACTIVE
    for image in inbox.images:
        assert (image.encoding, image.step, image.header.frame_id) == ("rgb8", 3 * sl.FAKE_SIZE[0], "my_zed")
        np.testing.assert_array_equal(image_to_rgb(image), sl.fake_bgra(_index(image.header))[..., 2::-1])
    assert {_index(image.header) for image in inbox.images} <= set(range(5))

    # Ctrl-C while active still finishes the recording (and closes the camera): all 5 frames, without depth.
    assert process.stop() == 0
    sequences, _ = read_recorded(tmp_path / "recordings")
    assert len(sequences[0].frames) == 5 and "depth_scale" not in sequences[0].meta
    for index, frame in enumerate(sequences[0].frames):
        np.testing.assert_array_equal(frame.load_image(), sl.fake_bgra(index)[..., 2::-1])
        assert frame.load_depth() is None
    assert [c["call"] for c in _sdk_calls(tmp_path)] == ["open", "close"]


@pytest.mark.parametrize(("params", "stand_in", "message"), [
    ((), False, "the ZED SDK's Python API (pyzed) cannot be imported"),
    (("serial_number:=999",), True, "cannot open the ZED with serial number 999: the ZED SDK says CAMERA_NOT_DETECTED"),
    (("resolution:=HD1080", "fps:=60"), True, "fps 60 is not a HD1080 frame rate"),
    (("svo_file:=/no/such.svo2",), True, "svo_file /no/such.svo2: no such file"),
])
def test_configure_fails_with_the_reason_and_the_node_stays_unconfigured(ros_node, start_node, params, stand_in,
                                                                         message):
    from lifecycle_msgs.msg import State

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    if not stand_in and importlib.util.find_spec("pyzed") is not None:
        pytest.skip("pyzed is installed here: the real SDK would be used")
    process = start_node(*params, stand_in=stand_in)
    lifecycle = LifecycleClient(ros_node.node, ros_node.executor, NODE, timeout_s=30)
    for _ in range(2):  # and it can be tried again
        with pytest.raises(LifecycleError, match="'configure' failed; state is now 'unconfigured'"):
            lifecycle.configure()
    assert lifecycle.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
    assert message in process.output()
    if not stand_in:
        assert "/usr/local/zed/get_python_api.py" in process.output()
    assert process.popen.poll() is None  # still running
