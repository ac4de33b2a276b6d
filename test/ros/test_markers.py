"""rviz2 markers of a GraspArray: DELETEALL first, a gripper per posed grasp (best k per object) at the grasp
pose, a label per object, the input image's frame and stamp."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def _array():
    from geometry_msgs.msg import Point, Pose, Quaternion
    from std_msgs.msg import Header

    from spgrasp_ros.msg import Grasp, GraspArray, ObjectState

    header = Header(frame_id="camera_color_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 42, 7

    def posed(object_id, x, width):
        s = math.sin(0.25)
        return Grasp(object_id=object_id, has_pose=True, width_m=width, depth_m=0.8,
                     pose=Pose(position=Point(x=x, y=0.05, z=0.8), orientation=Quaternion(z=s, w=math.cos(0.25))))

    grasps = [posed(3, 0.1, 0.04), posed(3, 0.12, 0.05), posed(3, 0.14, 0.05),
              Grasp(object_id=5, has_pose=False, width_m=float("nan"), depth_m=float("nan")), posed(5, -0.1, 0.03)]
    objects = [ObjectState(id=3, visible=True, presence_score=0.9), ObjectState(id=5, visible=True, presence_score=0.6)]
    return GraspArray(header=header, objects=objects, grasps=grasps)


def test_markers_start_with_deleteall_and_draw_the_best_posed_grasps_at_their_poses():
    from visualization_msgs.msg import Marker

    from spgrasp_ros.ros.markers import GRIPPER_NS, LABEL_NS, grasp_markers

    array = _array()
    markers = grasp_markers(array, grasps_per_object=2).markers
    assert markers[0].action == Marker.DELETEALL, "nothing stale stays"
    assert all(m.header.frame_id == "camera_color_optical_frame" and (m.header.stamp.sec, m.header.stamp.nanosec)
               == (42, 7) for m in markers)
    boxes = [m for m in markers if m.ns == GRIPPER_NS]
    assert len(boxes) == 3 * 3, "object 3: its best 2 of 3; object 5: its one posed grasp (the unposed skipped)"
    assert len({(m.ns, m.id) for m in markers}) == len(markers), "rviz keys markers by namespace and id"
    for k, grasp in enumerate([array.grasps[0], array.grasps[1], array.grasps[4]]):
        left, right, palm = boxes[3 * k:3 * k + 3]
        middle = [(getattr(left.pose.position, a) + getattr(right.pose.position, a)) / 2 for a in "xyz"]
        p = grasp.pose.position
        np.testing.assert_allclose(middle, [p.x, p.y, p.z], atol=1e-9)
        q, o = left.pose.orientation, grasp.pose.orientation
        np.testing.assert_allclose([q.x, q.y, q.z, q.w], [o.x, o.y, o.z, o.w], atol=1e-12)
        assert palm.type == Marker.CUBE
        gap = math.dist([getattr(left.pose.position, a) for a in "xyz"],
                        [getattr(right.pose.position, a) for a in "xyz"]) - left.scale.x
        assert abs(gap - grasp.width_m) < 1e-6
    assert boxes[0].color.a > boxes[3].color.a, "the best grasp opaque, the next faded"
    labels = [m for m in markers if m.ns == LABEL_NS]
    assert [(m.id, m.text) for m in labels] == [(3, "id 3  0.90"), (5, "id 5  0.60")]


def test_an_array_without_posed_grasps_only_clears():
    from visualization_msgs.msg import Marker

    from spgrasp_ros.msg import GraspArray
    from spgrasp_ros.ros.markers import grasp_markers

    markers = grasp_markers(GraspArray()).markers
    assert [m.action for m in markers] == [Marker.DELETEALL]
