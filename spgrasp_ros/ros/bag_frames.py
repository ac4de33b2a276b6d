"""Camera frames in rosbag2 files (MCAP or sqlite3), read and written with the ``rosbags`` library (no ROS
install needed): colour (sensor_msgs/Image or CompressedImage), registered depth and camera_info, with their
recorded stamps and frame ids.

Reading pairs each colour message with the depth and camera_info of its stamp (the newest camera_info when no
stamp matches); it holds at most one colour frame and ``PAIRING_WINDOW`` depth images at a time, so a bag of
any length is read in bounded memory. Messages are decoded with the same rules as live ones
(``ros.image_messages``; rosbags' message classes carry the same fields). Errors name the bag and the topic.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from spgrasp_ros.ros import image_messages

TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
IMAGE, COMPRESSED, INFO = "sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/CameraInfo"
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
PAIRING_WINDOW = 16  # depth images kept while waiting for their colour frame


@dataclass(frozen=True)
class BagTopics:
    """Which topics hold the camera; '' = none (colour is required)."""

    image: str = "/image"  # sensor_msgs/Image or sensor_msgs/CompressedImage
    depth: str = "/depth"  # sensor_msgs/Image 32FC1 metres or 16UC1 millimetres
    camera_info: str = "/camera_info"


@dataclass(frozen=True)
class BagFrame:
    """One colour frame with what was recorded beside it."""

    stamp_ns: int  # header stamp [ns]
    frame_id: str
    rgb: np.ndarray  # [H, W, 3] uint8
    depth: np.ndarray | None = None  # [H, W] float32 metres, NaN = no measurement
    intrinsics: tuple[float, float, float, float] | None = None  # fx, fy, cx, cy [px]


def _header(stamp_ns: int, frame_id: str):
    time = TYPESTORE.types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return TYPESTORE.types["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)


def _image(header, pixels: np.ndarray, encoding: str):
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    return TYPESTORE.types[IMAGE](header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
                                  step=pixels.strides[0], data=pixels.reshape(-1).view(np.uint8))


def _camera_info(header, width: int, height: int, intrinsics: tuple[float, float, float, float]):
    fx, fy, cx, cy = intrinsics
    info = TYPESTORE.types[INFO]
    roi = TYPESTORE.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                              do_rectify=False)
    return info(header=header, height=height, width=width, distortion_model="plumb_bob", d=np.zeros(5),
                k=np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1.0]), r=np.eye(3).reshape(-1),
                p=np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1.0, 0]), binning_x=0, binning_y=0, roi=roi)


def write_bag(path: str | Path, frames: Iterable[BagFrame], topics: BagTopics = BagTopics(),
              storage: str = "mcap") -> Path:
    """Write ``frames`` as a rosbag2 folder at ``path`` (rgb8 colour, 32FC1 depth and camera_info where the
    frame has them, each at its stamp); returns the path. ValueError for an unknown storage."""
    if storage not in STORAGES:
        raise ValueError(f"storage {storage!r} is not one of {', '.join(STORAGES)}")
    path = Path(path)
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        image = writer.add_connection(topics.image, IMAGE, typestore=TYPESTORE)
        depth = writer.add_connection(topics.depth, IMAGE, typestore=TYPESTORE) if topics.depth else None
        info = writer.add_connection(topics.camera_info, INFO, typestore=TYPESTORE) if topics.camera_info else None
        for frame in frames:
            header = _header(frame.stamp_ns, frame.frame_id)
            height, width = frame.rgb.shape[:2]
            if depth is not None and frame.depth is not None:
                message = _image(header, frame.depth.astype(np.float32), "32FC1")
                writer.write(depth, frame.stamp_ns, TYPESTORE.serialize_cdr(message, IMAGE))
            if info is not None and frame.intrinsics is not None:
                message = _camera_info(header, width, height, frame.intrinsics)
                writer.write(info, frame.stamp_ns, TYPESTORE.serialize_cdr(message, INFO))
            writer.write(image, frame.stamp_ns, TYPESTORE.serialize_cdr(_image(header, frame.rgb, "rgb8"), IMAGE))
    return path


def _stamp_ns(message) -> int:
    return int(message.header.stamp.sec) * 10**9 + int(message.header.stamp.nanosec)


def read_bag_frames(path: str | Path, topics: BagTopics = BagTopics()) -> Iterator[BagFrame]:
    """The colour frames of the bag at ``path`` in recorded order, each with its depth and intrinsics (None
    where none were recorded). ValueError naming the bag or topic when it cannot be read."""
    path = Path(path).expanduser()
    try:
        reader = Reader(path)
        reader.open()
    except (ReaderError, OSError) as error:
        raise ValueError(f"bag {path}: cannot be read ({error})") from None
    try:
        by_topic = {c.topic: c for c in reader.connections}
        if topics.image not in by_topic:
            raise ValueError(f"bag {path}: no topic {topics.image!r} (it has: {', '.join(sorted(by_topic))})")
        if by_topic[topics.image].msgtype not in (IMAGE, COMPRESSED):
            raise ValueError(f"bag {path}: {topics.image} holds {by_topic[topics.image].msgtype}, not an image")
        wanted = [by_topic[t] for t in (topics.image, topics.depth, topics.camera_info) if t and t in by_topic]
        yield from _frames(reader.messages(connections=wanted), topics, path)
    finally:
        reader.close()


def _frames(messages, topics: BagTopics, path: Path) -> Iterator[BagFrame]:
    depths: collections.OrderedDict[int, object] = collections.OrderedDict()
    info, pending = None, None
    for connection, _, raw in messages:
        message = TYPESTORE.deserialize_cdr(raw, connection.msgtype)
        if connection.topic == topics.image:
            if pending is not None:
                yield _frame(pending, depths, info, path)
            pending = message
        elif connection.topic == topics.depth:
            depths[_stamp_ns(message)] = message
            while len(depths) > PAIRING_WINDOW:
                depths.popitem(last=False)
        else:
            info = message
    if pending is not None:
        yield _frame(pending, depths, info, path)


def _frame(message, depths, info, path: Path) -> BagFrame:
    stamp = _stamp_ns(message)
    try:
        if message.__msgtype__ == COMPRESSED:
            rgb = image_messages.compressed_to_rgb(message)
        else:
            rgb = np.array(image_messages.image_to_rgb(message))
        depth = depths.get(stamp)
        depth_m = image_messages.depth_to_metres(depth) if depth is not None else None
        intrinsics = image_messages.intrinsics_from_camera_info(info) if info is not None else None
    except ValueError as error:
        raise ValueError(f"bag {path}: the frame stamped {stamp} ns: {error}") from None
    return BagFrame(stamp, message.header.frame_id, rgb, depth_m, intrinsics)
