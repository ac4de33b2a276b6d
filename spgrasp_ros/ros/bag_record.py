"""``spgrasp record``: a running session's inputs and outputs to a rosbag2 bag (MCAP by default).

Subscribes, in ``namespace``, to the camera (``image``, ``depth``, ``camera_info``), the tracker's
``grasp_poses`` (spgrasp_ros/msg/GraspArray) and ``spgrasp_tracker/mask`` (mono16), and writes every message
as it arrives until ``duration_s`` has passed or SIGINT / SIGTERM, then closes the bag (metadata.yaml, the MCAP
summary). Subscriptions are raw (``raw=True``): rclpy hands over the middleware's CDR bytes, which go into the
bag unchanged, as ``ros2 bag record`` stores them: nothing is deserialised or re-serialised, so the bag holds
exactly what was on the wire, at no cost per message. Each connection carries the full message definition and
type hash (``ros.bag_types``, this package's messages included), so Foxglove, ``ros2 bag`` and rviz2 tools
decode it. Memory stays bounded: a message is written in its callback (each subscription's history holds at
most ``history`` messages while the writer is busy); log times are the receive times (system clock). ROS and
rosbags are imported when recording starts, so the ``spgrasp`` parser builds without them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

STORAGE_NAMES = ("mcap", "sqlite3")  # ros.bag_frames.STORAGES (imported when recording)
MESSAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo",
                 "spgrasp_ros/msg/GraspArray", "sensor_msgs/msg/Image")  # image, depth, camera_info, grasps, mask


@dataclass(frozen=True)
class RecordConfig:
    """What ``spgrasp record`` records, where and for how long."""

    out: str  # the bag folder to create (it must not exist)
    namespace: str = ""  # the session's namespace ('' = the root)
    image: str = "image"  # topics, relative to the namespace ('' = not recorded)
    depth: str = "depth"
    camera_info: str = "camera_info"
    grasps: str = "grasp_poses"
    mask: str = "spgrasp_tracker/mask"
    duration_s: float = 0.0  # stop after this long [s, steady clock]; 0 = until SIGINT / SIGTERM
    storage: str = "mcap"  # mcap or sqlite3
    best_effort: bool = False  # subscribe best effort (hears best-effort publishers; reliable ones too)
    history: int = 50  # each subscription's queue [messages]


def _topics(config: RecordConfig) -> list[tuple[str, str]]:
    """(relative topic, message type name) of everything to record."""
    wanted = zip((config.image, config.depth, config.camera_info, config.grasps, config.mask), MESSAGE_TYPES)
    return [(topic, msgtype) for topic, msgtype in wanted if topic]


def record(config: RecordConfig, log=print) -> dict[str, int]:
    """Record until the duration has passed or the process is signalled; messages per topic (absolute names).
    ValueError for an unusable output or storage."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from rosbags.rosbag2 import Writer, WriterError
    from sensor_msgs.msg import CameraInfo, Image

    from spgrasp_ros.msg import GraspArray
    from spgrasp_ros.ros.bag_frames import STORAGES
    from spgrasp_ros.ros.bag_types import GRASP_ARRAY, IMAGE, INFO, typestore

    if config.storage not in STORAGES:
        raise ValueError(f"storage {config.storage!r} is not one of {', '.join(STORAGES)}")
    out = Path(config.out).expanduser()
    if out.exists():
        raise ValueError(f"{out} exists already: choose a new folder for the bag")
    classes = {IMAGE: Image, INFO: CameraInfo, GRASP_ARRAY: GraspArray}
    store = typestore()
    rclpy.init(signal_handler_options=SignalHandlerOptions.ALL)  # SIGINT / SIGTERM shut the context down
    node = rclpy.create_node("spgrasp_record", namespace=config.namespace or "/")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    counts: dict[str, int] = {}
    reliability = ReliabilityPolicy.BEST_EFFORT if config.best_effort else ReliabilityPolicy.RELIABLE
    qos = QoSProfile(depth=config.history, reliability=reliability)
    try:
        writer = Writer(out, version=9, storage_plugin=STORAGES[config.storage])
        writer.open()
    except (WriterError, OSError) as error:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        raise ValueError(f"cannot write the bag {out}: {error}") from None
    try:
        for topic, msgtype in _topics(config):
            name = node.resolve_topic_name(topic)  # absolute, in the namespace
            connection = writer.add_connection(name, msgtype, typestore=store)
            counts[name] = 0

            def write(data: bytes, connection=connection, name=name) -> None:
                writer.write(connection, time.time_ns(), data)
                counts[name] += 1

            node.create_subscription(classes[msgtype], topic, write, qos, raw=True)
        log(f"recording {', '.join(counts)} to {out} ({config.storage}); "
            + (f"{config.duration_s:g} s" if config.duration_s else "Ctrl-C to stop"))
        deadline = time.monotonic() + config.duration_s if config.duration_s else None
        while rclpy.ok() and (deadline is None or time.monotonic() < deadline):
            try:
                executor.spin_once(timeout_sec=0.1)
            except (KeyboardInterrupt, ExternalShutdownException):
                break
    finally:
        writer.close()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return counts


def bag_size(path: str | Path) -> int:
    """Bytes of every file in the bag folder."""
    return sum(f.stat().st_size for f in Path(path).expanduser().rglob("*") if f.is_file())
