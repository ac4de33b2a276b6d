"""Records <-> messages in one process: every field of Grasp and ObjectState survives, the steady-grasp fields
and the object state included; records from before those fields existed convert with their defaults."""

import math

import pytest

from spgrasp_ros.results import LOST, OBJECT_STATES, REACQUIRED, TRACKING, FrameResult, Grasp, GraspPose, ObjectState

pytestmark = pytest.mark.ros


def _result() -> FrameResult:
    # float32-exact values, so the round trip can compare exactly
    return FrameResult(
        image_size=(640, 480), frame_index=12, processing_ms=3.5,
        objects=(ObjectState(2, True, 0.75, 900, (10.0, 20.0, 40.0, 60.0), 5, 0, REACQUIRED),
                 ObjectState(4, False, 0.25, 0, (0.0, 0.0, 0.0, 0.0), 5, 2, LOST),
                 ObjectState(6, True, 0.5, 100, (1.0, 2.0, 3.0, 4.0), 1, 0)),
        grasps=(Grasp(2, 0.875, (25.5, 40.25), -0.5, 30.0, 15.0,
                      GraspPose((0.5, 0.25, 1.0), (0.0, 0.0, 0.25, 0.96875), 0.03125, 1.0), 17, 0.875),
                Grasp(6, 0.625, (2.0, 3.0), 1.25, 8.0, 4.0, None, 2**32 - 1, 1.0),
                Grasp(2, 0.5, (30.0, 45.0), 0.25, 20.0, 10.0)),
    )


def test_frame_result_round_trips_with_track_ids_stability_and_states():
    from std_msgs.msg import Header

    from spgrasp_ros.msg import ObjectState as ObjectStateMsg
    from spgrasp_ros.ros.conversions import frame_result_from_msg, frame_result_to_msg

    sent = _result()
    msg = frame_result_to_msg(sent, Header(frame_id="cam"))
    assert [g.track_id for g in msg.grasps] == [17, 2**32 - 1, 0]
    assert [g.stability for g in msg.grasps] == [0.875, 1.0, 0.0]
    assert [o.state for o in msg.objects] == [ObjectStateMsg.REACQUIRED, ObjectStateMsg.LOST,
                                              ObjectStateMsg.TRACKING]
    assert [o.num_grasps for o in msg.objects] == [2, 0, 1]
    assert math.isnan(msg.grasps[1].width_m)
    received = frame_result_from_msg(msg)
    assert received == sent
    assert received.objects[2].state == TRACKING


def test_state_constants_match_the_records():
    from spgrasp_ros.msg import ObjectState as ObjectStateMsg

    assert (ObjectStateMsg.TRACKING, ObjectStateMsg.LOST, ObjectStateMsg.REACQUIRED) == (0, 1, 2)
    assert OBJECT_STATES == (TRACKING, LOST, REACQUIRED)
    assert ObjectStateMsg().state == ObjectStateMsg.TRACKING  # a message from an older publisher reads TRACKING


def test_unknown_states_are_refused_both_ways():
    from spgrasp_ros.msg import ObjectState as ObjectStateMsg
    from spgrasp_ros.ros.conversions import object_state_from_msg, object_state_to_msg

    with pytest.raises(ValueError, match="unknown state 'gone'"):
        object_state_to_msg(ObjectState(1, True, 0.5, 10, (0.0, 0.0, 1.0, 1.0), 0, 0, "gone"), 0)
    with pytest.raises(ValueError, match="unknown state code 9"):
        object_state_from_msg(ObjectStateMsg(id=1, state=9))


def test_grasps_without_tracking_convert_to_zero_ids():
    from spgrasp_ros.ros.conversions import grasp_from_msg, grasp_to_msg

    plain = Grasp(3, 0.5, (1.0, 2.0), 0.0, 4.0, 2.0)
    msg = grasp_to_msg(plain)
    assert (msg.track_id, msg.stability) == (0, 0.0)
    assert grasp_from_msg(msg) == plain
