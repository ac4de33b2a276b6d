"""The tracker lifecycle node in its own process, driven like a robot system drives it.

One node process (bundled demo model, CPU) serves most tests of this module, in any order: each test brings
it to the state it needs (the ``rig`` fixture: active, the tunables the tests change at their defaults; the
test's own prompt). Covered: a prompt before any image, prompt -> stream -> grasps on the prompted object with
the image's header, re-prompt, append, clear, bad prompts, unsupported encodings, runtime parameters,
deactivate/activate while images flow, frames arriving faster than processing (dropped, not queued; memory
flat), depth, and a slow prompt that holds up neither parameters, lifecycle requests nor diagnostics. Tests
that end or break a node (cleanup and shutdown, a missing checkpoint, compressed input) start their own.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np
import pytest
from ros_harness import RosProcess, require_ros
from tracker_rig import NS, Rig, make_clip, rss_kib, running_tracker, tracker_process_for
from tracker_rig import diagnostic_value as _value

pytestmark = pytest.mark.ros

# The runtime parameters tests change, at their defaults (config/tracker.yaml): the rig fixture restores them.
TUNABLES = {"top_k": 5, "presence_threshold": 0.5, "exclusive_masks": True, "readout_window": 5}


@pytest.fixture(scope="module")
def clip():
    return make_clip()


@pytest.fixture(scope="module")
def tracker_process():
    require_ros()
    with running_tracker(NS) as process:
        yield process


@pytest.fixture(scope="module")
def module_ros_node():
    """One test-side node for the module: its subscriptions stay matched with the tracker's publishers."""
    from ros_harness import RosTestNode

    require_ros()
    node = RosTestNode("test_tracker_node")
    try:
        yield node
    finally:
        node.close()


@pytest.fixture(scope="module")
def module_rig(module_ros_node, tracker_process):
    return Rig(module_ros_node)


@pytest.fixture
def rig(module_rig, tracker_process):
    """The module's tracker, active, with the tunables the tests change at their defaults."""
    assert tracker_process.popen.poll() is None, tracker_process.output()
    module_rig.bring_up()
    assert all(result.successful for result in module_rig.set_parameters(**TUNABLES))
    return module_rig


@pytest.fixture
def fresh_rig(rig):
    """The module's tracker cleaned up and configured again: no frame received, nothing tracked."""
    from lifecycle_msgs.msg import State

    assert rig.lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    assert rig.lifecycle.cleanup().id == State.PRIMARY_STATE_UNCONFIGURED
    rig.bring_up()
    return rig


def _on_object(grasp, masks: np.ndarray, object_id: int) -> bool:
    x, y = int(round(grasp.center_x)), int(round(grasp.center_y))
    h, w = masks.shape
    window = masks[max(0, y - 2):min(h, y + 3), max(0, x - 2):min(w, x + 3)]
    return bool((window == object_id).any())


def test_prompt_before_any_image_is_refused(fresh_rig):
    response = fresh_rig.prompt(boxes=[[10, 10, 50, 50]])
    assert not response.success and "no image" in response.message
    assert list(response.tracked_ids) == []


def test_prompt_then_stream_tracks_the_prompted_object(rig, clip):
    frames, ids, boxes = clip
    first = rig.show(frames[0][0])
    target, other = ids
    response = rig.prompt(boxes=[boxes[target]])
    assert response.success, response.message
    assert len(response.object_ids) == 1 and list(response.tracked_ids) == list(response.object_ids)
    assert response.header.stamp.sec == first.header.stamp.sec and response.header.frame_id == "test_camera"
    object_id = response.object_ids[0]
    used = response.boxes[0]
    assert abs(used.x_min - boxes[target][0]) < 8 and abs(used.x_max - boxes[target][2]) < 8, "box actually used"

    sent = rig.stream([rgb for rgb, _, _ in frames[1:]])
    by_stamp = {a.header.stamp.sec: a for a in rig.arrays}
    on_target = on_other = 0
    for msg, (rgb, masks, _) in zip(sent, frames[1:]):
        array = by_stamp[msg.header.stamp.sec]
        assert array.header.frame_id == "test_camera" and array.header.stamp.nanosec == msg.header.stamp.nanosec
        assert (array.image_width, array.image_height) == (rgb.shape[1], rgb.shape[0])
        assert [o.id for o in array.objects] == [object_id]
        assert all(g.object_id == object_id for g in array.grasps)
        assert all(math.isnan(g.depth_m) for g in array.grasps), "no depth was sent: no metric pose"
        if array.grasps:
            on_target += _on_object(array.grasps[0], masks, target)
            on_other += _on_object(array.grasps[0], masks, other)
    assert on_target >= 0.8 * len(sent), f"best grasp on the prompted object in {on_target}/{len(sent)} frames"
    assert on_other <= 0.1 * len(sent)
    rig.ros.spin_until(lambda: rig.diagnostics and _value(rig.diagnostics[-1], "precision"), 10, "diagnostics")
    assert "(auto: " in _value(rig.diagnostics[-1], "precision"), "auto precision measured and said"
    assert _value(rig.diagnostics[-1], "text re-detections") == "0"


