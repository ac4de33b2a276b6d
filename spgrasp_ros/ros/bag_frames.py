"""Camera frames in rosbag2 files (MCAP or sqlite3), read and written with the ``rosbags`` library (no ROS
install needed): colour (sensor_msgs/Image or CompressedImage), registered depth and camera_info, with their
recorded stamps and frame ids.

Reading (``CameraBag``) checks first that every topic asked for is in the bag with a type it can use, then
pairs each colour message with the depth of its stamp and the newest camera_info; it holds at most one colour
frame and ``PAIRING_WINDOW`` depth images at a time, so a bag of any length is read in bounded memory. A
``BagRecord`` keeps the recorded CDR bytes beside rosbags' message (a replay republishes them as recorded);
``read_bag_frames`` decodes them with the same rules as live messages (``ros.image_messages``; rosbags'
message classes carry the same fields). Errors name the bag and the topic. A bag is a rosbag2 folder (with
``metadata.yaml``); a path to a file inside one stands for its folder.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer

from spgrasp_ros.ros import image_messages
from spgrasp_ros.ros.bag_types import COMPRESSED, IMAGE, INFO, typestore

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


@dataclass(frozen=True)
class BagMessage:
    """One recorded message: its CDR bytes as recorded and rosbags' deserialised copy of them."""

    topic: str
    msgtype: str  # e.g. sensor_msgs/msg/Image
    raw: bytes
    message: object  # rosbags' message class: the fields of the ROS message


@dataclass(frozen=True)
class BagRecord:
    """One colour message with the depth of its stamp and the newest camera_info (None: none recorded)."""

    stamp_ns: int  # the colour message's header stamp [ns]
    image: BagMessage  # sensor_msgs/Image or sensor_msgs/CompressedImage
    depth: BagMessage | None
    camera_info: BagMessage | None


def _header(stamp_ns: int, frame_id: str):
    store = typestore()
    time = store.types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return store.types["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)


def _image(header, pixels: np.ndarray, encoding: str):
    store = typestore()
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    return store.types[IMAGE](header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
                                  step=pixels.strides[0], data=pixels.reshape(-1).view(np.uint8))


def _camera_info(header, width: int, height: int, intrinsics: tuple[float, float, float, float]):
    fx, fy, cx, cy = intrinsics
    store = typestore()
    info = store.types[INFO]
    roi = store.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                              do_rectify=False)
    return info(header=header, height=height, width=width, distortion_model="plumb_bob", d=np.zeros(5),
                k=np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1.0]), r=np.eye(3).reshape(-1),
                p=np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1.0, 0]), binning_x=0, binning_y=0, roi=roi)


COLOUR_FORMATS = ("rgb8", "bgr8", "png", "jpeg")  # how write_bag stores colour: raw Image, or CompressedImage


def _colour(header, rgb: np.ndarray, colour: str):
    """The colour message of ``rgb`` ([H, W, 3] uint8) in one of COLOUR_FORMATS, and its type."""
    if colour in ("rgb8", "bgr8"):
        return _image(header, rgb if colour == "rgb8" else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), colour), IMAGE
    ok, data = cv2.imencode(".png" if colour == "png" else ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"cannot encode a {list(rgb.shape)} image as {colour}")
    return typestore().types[COMPRESSED](header=header, format=colour, data=data.reshape(-1)), COMPRESSED


def _depth(header, depth_m: np.ndarray, encoding: str):
    """A depth Image: 32FC1 metres (NaN kept) or 16UC1 millimetres (NaN, <= 0 and > 65.535 m -> 0)."""
    if encoding == "32FC1":
        return _image(header, depth_m.astype(np.float32), "32FC1")
    mm = np.round(np.nan_to_num(depth_m.astype(np.float64), nan=0.0) * 1000.0)
    return _image(header, np.where((mm > 0) & (mm <= 65535), mm, 0).astype(np.uint16), "16UC1")


def write_bag(path: str | Path, frames: Iterable[BagFrame], topics: BagTopics = BagTopics(),
              storage: str = "mcap", colour: str = "rgb8", depth_encoding: str = "32FC1") -> Path:
    """Write ``frames`` as a rosbag2 folder at ``path`` (colour as ``colour``: rgb8 / bgr8 Image or png /
    jpeg CompressedImage; depth as 32FC1 metres or 16UC1 millimetres, and camera_info, where the frame has
    them; each at its stamp); returns the path. ValueError for an unknown storage, colour format or depth
    encoding, or a path that exists."""
    if storage not in STORAGES:
        raise ValueError(f"storage {storage!r} is not one of {', '.join(STORAGES)}")
    if colour not in COLOUR_FORMATS:
        raise ValueError(f"colour format {colour!r} is not one of {', '.join(COLOUR_FORMATS)}")
    if depth_encoding not in ("32FC1", "16UC1"):
        raise ValueError(f"depth encoding {depth_encoding!r} is not 32FC1 or 16UC1")
    path = Path(path)
    if path.exists():
        raise ValueError(f"{path} exists already: choose a new folder for the bag")
    store = typestore()
    colour_type = IMAGE if colour in ("rgb8", "bgr8") else COMPRESSED
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        image = writer.add_connection(topics.image, colour_type, typestore=store)
        depth = writer.add_connection(topics.depth, IMAGE, typestore=store) if topics.depth else None
        info = writer.add_connection(topics.camera_info, INFO, typestore=store) if topics.camera_info else None
        for frame in frames:
            header = _header(frame.stamp_ns, frame.frame_id)
            height, width = frame.rgb.shape[:2]
            if depth is not None and frame.depth is not None:
                message = _depth(header, frame.depth, depth_encoding)
                writer.write(depth, frame.stamp_ns, store.serialize_cdr(message, IMAGE))
            if info is not None and frame.intrinsics is not None:
                message = _camera_info(header, width, height, frame.intrinsics)
                writer.write(info, frame.stamp_ns, store.serialize_cdr(message, INFO))
            message, msgtype = _colour(header, frame.rgb, colour)
            writer.write(image, frame.stamp_ns, store.serialize_cdr(message, msgtype))
    return path


