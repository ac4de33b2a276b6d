"""Grasps as vision_msgs/Detection2DArray (oriented boxes); needs vision_msgs, which the PyPI wheels lack."""

import math

import pytest

from spgrasp_ros.results import FrameResult, Grasp, ObjectState


def test_every_grasp_becomes_an_oriented_detection_with_the_image_header():
    pytest.importorskip("vision_msgs.msg", reason="vision_msgs is not installed (the ROS 2 PyPI wheels lack it; "
                                                  "apt's ros-$ROS_DISTRO-vision-msgs has it)")
    from std_msgs.msg import Header

    from spgrasp_ros.ros.detections import detections_message

    result = FrameResult((640, 480), 7, (ObjectState(3, True, 0.9, 100, (0, 0, 10, 10), 1, 0),),
                         (Grasp(3, 0.8, (100.0, 50.0), 0.5, 40.0, 20.0),
                          Grasp(3, 0.6, (120.0, 60.0), -1.0, 30.0, 15.0)))
    header = Header(frame_id="cam")
    header.stamp.sec = 12
    array = detections_message(result, header)
    assert array.header.frame_id == "cam" and array.header.stamp.sec == 12 and len(array.detections) == 2
    first = array.detections[0]
    assert first.id == "3" and first.results[0].hypothesis.class_id == "3"
    assert first.results[0].hypothesis.score == pytest.approx(0.8)
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (100.0, 50.0)
    assert first.bbox.center.theta == pytest.approx(0.5) and not math.isnan(first.bbox.size_x)
    assert (first.bbox.size_x, first.bbox.size_y) == (40.0, 20.0)