def test_reprompt_append_remove_and_clear(rig, clip):
    frames, ids, boxes = clip
    rig.show(frames[2][0])
    before = rig.prompt(boxes=[boxes[ids[0]]])
    assert before.success
    reset = rig.prompt(boxes=[boxes[ids[1]]])
    assert reset.success and list(reset.tracked_ids) == list(reset.object_ids), "a new prompt replaces the set"
    assert reset.object_ids[0] > before.object_ids[0], "ids are never reused"
    appended = rig.prompt(boxes=[boxes[ids[0]]], append=True)
    assert appended.success and sorted(appended.tracked_ids) == sorted([*reset.object_ids, *appended.object_ids])
    sent = rig.stream([frames[3][0]])
    array = next(a for a in rig.arrays if a.header.stamp.sec == sent[0].header.stamp.sec)
    assert sorted(o.id for o in array.objects) == sorted(appended.tracked_ids)

    removed = rig.prompt(remove_ids=list(reset.object_ids), append=True)
    assert removed.success and list(removed.tracked_ids) == list(appended.object_ids)
    cleared = rig.prompt()
    assert cleared.success and list(cleared.tracked_ids) == []
    count = len(rig.arrays)
    rig.stream([frames[4][0]], period=1.0, wait_for_each=False)
    assert all(not a.objects for a in rig.arrays[count:]), "nothing is tracked after an empty prompt"


@pytest.mark.parametrize("kwargs, reason", [
    ({"boxes": [[float("nan"), 0, 10, 10]]}, "finite"),
    ({"boxes": [[30, 30, 30, 60]]}, "degenerate"),
    ({"boxes": [[10, 10, 500, 60]]}, "outside"),
    ({"points": [(20, 20, 7, 0)]}, "label"),
    ({"remove_ids": [999], "append": True}, "unknown"),
    ({"text": "red mug"}, "text"),
])
def test_bad_prompts_are_refused_and_tracking_is_unchanged(rig, clip, kwargs, reason):
    frames, ids, boxes = clip
    rig.show(frames[5][0])
    good = rig.prompt(boxes=[boxes[ids[0]]])
    assert good.success
    response = rig.prompt(**kwargs)
    assert not response.success
    assert reason in response.message.lower(), response.message
    assert list(response.tracked_ids) == list(good.tracked_ids)
    sent = rig.stream([frames[6][0]])
    array = next(a for a in rig.arrays if a.header.stamp.sec == sent[0].header.stamp.sec)
    assert [o.id for o in array.objects] == list(good.object_ids)


def test_unsupported_encoding_is_rejected_once_and_counted(rig, clip, tracker_process):
    frames, ids, boxes = clip
    rig.show(frames[7][0])
    assert rig.prompt(boxes=[boxes[ids[0]]]).success
    count = len(rig.arrays)
    rgb = frames[8][0]
    for _ in range(3):
        rig.publish(rgb, encoding="yuv422")  # bytes of the right length, an encoding the node does not read
        rig.ros.spin_for(0.3)
    assert len(rig.arrays) == count, "frames in an unsupported encoding must not be processed"
    rig.ros.spin_until(lambda: "yuv422" in tracker_process.output(), 10, "the encoding warning")
    warnings = [line for line in tracker_process.output().splitlines() if "yuv422" in line]
    assert len(warnings) == 1, f"one warning, not one per frame: {warnings}"
    rig.ros.spin_until(lambda: any(_value(d, "frames rejected (unreadable)") == "3" for d in rig.diagnostics[-3:]),
                       10, "diagnostics counting the rejected frames")
    rig.stream([frames[9][0]])  # still tracking afterwards


