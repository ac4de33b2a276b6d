"""rviz2 markers of a GraspArray (a parallel-jaw gripper per posed grasp, a label per object) and of the arm
bridge's target (the pre-grasp and grasp grippers in the base frame, an arrow between them).

One MarkerArray per frame, in the frame and stamp of the input image: a DELETEALL first (so nothing of objects
that are gone, or of grasps no longer among the best, stays), then for each object its best ``grasps_per_object``
posed grasps as three boxes (``grasps.gripper_model``), coloured as the debug image colours the object (the best
opaque, the others faded), and a text label "id <n>  <presence>" above its best grasp.
"""

from __future__ import annotations

from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from spgrasp_ros.grasps.gripper_model import GripperShape, gripper_parts
from spgrasp_ros.msg import GraspArray
from spgrasp_ros.visualize import object_colour

GRIPPER_NS = "gripper"  # namespace of the gripper boxes
LABEL_NS = "label"  # namespace of the object labels
LABEL_HEIGHT_M = 0.02  # text height
LABEL_LIFT_M = 0.05  # the label sits this far above (camera -y) the best grasp
TARGET_NS = "arm_target"  # namespace of the bridge's target markers
COMMANDING = ColorRGBA(r=0.1, g=0.9, b=0.2, a=0.9)  # the bridge sends this target
WOULD_SEND = ColorRGBA(r=0.6, g=0.6, b=0.6, a=0.6)  # the bridge is disabled: it would send this target


def _colour(object_id: int, alpha: float) -> ColorRGBA:
    r, g, b = object_colour(object_id)
    return ColorRGBA(r=r / 255.0, g=g / 255.0, b=b / 255.0, a=alpha)


def _boxes(header: Header, ns: str, first_id: int, position, orientation, width_m: float, colour: ColorRGBA,
           shape: GripperShape) -> list[Marker]:
    """The three boxes of a gripper at a pose, ids from ``first_id``."""
    return [Marker(header=header, ns=ns, id=first_id + k, type=Marker.CUBE, action=Marker.ADD,
                   pose=Pose(position=Point(x=part.centre[0], y=part.centre[1], z=part.centre[2]),
                             orientation=Quaternion(x=part.orientation[0], y=part.orientation[1],
                                                    z=part.orientation[2], w=part.orientation[3])),
                   scale=Vector3(x=part.size[0], y=part.size[1], z=part.size[2]), color=colour)
            for k, part in enumerate(gripper_parts(position, orientation, width_m, shape))]


def clear_markers(header: Header) -> MarkerArray:
    """A MarkerArray that only deletes (every marker of the publisher, in ``header``'s frame)."""
    return MarkerArray(markers=[Marker(header=header, action=Marker.DELETEALL)])


def target_markers(header: Header, pre_grasp, grasp_point, orientation, opening_m: float, commanding: bool,
                   shape: GripperShape = GripperShape()) -> MarkerArray:
    """The bridge's target in ``header``'s (base) frame: a DELETEALL, the gripper at the pre-grasp point and at
    the grasp point (``orientation``: the grasp frame's, z = approach), an arrow from one to the other; green
    while commanding, grey while it would send."""
    colour = COMMANDING if commanding else WOULD_SEND
    markers = clear_markers(header).markers
    markers += _boxes(header, TARGET_NS, 0, pre_grasp, orientation, opening_m, colour, shape)
    markers += _boxes(header, TARGET_NS, 3, grasp_point, orientation, opening_m, colour, shape)
    markers.append(Marker(header=header, ns=TARGET_NS, id=6, type=Marker.ARROW, action=Marker.ADD,
                          points=[Point(x=float(a), y=float(b), z=float(c)) for a, b, c in (pre_grasp, grasp_point)],
                          scale=Vector3(x=0.005, y=0.01, z=0.015), color=colour))
    return MarkerArray(markers=markers)


def grasp_markers(array: GraspArray, grasps_per_object: int = 1, shape: GripperShape = GripperShape()) -> MarkerArray:
    """The markers of one GraspArray (see the module docstring)."""
    header = Header(stamp=array.header.stamp, frame_id=array.header.frame_id)
    markers = [Marker(header=header, action=Marker.DELETEALL)]
    presence = {o.id: o.presence_score for o in array.objects}
    shown: dict[int, int] = {}
    for grasp in array.grasps:  # each object's best first (GraspArray.msg)
        rank = shown.get(grasp.object_id, 0)
        if not grasp.has_pose or rank >= grasps_per_object:
            continue
        shown[grasp.object_id] = rank + 1
        p, q = grasp.pose.position, grasp.pose.orientation
        markers += _boxes(header, GRIPPER_NS, len(markers), (p.x, p.y, p.z), (q.x, q.y, q.z, q.w), grasp.width_m,
                          _colour(grasp.object_id, 0.9 if rank == 0 else 0.35), shape)
        if rank == 0:
            markers.append(Marker(
                header=header, ns=LABEL_NS, id=int(grasp.object_id), type=Marker.TEXT_VIEW_FACING,
                action=Marker.ADD, text=f"id {grasp.object_id}  {presence.get(grasp.object_id, 0.0):.2f}",
                pose=Pose(position=Point(x=p.x, y=p.y - LABEL_LIFT_M, z=p.z)),
                scale=Vector3(z=LABEL_HEIGHT_M), color=_colour(grasp.object_id, 1.0)))
    return MarkerArray(markers=markers)
