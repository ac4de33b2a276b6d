"""Test helper process: publishes one GraspArray (from a FrameResult JSON file) at 20 Hz until interrupted.

usage: grasp_array_publisher.py RESULT_JSON TOPIC FRAME_ID STAMP_SEC STAMP_NANOSEC
The message is built by the package's own conversion (spgrasp_ros.ros.conversions.frame_result_to_msg).
"""

import json
import sys

import rclpy
from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from spgrasp_ros.msg import GraspArray
from spgrasp_ros.results import FrameResult
from spgrasp_ros.ros.conversions import frame_result_to_msg
from spgrasp_ros.ros.spin import run_node


def make_node(message: GraspArray, topic: str):
    node = rclpy.create_node("grasp_array_publisher")
    publisher = node.create_publisher(GraspArray, topic, 10)
    node.create_timer(0.05, lambda: publisher.publish(message))
    print("READY", flush=True)
    return node


def main() -> int:
    path, topic, frame_id, sec, nanosec = sys.argv[1:6]
    with open(path) as f:
        result = FrameResult.from_dict(json.load(f))
    header = Header(stamp=Time(sec=int(sec), nanosec=int(nanosec)), frame_id=frame_id)
    return run_node(lambda: make_node(frame_result_to_msg(result, header), topic))


if __name__ == "__main__":
    sys.exit(main())