def _received(rig) -> int:
    """Frames the tracker received, by its latest diagnostics."""
    rig.ros.spin_until(lambda: rig.diagnostics, 10, "diagnostics")
    return int(_value(rig.diagnostics[-1], "frames received") or 0)


def test_runtime_parameters(rig, clip):
    frames, ids, boxes = clip
    rig.show(frames[10][0])
    assert rig.prompt(boxes=[boxes[ids[0]]]).success
    assert rig.set_parameter("top_k", 1).successful
    sent = rig.stream([frames[11][0], frames[12][0]])
    arrays = [a for a in rig.arrays if a.header.stamp.sec in {m.header.stamp.sec for m in sent}]
    assert all(len(a.grasps) <= 1 for a in arrays)
    refused = rig.set_parameter("presence_threshold", 2.0)
    assert not refused.successful and "presence_threshold" in refused.reason
    frozen = rig.set_parameter("checkpoint", "/elsewhere.pt")
    assert not frozen.successful and "read-only" in frozen.reason, "read at configure: read-only while configured"
    assert rig.set_parameter("top_k", 5).successful
    assert rig.set_parameter("exclusive_masks", False).successful
    assert rig.set_parameter("exclusive_masks", True).successful
    even = rig.set_parameter("readout_window", 4)
    assert not even.successful and "not a valid step" in even.reason, even.reason  # odd: range 1..31, step 2
    assert rig.set_parameter("readout_window", 1).successful
    assert rig.set_parameter("readout_window", 5).successful


def test_deactivate_and_activate_while_images_flow(rig, clip):
    from lifecycle_msgs.msg import State

    frames, ids, boxes = clip
    rig.show(frames[0][0])
    prompted = rig.prompt(boxes=[boxes[ids[0]]])
    assert prompted.success
    assert rig.lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    rig.ros.spin_for(0.5)
    count = len(rig.arrays)
    rig.stream([rgb for rgb, _, _ in frames[1:4]], period=0.3, wait_for_each=False)
    assert len(rig.arrays) == count, "an inactive tracker publishes nothing"
    assert rig.lifecycle.activate().id == State.PRIMARY_STATE_ACTIVE
    rig.ros.spin_until(lambda: rig.publisher.get_subscription_count() > 0, 30, "the re-created subscription")
    sent = rig.stream([frames[4][0]])
    array = next(a for a in rig.arrays if a.header.stamp.sec == sent[0].header.stamp.sec)
    assert [o.id for o in array.objects] == list(prompted.object_ids), "tracking state survives deactivation"


def test_fast_frames_are_dropped_not_queued(rig, clip, tracker_process):
    import cv2

    frames, ids, boxes = clip
    big = [cv2.resize(rgb, (1280, 720), interpolation=cv2.INTER_LINEAR) for rgb, _, _ in frames[:4]]
    box = np.array(boxes[ids[0]], float) * [1280 / 160, 720 / 120, 1280 / 160, 720 / 120]
    rig.show(big[0])
    assert rig.prompt(boxes=[box]).success
    messages = [rig.image(frame) for frame in big]

    def burst(n: int) -> None:
        for k in range(n):
            rig.publisher.publish(messages[k % len(messages)])
            rig.ros.spin_for(0.002)

    burst(100)
    rig.ros.spin_for(2.0)
    rss_before = rss_kib(tracker_process.popen.pid)
    burst(300)
    rig.ros.spin_for(2.0)
    rss_after = rss_kib(tracker_process.popen.pid)
    rig.ros.spin_until(lambda: rig.diagnostics and _value(rig.diagnostics[-1], "frames dropped (newer arrived)") not in
                       (None, "0"), 10, "dropped frames in diagnostics")
    latest = rig.diagnostics[-1]
    received = int(_value(latest, "frames received"))
    processed = int(_value(latest, "frames processed"))
    dropped = int(_value(latest, "frames dropped (newer arrived)"))
    assert dropped > 0 and processed < received
    assert rss_after - rss_before < 60 * 1024, f"memory grew by {(rss_after - rss_before) / 1024:.0f} MiB under load"


