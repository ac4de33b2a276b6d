"""The test side of a tracker node in its own process: the rig (image publisher, GraspArray / diagnostics /
mask subscribers, prompt, parameter and lifecycle clients), the node process, a synthetic clip, diagnostics
lookups. Shared by the tracker node's test modules."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from ros_harness import RosProcess

NS = "/trk"
SEED = 100123  # a held-out synthetic clip (training uses seeds below 5000)


def rss_kib(pid: int) -> int:
    """The resident memory of process ``pid`` [KiB]."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


class Rig:
    """The test side: image publisher, GraspArray/diagnostics subscribers, prompt and parameter clients."""

    def __init__(self, ros_node, namespace: str = NS) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rcl_interfaces.srv import GetParameters, SetParameters
        from sensor_msgs.msg import Image

        from spgrasp_ros.msg import GraspArray
        from spgrasp_ros.ros.lifecycle_client import LifecycleClient
        from spgrasp_ros.srv import SetPrompt

        self.ros = ros_node
        self.namespace, self.node_name = namespace, f"{namespace}/spgrasp_tracker"
        node = ros_node.node
        self.arrays: list = []
        self.diagnostics: list = []
        self.masks: list = []
        self.publisher = node.create_publisher(Image, f"{namespace}/image", 5)
        node.create_subscription(GraspArray, f"{namespace}/grasp_poses", self.arrays.append, 50)
        node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        node.create_subscription(Image, f"{self.node_name}/mask", self.masks.append, 5)
        self.prompt_client = node.create_client(SetPrompt, f"{namespace}/set_prompt")
        self.param_client = node.create_client(SetParameters, f"{self.node_name}/set_parameters")
        self.get_param_client = node.create_client(GetParameters, f"{self.node_name}/get_parameters")
        self.lifecycle = LifecycleClient(node, ros_node.executor, self.node_name, timeout_s=120)
        self.stamp_sec = 1000

    def image(self, rgb: np.ndarray, encoding: str = "rgb8"):
        from std_msgs.msg import Header

        from spgrasp_ros.ros.image_messages import rgb_to_image

        self.stamp_sec += 1
        header = Header(frame_id="test_camera")
        header.stamp.sec = self.stamp_sec
        msg = rgb_to_image(rgb, header, "rgb8")
        msg.encoding = encoding
        return msg

    def publish(self, rgb: np.ndarray, encoding: str = "rgb8"):
        msg = self.image(rgb, encoding)
        self.publisher.publish(msg)
        return msg

    def prompt(self, boxes=(), points=(), text="", append=False, remove_ids=()):
        from spgrasp_ros.msg import PromptBox, PromptPoint
        from spgrasp_ros.srv import SetPrompt

        request = SetPrompt.Request(
            boxes=[PromptBox(x_min=float(b[0]), y_min=float(b[1]), x_max=float(b[2]), y_max=float(b[3]))
                   for b in boxes],
            points=[PromptPoint(x=float(x), y=float(y), label=int(label), object_index=int(k))
                    for x, y, label, k in points],
            text=text, append=append, remove_ids=list(remove_ids))
        return self.ros.call(self.prompt_client, request, 60)

    def set_parameter(self, name: str, value):
        return self.set_parameters(**{name: value})[0]

    def set_parameters(self, **values) -> list:
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()
                                                    for name, value in values.items()])
        return self.ros.call(self.param_client, request, 30).results

    def get_parameter(self, name: str):
        from rcl_interfaces.srv import GetParameters
        from rclpy.parameter import parameter_value_to_python

        response = self.ros.call(self.get_param_client, GetParameters.Request(names=[name]), 30)
        return parameter_value_to_python(response.values[0])

    def bring_up(self) -> None:
        """Configure (when unconfigured) and activate the node; wait until its topics are matched."""
        from lifecycle_msgs.msg import State

        if self.lifecycle.get_state().id == State.PRIMARY_STATE_UNCONFIGURED:
            assert self.lifecycle.configure().id == State.PRIMARY_STATE_INACTIVE
        if self.lifecycle.get_state().id == State.PRIMARY_STATE_INACTIVE:
            assert self.lifecycle.activate().id == State.PRIMARY_STATE_ACTIVE
        node = self.ros.node
        self.ros.spin_until(lambda: self.publisher.get_subscription_count() > 0, 30,
                            "the tracker's image subscription")
        self.ros.spin_until(lambda: node.count_publishers(f"{self.namespace}/grasp_poses") > 0, 30,
                            "the grasp publisher")
        self.ros.spin_for(0.3)

    def show(self, rgb: np.ndarray):
        """Publish a frame for a following prompt (nothing may be tracked yet, so no GraspArray is awaited)."""
        msg = self.publish(rgb)
        self.ros.spin_for(0.5)
        return msg

    def stream(self, frames: list[np.ndarray], period: float = 0.0, wait_for_each: bool = True) -> list:
        """Publish frames; with ``wait_for_each`` wait for each frame's GraspArray (matched by stamp)."""
        sent = []
        for rgb in frames:
            msg = self.publish(rgb)
            sent.append(msg)
            if wait_for_each:
                stamp = msg.header.stamp.sec
                self.ros.spin_until(lambda: any(a.header.stamp.sec == stamp for a in self.arrays), 60,
                                    f"the GraspArray of the frame stamped {stamp}")
            else:
                self.ros.spin_for(period)
        return sent


def make_clip(seed: int = SEED, frames: int = 16):
    """(frames as (rgb, masks, frame), the object ids, each object's first-frame box) of a two-object clip."""
    from spgrasp_ros.data.synthetic import SynthConfig, generate_clip

    sequence = generate_clip(SynthConfig(frames=frames, min_objects=2, max_objects=2, occlusion_probability=0.0),
                             seed).to_sequence()
    loaded = [(f.load_image(), f.load_masks(), f) for f in sequence.frames]
    ids = [o.object_id for o in sequence.frames[0].objects]
    boxes = {}
    for object_id in ids:
        ys, xs = np.nonzero(loaded[0][1] == object_id)
        boxes[object_id] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    return loaded, ids, boxes


def tracker_process_for(namespace: str, *extra: str) -> RosProcess:
    """The tracker node (bundled demo model, CPU) in its own process under ``namespace``."""
    return RosProcess([sys.executable, "-m", "spgrasp_ros.nodes.tracker_node", "--ros-args",
                       "-r", f"__ns:={namespace}", "-p", "checkpoint:=demo", "-p", "device:=cpu",
                       "-p", "diagnostics_period_s:=0.5", "-p", "image_reliability:=reliable", *extra])


@contextmanager
def running_tracker(namespace: str, *extra: str) -> Iterator[RosProcess]:
    """``tracker_process_for`` while the block runs; then stopped, and its output printed for the test log."""
    process = tracker_process_for(namespace, *extra)
    try:
        yield process
    finally:
        process.stop(timeout=20)
        sys.stdout.write(f"--- tracker node output ---\n{process.output()}\n")


def diagnostic_value(diagnostics, key: str) -> str | None:
    """The value of ``key`` in a DiagnosticArray, or None."""
    for status in diagnostics.status:
        for item in status.values:
            if item.key == key:
                return item.value
    return None
