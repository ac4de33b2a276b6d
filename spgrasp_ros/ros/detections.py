"""Grasps as ``vision_msgs/Detection2DArray`` (vision_msgs >= 4: oriented boxes through Pose2D.theta).

Imported only where vision_msgs is installed (it is not among the PyPI ROS wheels). One detection per grasp:
the box is the grasp rectangle (size_x = opening width along the closing direction, size_y = jaw size,
theta = grasp angle), ``id`` and the hypothesis class are the object id, the score is the grasp score.
"""

from __future__ import annotations

from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from spgrasp_ros.results import FrameResult


def detections_message(result: FrameResult, header: Header) -> Detection2DArray:
    """Every grasp of ``result`` as one oriented detection, with the image's header."""
    array = Detection2DArray(header=header)
    for grasp in result.grasps:
        detection = Detection2D(header=header, id=str(grasp.object_id))
        detection.bbox.center.position.x, detection.bbox.center.position.y = (float(v) for v in grasp.center)
        detection.bbox.center.theta = float(grasp.angle)
        detection.bbox.size_x, detection.bbox.size_y = float(grasp.width), float(grasp.jaw_size)
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = str(grasp.object_id)
        hypothesis.hypothesis.score = float(grasp.score)
        detection.results.append(hypothesis)
        array.detections.append(detection)
    return array
