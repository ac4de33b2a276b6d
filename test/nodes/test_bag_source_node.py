"""bag_source_node in its own process: a bag written from a synthetic clip (rosbags, MCAP) replayed into the real
tracker node process and recorded by `spgrasp record` at the same time (one session serves several tests);
/clock and loop-shifted stamps of a compressed, 16UC1-depth sqlite3 bag; unusable bags exit 1 naming the bag
and topic. No assertion depends on how fast this machine is."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import yaml
from ros_harness import RosProcess, RosTestNode, require_ros, running_node
from tracker_rig import Rig, make_clip, running_tracker

pytestmark = pytest.mark.ros

NS = "/bag_replay"
T0 = 1_700_000_000_000_000_000  # the recording's first stamp [ns]
PERIOD = 100_000_000  # 10 Hz
FRAME = "bag_camera_optical_frame"
INTRINSICS = (150.0, 151.0, 80.0, 60.0)


def bag_source(*params: str, namespace: str = NS):
    """bag_source_node as a process with ``name:=value`` parameters; stopped, its output shown after."""
    return running_node("bag_source_node", namespace, *params)


def _ns(header) -> int:
    return header.stamp.sec * 10**9 + header.stamp.nanosec


def _depth(shape, k: int) -> np.ndarray:
    depth = np.full(shape, 0.75 + 0.01 * k, np.float32)
    depth[0, :5] = np.nan  # no measurement
    return depth


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The clip as an MCAP bag, replayed at half speed into the tracker (prompted on one object once the first
    frame is there) while `spgrasp record` records the namespace; what everyone received."""
    from sensor_msgs.msg import Image

    from spgrasp_ros.ros.bag_frames import BagFrame, write_bag

    require_ros()
    loaded, ids, boxes = make_clip(frames=16)
    frames = [BagFrame(T0 + k * PERIOD, FRAME, rgb, _depth(rgb.shape[:2], k), INTRINSICS)
              for k, (rgb, _, _) in enumerate(loaded)]
    folder = tmp_path_factory.mktemp("bag_replay")
    bag = write_bag(folder / "clip", frames, storage="mcap")
    ros = RosTestNode("test_bag_replay")
    images = []
    ros.node.create_subscription(Image, f"{NS}/image", images.append, 50)
    recorder = RosProcess([sys.executable, "-m", "spgrasp_ros.cli", "record", str(folder / "session"),
                           "--namespace", NS])
    try:
        with running_tracker(NS) as tracker:
            rig = Rig(ros, NS)
            rig.bring_up()
            ros.spin_until(lambda: ros.node.count_subscribers(f"{NS}/grasp_poses") >= 2, 60,
                           "the recorder's subscriptions")
            with bag_source(f"bag:={bag}", "rate:=0.5", "wait_for_subscribers:=3") as source:
                ros.spin_until(lambda: images, 60, "the first replayed image")
                target = ids[0]
                for _ in range(100):  # the tracker may get the first image a moment after this node
                    response = rig.prompt(boxes=[boxes[target]])
                    if response.success or "no image" not in response.message:
                        break
                    ros.spin_for(0.05)
                assert response.success, response.message
                ros.spin_until(lambda: source.popen.poll() is not None, 120, "the end of the replay")
                assert source.wait(timeout=5) == 0, source.output()
                assert "published 16 frames; exiting" in source.output()
                last = T0 + 15 * PERIOD
                ros.spin_until(lambda: any(_ns(a.header) == last for a in rig.arrays), 30, "the last frame's grasps")
                ros.spin_for(0.5)
            assert tracker.popen.poll() is None, tracker.output()
        assert recorder.stop(timeout=20) == 0, recorder.output()
    finally:
        recorder.stop()
        sys.stdout.write(f"--- output of spgrasp record ---\n{recorder.output()}\n")
        ros.close()
    return dict(frames=frames, loaded=loaded, images=images, arrays=list(rig.arrays), target=response.object_ids[0],
                target_gt=target, prompt_stamp=_ns(response.header), recording=folder / "session",
                record_output=recorder.output())


def test_replayed_frames_keep_their_recorded_stamps_frame_ids_and_pixels(session):
    from spgrasp_ros.ros.image_messages import image_to_rgb

    frames = session["frames"]
    assert [_ns(m.header) for m in session["images"]] == [f.stamp_ns for f in frames], "every frame, in order"
    for msg, frame in zip(session["images"], frames):
        assert msg.header.frame_id == FRAME and msg.encoding == "rgb8"
        np.testing.assert_array_equal(image_to_rgb(msg), frame.rgb)
    recorded = {f.stamp_ns for f in frames}
    assert session["arrays"] and all(_ns(a.header) in recorded and a.header.frame_id == FRAME
                                     for a in session["arrays"]), "the grasps carry the recorded headers"


