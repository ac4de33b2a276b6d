"""A GraspArray published by a node in another process arrives with every field intact."""

import json
import math

import pytest
from ros_harness import helper_node

from spgrasp_ros.results import LOST, REACQUIRED, FrameResult, Grasp, GraspPose, ObjectState


def _sample_result() -> FrameResult:
    # Values exactly representable in float32, so the comparison can be exact.
    return FrameResult(
        image_size=(1280, 720),
        frame_index=123456789012,
        processing_ms=17.25,
        objects=(
            ObjectState(1, True, 0.875, 5120, (100.5, 200.25, 300.0, 410.75), 42, 0, REACQUIRED),
            ObjectState(7, False, 0.125, 0, (0.0, 0.0, 0.0, 0.0), 9, 3, LOST),
        ),
        grasps=(
            Grasp(1, 0.9375, (210.5, 300.25), -1.25, 64.5, 32.25,
                  GraspPose((0.125, -0.0625, 0.75), (0.0, 0.0, 0.5, 0.75), 0.0390625, 0.75), 4000000001, 0.625),
            Grasp(1, 0.5, (220.0, 310.0), 1.5, 40.0, 20.0, None, 3, 0.1015625),
        ),
    )


@pytest.mark.ros
def test_grasp_array_crosses_processes_intact(ros_node, tmp_path):
    from spgrasp_ros.msg import GraspArray
    from spgrasp_ros.ros.conversions import frame_result_from_msg

    sent = _sample_result()
    path = tmp_path / "result.json"
    path.write_text(json.dumps(sent.to_dict()))
    received: list[GraspArray] = []
    ros_node.node.create_subscription(GraspArray, "/test/grasp_poses", received.append, 10)

    with helper_node("grasp_array_publisher.py", str(path), "/test/grasp_poses", "zed_left_camera_optical_frame",
                     "1700000000", "123456789"):
        ros_node.spin_until(lambda: received, timeout=30, what="a GraspArray from the publisher process")

    msg = received[0]
    assert msg.header.frame_id == "zed_left_camera_optical_frame"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1700000000, 123456789)
    assert [o.num_grasps for o in msg.objects] == [2, 0]
    # The pose-less grasp carries NaN metric fields, never a stale or zero pose.
    assert msg.grasps[1].has_pose is False
    assert math.isnan(msg.grasps[1].width_m) and math.isnan(msg.grasps[1].depth_m)
    assert frame_result_from_msg(msg) == sent
