"""The tracker node's prompt service and outputs under abuse, in its own process (bundled demo model, CPU).

Covered: removals without append, white-space text, clearing before any frame, prompts beyond max_objects, a
prompt that timed out in line, a burst of 200 prompts from 5 client processes, each stamp published once with
frame_index from activation, the empty GraspArray while nothing is tracked, the 16-bit mask beyond id 255,
diagnostics named by node with levels from recent windows, and the one warning about absent depth.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from ros_harness import HELPERS, RosProcess, require_ros
from tracker_rig import Rig, make_clip, running_tracker
from tracker_rig import diagnostic_value as _value

pytestmark = pytest.mark.ros

NS = "/pab"


@pytest.fixture(scope="module")
def clip():
    return make_clip(seed=100124, frames=8)


@pytest.fixture(scope="module")
def tracker_process():
    require_ros()
    with running_tracker(NS) as process:
        yield process


@pytest.fixture(scope="module")
def module_rig(tracker_process):
    from ros_harness import RosTestNode

    node = RosTestNode("test_tracker_prompt_abuse")
    try:
        yield Rig(node, NS)
    finally:
        node.close()


@pytest.fixture
def rig(module_rig, tracker_process):
    assert tracker_process.popen.poll() is None, tracker_process.output()
    module_rig.bring_up()
    return module_rig


def _array_of(rig, msg):
    stamp = msg.header.stamp.sec
    rig.ros.spin_until(lambda: any(a.header.stamp.sec == stamp for a in rig.arrays), 60, f"the array of {stamp}")
    return next(a for a in rig.arrays if a.header.stamp.sec == stamp)


def test_clearing_and_removing_need_no_frame_and_white_space_text_is_refused(rig, clip):
    from lifecycle_msgs.msg import State

    assert rig.lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    assert rig.lifecycle.cleanup().id == State.PRIMARY_STATE_UNCONFIGURED
    rig.bring_up()  # configured again: no frame received
    cleared = rig.prompt()
    assert cleared.success and list(cleared.tracked_ids) == [], cleared.message
    unknown = rig.prompt(remove_ids=[7])
    assert not unknown.success and "unknown object id" in unknown.message
    frames, ids, boxes = clip
    rig.show(frames[0][0])
    assert rig.prompt(boxes=[boxes[ids[0]]]).success
    for text in ("   ", "\t"):
        response = rig.prompt(text=text)
        assert not response.success and "white space" in response.message, response.message
        assert len(response.tracked_ids) == 1, "tracking unchanged"


def test_removing_ids_without_append_keeps_the_other_objects(rig, clip):
    frames, ids, boxes = clip
    rig.show(frames[1][0])
    both = rig.prompt(boxes=[boxes[ids[0]], boxes[ids[1]]])
    assert both.success and len(both.object_ids) == 2
    kept, removed = both.object_ids
    response = rig.prompt(remove_ids=[removed])  # no append
    assert response.success and list(response.tracked_ids) == [kept], response.message
    array = _array_of(rig, rig.publish(frames[2][0]))
    assert [o.id for o in array.objects] == [kept], "the other object is still tracked, with its memory"


def test_prompts_beyond_max_objects_are_refused_and_change_nothing(rig, clip):
    frames, ids, boxes = clip
    rig.show(frames[3][0])
    good = rig.prompt(boxes=[boxes[ids[0]]] * 10)
    assert good.success and len(good.tracked_ids) == 10
    huge = rig.prompt(boxes=[[10 + k % 50, 10, 60 + k % 50, 60] for k in range(1000)])
    assert not huge.success and "1000 objects in one prompt" in huge.message and "max_objects=16" in huge.message
    more = rig.prompt(boxes=[boxes[ids[1]]] * 10, append=True)
    assert not more.success and "would track 20 objects" in more.message, more.message
    for response in (huge, more):
        assert list(response.tracked_ids) == list(good.tracked_ids)
    array = _array_of(rig, rig.publish(frames[4][0]))
    assert [o.id for o in array.objects] == list(good.tracked_ids)


def test_a_prompt_that_timed_out_in_line_is_never_applied(rig, clip):
    import cv2

    from spgrasp_ros.msg import PromptBox
    from spgrasp_ros.srv import SetPrompt

    frames, ids, boxes = clip
    width, height = 3840, 2160
    rig.show(cv2.resize(frames[0][0], (width, height), interpolation=cv2.INTER_LINEAR))
    slow = SetPrompt.Request(boxes=[PromptBox(x_min=c * 960.0 + 10, y_min=r * 540.0 + 10, x_max=c * 960.0 + 950,
                                              y_max=r * 540.0 + 530) for r in range(4) for c in range(4)])
    quick = SetPrompt.Request(boxes=[PromptBox(x_min=100.0, y_min=100.0, x_max=900.0, y_max=900.0)])
    assert rig.set_parameter("prompt_timeout_s", 0.5).successful
    try:
        first = rig.prompt_client.call_async(slow)
        rig.ros.spin_for(0.2)
        second = rig.prompt_client.call_async(quick)
        rig.ros.spin_until(lambda: first.done() and second.done(), 120, "both answers")
    finally:
        assert rig.set_parameter("prompt_timeout_s", 30.0).successful
    assert first.result().success, first.result().message
    assert not second.result().success and "prompt_timeout_s" in second.result().message, second.result().message
    rig.ros.spin_for(1.0)
    array = _array_of(rig, rig.publish(cv2.resize(frames[1][0], (width, height))))
    assert [o.id for o in array.objects] == list(first.result().object_ids), "the timed-out prompt never applied"
    assert rig.prompt().success


def test_a_burst_of_200_prompts_from_5_clients_is_answered_every_one(rig, clip):
    frames, _, _ = clip
    rig.show(frames[5][0])
    assert rig.prompt().success
    rig.ros.spin_for(1.0)
    before = rig.diagnostics[-1]
    clients = [RosProcess([sys.executable, str(HELPERS / "prompt_burst_client.py"), f"{NS}/set_prompt", "40",
                           "0.01", "90"]) for _ in range(5)]
    try:
        states = []
        while any(c.popen.poll() is None for c in clients) and len(states) < 5:
            states.append(rig.lifecycle.get_state().label)  # lifecycle requests answered during the burst
        codes = [c.wait(timeout=150) for c in clients]
    finally:
        for client in clients:
            client.stop()
    assert codes == [0] * 5, [c.output() for c in clients]
    reports = [json.loads(c.output().strip().splitlines()[-1]) for c in clients]
    rig.ros.spin_for(1.0)
    answered = int(_value(rig.diagnostics[-1], "prompts answered")) - int(_value(before, "prompts answered"))
    lost = [r["unanswered"] for r in reports]
    assert answered == 200, "the tracker answers every request (applied, or refused with a reason)"
    # Under heavy load (two busy loops on this 2-core machine beside the 7 processes) Fast DDS lost up to 3 of
    # the 200 replies the tracker sent, in 1 of 3 runs (consecutive ones of one client, mid-burst, no "failed to
    # send" from rmw); without load none in 9 runs. The issue's 179 unanswered stay far out of reach.
    assert sum(r["answered"] for r in reports) >= 195, f"replies lost in the middleware per client: {lost}"
    assert 1 <= sum(r["succeeded"] for r in reports) <= 16, "at most max_objects appended"
    assert all("refused" in m for r in reports for m in r["refusals"]), reports
    assert set(states) <= {"active"} and states
    cleared = rig.prompt(append=True)  # an empty request clears, also with append
    assert cleared.success and list(cleared.tracked_ids) == []


def test_every_stamp_is_published_once_and_frame_index_counts_from_activation(rig, clip):
    from lifecycle_msgs.msg import State

    frames, ids, boxes = clip
    start = len(rig.arrays)
    rig.show(frames[0][0])
    assert rig.prompt(boxes=[boxes[ids[0]]]).success  # on a frame already published: not published again
    rig.stream([rgb for rgb, _, _ in frames[1:5]])
    assert rig.lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    rig.bring_up()
    after = len(rig.arrays)
    rig.stream([rgb for rgb, _, _ in frames[5:8]])
    stamps = [a.header.stamp.sec for a in rig.arrays[start:]]
    assert len(stamps) == len(set(stamps)), f"a stamp published twice: {stamps}"
    assert [a.frame_index for a in rig.arrays[after:]] == [0, 1, 2], "frame_index restarts at activation"
    rig.ros.spin_for(1.0)
    latest = rig.diagnostics[-1]
    assert int(_value(latest, "frames processed")) <= int(_value(latest, "frames received"))
    assert int(_value(latest, "prompts on an already published frame")) >= 1


def test_an_empty_grasp_array_is_published_while_nothing_is_tracked(rig, clip):
    frames, _, _ = clip
    assert rig.prompt().success
    msg = rig.publish(frames[2][0])
    array = _array_of(rig, msg)
    assert not array.objects and not array.grasps
    assert (array.image_width, array.image_height) == (160, 120) and array.header.frame_id == "test_camera"


def test_the_mask_is_16_bit_and_ids_above_255_keep_their_own_value(rig, clip):
    frames, ids, boxes = clip
    rig.show(frames[3][0])
    response = None
    while response is None or max(response.object_ids) < 256:
        response = rig.prompt(boxes=[boxes[ids[0]]] * 16)
        assert response.success, response.message
    final = rig.prompt(boxes=[boxes[ids[0]], boxes[ids[1]]])
    assert final.success and min(final.object_ids) > 256
    msg = rig.publish(frames[4][0])
    stamp = msg.header.stamp.sec
    rig.ros.spin_until(lambda: any(m.header.stamp.sec == stamp for m in rig.masks), 60, "the mask of the frame")
    mask = next(m for m in rig.masks if m.header.stamp.sec == stamp)
    from spgrasp_ros.ros.image_messages import mono16_to_labels

    assert mask.encoding == "mono16"
    labels = mono16_to_labels(mask)
    array = _array_of(rig, msg)
    masked = {o.id for o in array.objects if o.mask_area > 0}
    assert max(masked) > 255 and set(np.unique(labels).tolist()) - {0} == masked, (np.unique(labels), masked)
    for state in array.objects:
        assert int((labels == state.id).sum()) == state.mask_area
    assert rig.prompt().success


def test_diagnostics_are_named_by_node_and_their_level_follows_recent_windows(rig, clip, tracker_process):
    from diagnostic_msgs.msg import DiagnosticStatus

    frames, ids, boxes = clip
    assert all(r.successful for r in rig.set_parameters(diagnostics_window_s=1.0, stale_after_s=1.5))
    try:
        rig.show(frames[0][0])
        assert rig.prompt(boxes=[boxes[ids[0]]]).success
        rig.publish(frames[1][0], encoding="yuv422")  # a bad frame

        def level_seen(level):
            return lambda: any(s.level == level for d in rig.diagnostics[-2:] for s in d.status)

        rig.ros.spin_until(level_seen(DiagnosticStatus.WARN), 10, "WARN after a rejected frame")
        status = rig.diagnostics[-1].status[0]
        assert status.name == f"{NS}/spgrasp_tracker: tracker", status.name
        for k in range(12):  # good frames for longer than the window: OK again
            rig.stream([frames[2 + k % 5][0]])
            rig.ros.spin_for(0.2)
        rig.ros.spin_until(level_seen(DiagnosticStatus.OK), 10, "OK once the bad frame left the window")
        rig.ros.spin_until(level_seen(DiagnosticStatus.STALE), 10, "STALE when images stop")
        assert "no image for" in rig.diagnostics[-1].status[0].message
    finally:
        assert all(r.successful for r in rig.set_parameters(diagnostics_window_s=5.0, stale_after_s=3.0))
        assert rig.prompt().success


def test_absent_depth_is_warned_once_with_what_to_do(rig, clip, tracker_process):
    frames, ids, boxes = clip
    rig.show(frames[0][0])
    assert rig.prompt(boxes=[boxes[ids[0]]]).success
    rig.stream([rgb for rgb, _, _ in frames[1:8]])
    output = tracker_process.output()
    assert output.count("has arrived on /pab/camera_info (use_depth is true)") == 1, output
    assert "use_depth:=false" in output
    assert "grasps without metric pose" not in output, "no per-frame repetition"


def test_malformed_frames_are_turned_away_counted_and_never_the_frame_a_prompt_uses(rig, clip, tracker_process):
    frames, ids, boxes = clip
    assert rig.prompt().success
    good = rig.show(frames[0][0])
    rig.ros.spin_for(0.6)
    before = rig.diagnostics[-1]
    short, empty = rig.image(frames[1][0]), rig.image(frames[1][0])
    short.data = bytes(short.data[:100])
    empty.width = empty.height = 0
    for msg in (short, empty, short):
        rig.publisher.publish(msg)
        rig.ros.spin_for(0.2)
    response = rig.prompt(boxes=[boxes[ids[0]]])
    assert response.success and response.header.stamp.sec == good.header.stamp.sec, "the last good frame"
    rig.ros.spin_for(1.0)
    after = rig.diagnostics[-1]
    rejected = int(_value(after, "frames rejected (unreadable)")) - int(_value(before, "frames rejected (unreadable)"))
    assert rejected == 3 and _value(after, "processing errors") == _value(before, "processing errors")
    assert tracker_process.output().count("with 100 data bytes < step") == 1, "said once per kind"
    assert rig.prompt().success