def test_grasps_arrive_for_the_prompted_object_with_poses_from_the_recorded_depth(session):
    target, loaded = session["target"], session["loaded"]
    index = {f.stamp_ns: k for k, f in enumerate(session["frames"])}
    tracked = [a for a in session["arrays"] if _ns(a.header) > session["prompt_stamp"]]
    assert len(tracked) >= 8, "nearly every frame after the prompt is answered"
    inside, posed = 0, 0
    for array in tracked:
        assert [o.id for o in array.objects] == [target]
        grasps = [g for g in array.grasps if g.object_id == target]
        if not grasps:
            continue
        masks = loaded[index[_ns(array.header)]][1]
        ys, xs = np.nonzero(masks == session["target_gt"])
        best = grasps[0]
        inside += xs.min() - 4 <= best.center_x <= xs.max() + 4 and ys.min() - 4 <= best.center_y <= ys.max() + 4
        posed += best.has_pose
    assert inside >= 0.7 * len(tracked), f"best grasp on the prompted object in {inside} of {len(tracked)} frames"
    assert posed >= 0.5 * len(tracked), "depth and camera_info were paired with their image by stamp"


def test_spgrasp_record_writes_an_mcap_bag_of_the_session_that_reads_back(session):
    from rosbags.rosbag2 import Reader

    from spgrasp_ros.ros.bag_frames import BagTopics, read_bag_frames
    from spgrasp_ros.ros.bag_types import typestore

    recording = session["recording"]
    assert list(recording.glob("*.mcap")), "MCAP storage"
    metadata = yaml.safe_load((recording / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert metadata["storage_identifier"] == "mcap"
    with Reader(recording) as reader:
        found = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
        assert {topic: kind for topic, (kind, _) in found.items()} == {
            f"{NS}/image": "sensor_msgs/msg/Image", f"{NS}/depth": "sensor_msgs/msg/Image",
            f"{NS}/camera_info": "sensor_msgs/msg/CameraInfo", f"{NS}/grasp_poses": "spgrasp_ros/msg/GraspArray",
            f"{NS}/spgrasp_tracker/mask": "sensor_msgs/msg/Image"}
        assert all(found[f"{NS}/{name}"][1] == 16 for name in ("image", "depth", "camera_info"))
        store = typestore()
        arrays = [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages()
                  if c.topic == f"{NS}/grasp_poses"]
        masks = [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages()
                 if c.topic == f"{NS}/spgrasp_tracker/mask"]
    assert [_ns(a.header) for a in arrays] == [_ns(a.header) for a in session["arrays"]], "every GraspArray"
    assert [[o.id for o in a.objects] for a in arrays] == [[o.id for o in a.objects] for a in session["arrays"]]
    assert masks and all(m.encoding == "mono16" and m.header.frame_id == FRAME for m in masks)
    assert len(masks) <= len(arrays)

    read = list(read_bag_frames(recording, BagTopics(f"{NS}/image", f"{NS}/depth", f"{NS}/camera_info")))
    assert [f.stamp_ns for f in read] == [f.stamp_ns for f in session["frames"]]
    for got, sent in zip(read, session["frames"]):
        assert got.frame_id == FRAME and got.intrinsics == INTRINSICS
        np.testing.assert_array_equal(got.rgb, sent.rgb)
        np.testing.assert_array_equal(got.depth, sent.depth)  # NaN where there was no measurement
    assert "wrote " in session["record_output"] and f"{NS}/grasp_poses {len(arrays)}" in session["record_output"]


def test_clock_and_stamps_keep_rising_across_loops(ros_node, tmp_path):
    """A sqlite3 bag with PNG-compressed colour and 16UC1 depth, looped three times at twice the speed, with a
    frame_id override: stamps continue seamlessly, /clock never goes back, pixels and depth as recorded."""
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, Image

    from spgrasp_ros.ros.bag_frames import BagFrame, write_bag
    from spgrasp_ros.ros.image_messages import depth_to_metres, image_to_rgb, intrinsics_from_camera_info

    rng = np.random.default_rng(3)
    gap = 50_000_000
    frames = [BagFrame(T0 + k * gap, "recorded_frame", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8),
                       _depth((24, 32), k), INTRINSICS) for k in range(4)]
    bag = write_bag(tmp_path / "loop", frames, storage="sqlite3", colour="png", depth_encoding="16UC1")
    got = {"image": [], "depth": [], "camera_info": [], "clock": []}
    node = ros_node.node
    for name, kind in (("image", Image), ("depth", Image), ("camera_info", CameraInfo)):
        node.create_subscription(kind, f"/loop/{name}", got[name].append, 20)
    node.create_subscription(Clock, "/clock", got["clock"].append, 100)
    storage_file = next(bag.glob("*.db3"))  # a file in the bag stands for the bag
    with bag_source(f"bag:={storage_file}", "loop:=true", "max_frames:=12", "rate:=2.0", "frame_id:=replay_frame",
                    "wait_for_subscribers:=1", namespace="/loop") as process:
        ros_node.spin_until(lambda: process.popen.poll() is not None, 60, "the node to exit by itself")
        ros_node.spin_for(0.3)
        assert process.wait(timeout=5) == 0
        assert "max_frames=12 reached: published 12 frames in 3 loops; exiting" in process.output()

    # loop L, frame k goes out stamped T0 + (4 L + k) gap: the bag's length (3 gaps) plus one gap per loop
    expected = [T0 + i * gap for i in range(12)]
    stamps = [_ns(m.header) for m in got["image"]]
    assert stamps == sorted(set(stamps)) and set(stamps) <= set(expected) and stamps[-1] == expected[-1]
    assert len(stamps) >= 9, "nearly every frame arrived"
    for msg in got["image"]:
        assert msg.encoding == "rgb8" and msg.header.frame_id == "replay_frame"
        np.testing.assert_array_equal(image_to_rgb(msg), frames[expected.index(_ns(msg.header)) % 4].rgb)  # PNG
    for msg in got["depth"]:
        assert msg.encoding == "32FC1" and msg.header.frame_id == "replay_frame"
        sent = frames[expected.index(_ns(msg.header)) % 4].depth
        np.testing.assert_allclose(depth_to_metres(msg), sent, atol=5e-4)  # millimetres; NaN stays NaN
    for msg in got["camera_info"]:
        assert _ns(msg.header) in expected and msg.header.frame_id == "replay_frame"
        assert intrinsics_from_camera_info(msg) == INTRINSICS
    assert got["depth"] and got["camera_info"]
    clock = [m.clock.sec * 10**9 + m.clock.nanosec for m in got["clock"]]
    assert clock and clock == sorted(clock), "/clock never goes back"
    assert clock[0] >= T0 and clock[-1] >= stamps[-1]


def _yuv_bag(path):
    """A bag whose colour topic holds a yuv422 Image (an encoding the tracker does not read)."""
    from rosbags.rosbag2 import Writer

    from spgrasp_ros.ros.bag_types import IMAGE, typestore

    store = typestore()
    stamp = store.types["builtin_interfaces/msg/Time"](sec=5, nanosec=0)
    header = store.types["std_msgs/msg/Header"](stamp=stamp, frame_id="cam")
    image = store.types[IMAGE](header=header, height=2, width=2, encoding="yuv422", is_bigendian=0, step=4,
                               data=np.zeros(8, np.uint8))
    with Writer(path, version=9) as writer:
        connection = writer.add_connection("/image", IMAGE, typestore=store)
        writer.write(connection, 5 * 10**9, store.serialize_cdr(image, IMAGE))
    return path


@pytest.mark.parametrize(("params", "message"), [
    ([], "bag is required"),
    (["bag:={tmp}/junk"], "junk: cannot be read"),
    (["bag:={clip}", "image_topic:=/camera/image"], "no topic '/camera/image' (it has: /camera_info, /depth, /image)"),
    (["bag:={colour_only}"], "colour_only: no topic '/depth' (it has: /image); '' replays without depth"),
    (["bag:={clip}", "image_topic:=/camera_info"], "/camera_info holds sensor_msgs/msg/CameraInfo, not an image"),
    (["bag:={yuv}", "depth_topic:=''", "camera_info_topic:=''"],
     "yuv: /image stamped 5000000000 ns: unsupported image encoding 'yuv422'"),
    (["bag:={clip}", "rate:=0.0"], "rate must be in [0.01, 100.0], got 0.0"),
])
def test_an_unusable_bag_or_parameter_exits_1_naming_it(tmp_path, params, message):
    require_ros()
    from spgrasp_ros.ros.bag_frames import BagFrame, BagTopics, write_bag

    frame = BagFrame(T0, FRAME, np.zeros((4, 6, 3), np.uint8), np.ones((4, 6), np.float32), INTRINSICS)
    paths = {"tmp": tmp_path, "clip": write_bag(tmp_path / "clip", [frame]), "yuv": _yuv_bag(tmp_path / "yuv"),
             "colour_only": write_bag(tmp_path / "colour_only", [frame], BagTopics(depth="", camera_info=""))}
    (tmp_path / "junk").mkdir()
    with bag_source(*(p.format(**paths) for p in params), namespace="/bad_bag") as process:
        assert process.wait(timeout=30) == 1
        assert message in process.output()