def test_depth_with_the_frame_stamp_gives_metric_poses(rig, clip):
    from sensor_msgs.msg import CameraInfo, Image

    node = rig.ros.node
    depth_pub = node.create_publisher(Image, f"{NS}/depth", 5)
    info_pub = node.create_publisher(CameraInfo, f"{NS}/camera_info", 5)
    try:
        _depth_gives_metric_poses(rig, clip, depth_pub, info_pub)
    finally:  # later tests send no depth
        node.destroy_publisher(depth_pub)
        node.destroy_publisher(info_pub)


def _depth_gives_metric_poses(rig, clip, depth_pub, info_pub) -> None:
    from visualization_msgs.msg import Marker, MarkerArray

    from spgrasp_ros.ros.image_messages import camera_info_msg, depth_to_image

    markers: list = []  # ~/markers: built only while someone subscribes, as here
    rig.ros.node.create_subscription(MarkerArray, f"{rig.node_name}/markers", markers.append, 10)
    frames, ids, boxes = clip
    rig.ros.spin_until(lambda: depth_pub.get_subscription_count() > 0 and info_pub.get_subscription_count() > 0, 30,
                       "the tracker's depth subscriptions")
    rig.show(frames[0][0])
    assert rig.prompt(boxes=[boxes[ids[0]]]).success
    height, width = frames[0][0].shape[:2]
    fx, fy, cx, cy = 200.0, 190.0, width / 2, height / 2
    with_pose = 0
    for k, (rgb, masks, _) in enumerate(frames[1:4]):
        msg = rig.image(rgb)
        depth = np.full((height, width), 0.9 + 0.1 * k, np.float32)
        depth_pub.publish(depth_to_image(depth, msg.header))
        info_pub.publish(camera_info_msg(msg.header, width, height, fx, fy, cx, cy))
        rig.ros.spin_for(0.3)
        rig.publisher.publish(msg)
        stamp = msg.header.stamp.sec
        rig.ros.spin_until(lambda: any(a.header.stamp.sec == stamp for a in rig.arrays), 60, "the GraspArray")
        array = next(a for a in rig.arrays if a.header.stamp.sec == stamp)
        # depth is sampled on the object's mask: a grasp whose region misses the predicted mask has no pose
        posed = [g for g in array.grasps if g.has_pose]
        with_pose += len(posed)
        if posed:  # the gripper markers of this frame stand at its posed grasps
            rig.ros.spin_until(lambda: any(m.markers and m.markers[0].header.stamp.sec == stamp for m in markers),
                               10, "the markers of the frame")
            drawn = next(m for m in markers if m.markers[0].header.stamp.sec == stamp).markers
            assert drawn[0].action == Marker.DELETEALL and drawn[1].header.frame_id == "test_camera"
            fingers = [m.pose.position for m in drawn if m.ns == "gripper"][:2]
            middle = [(getattr(fingers[0], a) + getattr(fingers[1], a)) / 2 for a in "xyz"]
            first = posed[0].pose.position
            assert middle == pytest.approx([first.x, first.y, first.z], abs=1e-6)
        for grasp in posed:
            z = 0.9 + 0.1 * k
            assert grasp.depth_m == pytest.approx(z, abs=1e-4)
            assert grasp.pose.position.z == pytest.approx(z, abs=1e-4)
            assert grasp.pose.position.x == pytest.approx((grasp.center_x - cx) * z / fx, abs=1e-3)
            assert grasp.pose.position.y == pytest.approx((grasp.center_y - cy) * z / fy, abs=1e-3)
    assert with_pose >= 3, "the best grasps lie on their object and get metric poses"
    unpaired = rig.stream([frames[5][0]])  # no depth with this stamp (the last one is 1 s older): no pose
    array = next(a for a in rig.arrays if a.header.stamp.sec == unpaired[0].header.stamp.sec)
    assert array.grasps and not any(g.has_pose for g in array.grasps)
    assert all(math.isnan(g.depth_m) for g in array.grasps)


def test_cleanup_releases_publishers_reconfigure_works_and_shutdown_exits_cleanly(module_ros_node):
    """On a node of its own (it ends it): cleanup, configure again, then shut down."""
    namespace = "/trk_end"
    process = tracker_process_for(namespace)
    try:
        rig = Rig(module_ros_node, namespace)
        rig.bring_up()
        _cleanup_reconfigure_and_shutdown(rig, process)
    finally:
        process.stop(timeout=20)
        sys.stdout.write(f"--- tracker node output ---\n{process.output()}\n")