def _stamp_ns(message) -> int:
    return int(message.header.stamp.sec) * 10**9 + int(message.header.stamp.nanosec)


def bag_folder(path: str | Path) -> Path:
    """The rosbag2 folder of ``path``: the path itself, or the folder of a storage file inside one."""
    path = Path(path).expanduser()
    return path.parent if path.is_file() and (path.parent / "metadata.yaml").is_file() else path


class CameraBag:
    """An open bag whose camera topics were checked; ``records()`` replays them (again on each call).

    ValueError naming the bag and the topic: the bag cannot be read, a topic asked for (not '') is not in it,
    or holds another type (colour: Image or CompressedImage; depth: Image; camera_info: CameraInfo).
    """

    def __init__(self, path: str | Path, topics: BagTopics = BagTopics()) -> None:
        self.path = bag_folder(path)
        self.topics = topics
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except (ReaderError, OSError) as error:
            raise ValueError(f"bag {self.path}: cannot be read ({error})") from None
        try:
            self._connections = self._check(topics)
        except ValueError:
            self._reader.close()
            raise

    def _check(self, topics: BagTopics) -> list:
        by_topic = {c.topic: c for c in self._reader.connections}
        wanted = []
        for role, topic, types in (("colour", topics.image, (IMAGE, COMPRESSED)), ("depth", topics.depth, (IMAGE,)),
                                   ("camera_info", topics.camera_info, (INFO,))):
            if not topic and role != "colour":
                continue
            if topic not in by_topic:
                hint = "" if role == "colour" else f"; '' replays without {role}"
                raise ValueError(f"bag {self.path}: no topic {topic!r} (it has: {', '.join(sorted(by_topic))}){hint}")
            if by_topic[topic].msgtype not in types:
                what = "an image" if role == "colour" else f"a {' or '.join(types)} ({role})"
                raise ValueError(f"bag {self.path}: {topic} holds {by_topic[topic].msgtype}, not {what}")
            wanted.append(by_topic[topic])
        self.count = sum(c.msgcount for c in wanted[:1])  # colour messages
        self.image_type = wanted[0].msgtype
        return wanted

    def records(self) -> Iterator[BagRecord]:
        """The colour messages in recorded order, each with its depth and camera_info."""
        depths: collections.OrderedDict[int, BagMessage] = collections.OrderedDict()
        store = typestore()
        info, pending = None, None
        for connection, _, raw in self._reader.messages(connections=self._connections):
            item = BagMessage(connection.topic, connection.msgtype, bytes(raw),
                              store.deserialize_cdr(raw, connection.msgtype))
            if connection.topic == self.topics.image:
                if pending is not None:
                    yield BagRecord(_stamp_ns(pending.message), pending, depths.get(_stamp_ns(pending.message)), info)
                pending = item
            elif connection.topic == self.topics.depth:
                depths[_stamp_ns(item.message)] = item
                while len(depths) > PAIRING_WINDOW:
                    depths.popitem(last=False)
            else:
                info = item
        if pending is not None:
            yield BagRecord(_stamp_ns(pending.message), pending, depths.get(_stamp_ns(pending.message)), info)

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> "CameraBag":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_bag_frames(path: str | Path, topics: BagTopics = BagTopics()) -> Iterator[BagFrame]:
    """The colour frames of the bag at ``path`` in recorded order, each with its depth and intrinsics (None
    where none were recorded beside it). ValueError naming the bag and the topic when it cannot be read."""
    with CameraBag(path, topics) as bag:
        for record in bag.records():
            yield decode_record(record, bag.path)


def decode_record(record: BagRecord, path: Path) -> BagFrame:
    """A record as arrays; ValueError naming the bag, the topic and the stamp when a message cannot be read
    (an unsupported encoding, sizes that do not add up, data that does not decode)."""
    message, topic = record.image.message, record.image.topic
    try:
        if record.image.msgtype == COMPRESSED:
            rgb = image_messages.compressed_to_rgb(message)
        else:
            rgb = np.array(image_messages.image_to_rgb(message))
        depth = None
        if record.depth is not None:
            topic = record.depth.topic
            depth = image_messages.depth_to_metres(record.depth.message)
        intrinsics = None
        if record.camera_info is not None:
            topic = record.camera_info.topic
            intrinsics = image_messages.intrinsics_from_camera_info(record.camera_info.message)
    except ValueError as error:
        raise ValueError(f"bag {path}: {topic} stamped {record.stamp_ns} ns: {error}") from None
    return BagFrame(record.stamp_ns, message.header.frame_id, rgb, depth, intrinsics)
