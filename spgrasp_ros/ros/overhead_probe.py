"""What the tracker node adds around the model per frame: message -> array -> tensor, and GraspArray + mask out.

Runs the node's own conversion and publishing code on a real rclpy node (publishers with a live subscriber in
the same process, so messages are really serialised and delivered) for synthetic frames of a given size; the
model stage is excluded. ``spgrasp bench --ros-overhead`` prints and writes the figures.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from spgrasp_ros.results import FrameResult, Grasp, ObjectState
from spgrasp_ros.timing import summarise
from spgrasp_ros.tracker.readout import TrackerOutput


def _fake_result(width: int, height: int, objects: int, grasps_per_object: int) -> FrameResult:
    """A result of the size the tracker produces (the values do not matter for the cost)."""
    rng = np.random.default_rng(0)
    states = tuple(ObjectState(i + 1, True, 0.9, 5000, (10.0, 10.0, 200.0, 200.0), 5, 0) for i in range(objects))
    grasps = tuple(Grasp(i + 1, float(rng.uniform()), (float(rng.uniform(0, width)), float(rng.uniform(0, height))),
                         float(rng.uniform(-1.5, 1.5)), 40.0, 20.0)
                   for i in range(objects) for _ in range(grasps_per_object))
    return FrameResult((width, height), 1, states, grasps)


def measure_ros_overhead(width: int = 1280, height: int = 720, objects: int = 2, frames: int = 200,
                         encoding: str = "bgr8") -> dict:
    """Per-frame milliseconds of each ROS-side stage of the tracker node, model excluded: ``timing.summarise``
    per stage with ``_ms`` names (``median_ms``, ``p90_ms``, ``p99_ms``, ...), and how many messages arrived."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from spgrasp_ros.msg import GraspArray
    from spgrasp_ros.ros.conversions import frame_result_to_msg
    from spgrasp_ros.ros.image_messages import image_to_rgb, labels_to_mono16, rgb_to_image

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("spgrasp_overhead_probe", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received = {"grasps": 0, "mask": 0}
    depth = max(10, frames)  # keep every message: the probe checks that all of them arrive
    grasp_pub = node.create_publisher(GraspArray, "probe/grasp_poses", depth)
    mask_pub = node.create_publisher(Image, "probe/mask", depth)

    def counter(key: str):
        return lambda _msg: received.__setitem__(key, received[key] + 1)

    node.create_subscription(GraspArray, "probe/grasp_poses", counter("grasps"), depth)
    node.create_subscription(Image, "probe/mask", counter("mask"), depth)
    rgb = np.random.default_rng(1).integers(0, 255, (height, width, 3), np.uint8)
    header = Header(frame_id="camera")
    message = rgb_to_image(rgb, header, encoding if encoding in ("rgb8", "bgr8") else "rgb8")
    result = _fake_result(width, height, objects, 5)
    masks = np.zeros((objects, height, width), bool)
    for k in range(objects):
        masks[k, 100 + 50 * k:300 + 50 * k, 200:400] = True
    output = TrackerOutput(result, masks)  # what the node publishes from, as the tracker returns it
    stages: dict[str, list[float]] = {"image_to_array": [], "array_to_tensor": [], "grasp_array_publish": [],
                                      "mask_publish": []}
    try:
        for _ in range(frames):
            t0 = time.perf_counter()
            array = image_to_rgb(message)
            t1 = time.perf_counter()
            tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0)
            t2 = time.perf_counter()
            grasp_pub.publish(frame_result_to_msg(result, header))
            t3 = time.perf_counter()
            mask_pub.publish(labels_to_mono16(output.label_image(), header))
            t4 = time.perf_counter()
            for name, start, end in zip(stages, (t0, t1, t2, t3), (t1, t2, t3, t4)):
                stages[name].append((end - start) * 1000.0)
            executor.spin_once(timeout_sec=0)
            del tensor
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and min(received.values()) < frames:
            executor.spin_once(timeout_sec=0.01)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    total = [sum(values) for values in zip(*stages.values())]
    summary = {name: {f"{key}_ms": value for key, value in summarise(v).items()}
               for name, v in {**stages, "total": total}.items()}
    return {"resolution": [width, height], "encoding": encoding, "objects": objects, "frames": frames,
            "delivered": dict(received), "stages": summary}