def _cleanup_reconfigure_and_shutdown(rig: Rig, tracker_process: RosProcess) -> None:
    from lifecycle_msgs.msg import State

    node = rig.ros.node
    topics = [f"{rig.namespace}/grasp_poses", f"{rig.node_name}/mask", f"{rig.node_name}/debug_image"]

    def counts():
        rig.ros.spin_for(0.5)
        return [node.count_publishers(t) for t in topics]

    assert counts() == [1, 1, 1]
    assert rig.lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    assert rig.lifecycle.cleanup().id == State.PRIMARY_STATE_UNCONFIGURED
    deadline = time.monotonic() + 10
    while counts() != [0, 0, 0] and time.monotonic() < deadline:
        pass
    assert counts() == [0, 0, 0], "cleanup destroys every publisher configure made"
    assert rig.lifecycle.configure().id == State.PRIMARY_STATE_INACTIVE
    assert counts() == [1, 1, 1], "a second configure makes each publisher once"
    assert rig.lifecycle.shutdown().id == State.PRIMARY_STATE_FINALIZED
    assert tracker_process.wait(timeout=30) == 0, tracker_process.output()


def _slow_prompt(rig, clip):
    """A 3840x2160 frame shown to the tracker and a prompt of 16 boxes (max_objects) on it: seconds on a CPU."""
    import cv2

    from spgrasp_ros.msg import PromptBox
    from spgrasp_ros.srv import SetPrompt

    frames, ids, boxes = clip
    width, height = 3840, 2160
    received = _received(rig)
    rig.publish(cv2.resize(frames[0][0], (width, height), interpolation=cv2.INTER_LINEAR))
    rig.ros.spin_until(lambda: _received(rig) > received, 30, "diagnostics counting the large frame")
    return SetPrompt.Request(boxes=[
        PromptBox(x_min=c * width / 4 + 10, y_min=r * height / 4 + 10, x_max=(c + 1) * width / 4 - 10,
                  y_max=(r + 1) * height / 4 - 10) for r in range(4) for c in range(4)])  # max_objects: 16


def test_deactivating_under_a_slow_prompt_answers_every_prompt_and_the_node_lives(rig, clip, tracker_process):
    """Deactivate while one prompt is applied and another waits: the first is answered when done, the waiting
    one is refused, the node stays alive and answers prompts while inactive (refused at once)."""
    from lifecycle_msgs.msg import State

    request = _slow_prompt(rig, clip)
    sent_at = len(rig.diagnostics)
    applied = rig.prompt_client.call_async(request)
    rig.ros.spin_until(lambda: applied.done() or any(_value(d, "prompt being applied") == "yes"
                                                     for d in rig.diagnostics[sent_at:]),
                       120, "diagnostics while the prompt is applied")
    waiting = rig.prompt_client.call_async(request)
    rig.ros.spin_for(0.3)
    assert rig.lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    rig.ros.spin_until(lambda: applied.done() and waiting.done(), 120, "both prompts answered")
    assert applied.result().success or "deactivating" in applied.result().message, applied.result().message
    assert not waiting.result().success and "deactivating" in waiting.result().message, waiting.result().message
    inactive = rig.prompt(boxes=[[10, 10, 50, 50]])
    assert not inactive.success and "not active" in inactive.message, inactive.message
    rig.ros.spin_for(1.0)
    assert tracker_process.popen.poll() is None, tracker_process.output()
    rig.bring_up()
    assert rig.prompt().success, "active again; cleared"


def test_a_slow_prompt_holds_up_neither_parameters_nor_lifecycle_nor_diagnostics(rig, clip):
    """16 boxes on a 3840x2160 frame keep the worker busy for a while (seconds on a CPU). Meanwhile diagnostics
    keep coming and a lifecycle query, a parameter query and a parameter change are answered, each before the
    prompt's answer; the prompt is then answered in full."""
    request = _slow_prompt(rig, clip)
    sent_at = len(rig.diagnostics)
    future = rig.prompt_client.call_async(request)
    answered_before_the_prompt = []  # what was answered while the prompt's answer had not arrived
    rig.ros.spin_until(lambda: future.done() or any(_value(d, "prompt being applied") == "yes"
                                                    for d in rig.diagnostics[sent_at:]),
                       120, "diagnostics while the prompt is applied")
    answered_before_the_prompt.append(("diagnostics", not future.done()))
    assert rig.lifecycle.get_state().label == "active"
    answered_before_the_prompt.append(("get_state", not future.done()))
    assert rig.get_parameter("top_k") == TUNABLES["top_k"]
    answered_before_the_prompt.append(("get_parameters", not future.done()))
    assert rig.set_parameter("top_k", 3).successful
    answered_before_the_prompt.append(("set_parameters", not future.done()))
    assert all(before for _, before in answered_before_the_prompt), answered_before_the_prompt
    rig.ros.spin_until(future.done, 120, "the prompt's answer")
    response = future.result()
    assert response.success and len(response.object_ids) == 16, response.message
    assert rig.prompt().success, "cleared: later frames are not processed for 16 objects"


def test_the_parameter_file_holds_every_parameter_with_its_default():
    require_ros()
    from pathlib import Path

    from spgrasp_ros.ros.launch_plan import node_parameters
    from spgrasp_ros.ros.tracker_parameters import PARAMETERS

    path = Path(__file__).resolve().parents[2] / "config" / "tracker.yaml"
    assert node_parameters(path, "spgrasp_tracker") == {spec.name: spec.default for spec in PARAMETERS}


def test_missing_checkpoint_fails_configure(ros_node, tmp_path):
    from lifecycle_msgs.msg import State

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    process = RosProcess([sys.executable, "-m", "spgrasp_ros.nodes.tracker_node", "--ros-args", "-r", "__ns:=/broken",
                          "-p", f"checkpoint:={tmp_path / 'missing.pt'}"])
    try:
        client = LifecycleClient(ros_node.node, ros_node.executor, "/broken/spgrasp_tracker", timeout_s=120)
        with pytest.raises(LifecycleError, match="unconfigured"):
            client.configure()
        assert client.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
        deadline = time.monotonic() + 10
        while "missing.pt" not in process.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "missing.pt" in process.output(), "the log names the missing checkpoint"
    finally:
        process.stop(timeout=20)
    assert os.path.exists(process.log_path)


def test_compressed_transport(ros_node, clip):
    """image_transport:=compressed: CompressedImage on image/compressed (as the R1's cameras publish)."""
    import cv2
    from sensor_msgs.msg import CompressedImage

    from spgrasp_ros.msg import GraspArray, PromptBox
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient
    from spgrasp_ros.srv import SetPrompt

    frames, ids, boxes = clip
    process = RosProcess([sys.executable, "-m", "spgrasp_ros.nodes.tracker_node", "--ros-args", "-r", "__ns:=/trkc",
                          "-p", "image_transport:=compressed", "-p", "image_reliability:=reliable", "-p", "device:=cpu",
                          "-p", "use_depth:=false"])
    try:
        node = ros_node.node
        arrays = []
        node.create_subscription(GraspArray, "/trkc/grasp_poses", arrays.append, 10)
        publisher = node.create_publisher(CompressedImage, "/trkc/image/compressed", 5)
        client = LifecycleClient(node, ros_node.executor, "/trkc/spgrasp_tracker", timeout_s=120)
        client.configure()
        client.activate()
        ros_node.spin_until(lambda: publisher.get_subscription_count() > 0, 30, "the compressed subscription")
        ros_node.spin_until(lambda: node.count_publishers("/trkc/grasp_poses") > 0, 30, "the grasp publisher")

        def compressed(rgb, sec):
            png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
            msg = CompressedImage(format="png", data=png)
            msg.header.stamp.sec, msg.header.frame_id = sec, "cam"
            return msg

        publisher.publish(compressed(frames[0][0], 1))
        ros_node.spin_for(0.5)
        prompt_client = node.create_client(SetPrompt, "/trkc/set_prompt")
        box = boxes[ids[0]]
        answer = ros_node.call(prompt_client, SetPrompt.Request(boxes=[PromptBox(
            x_min=float(box[0]), y_min=float(box[1]), x_max=float(box[2]), y_max=float(box[3]))]), 60, ready_timeout=30)
        assert answer.success, answer.message
        publisher.publish(compressed(frames[1][0], 2))
        ros_node.spin_until(lambda: any(a.header.stamp.sec == 2 for a in arrays), 60, "a GraspArray")
        array = next(a for a in arrays if a.header.stamp.sec == 2)
        assert (array.image_width, array.image_height) == (160, 120) and array.header.frame_id == "cam"
        assert [o.id for o in array.objects] == list(answer.object_ids)
    finally:
        process.stop(timeout=20)
