"""``bag_source_node``: replays the camera of a rosbag2 bag (MCAP or sqlite3) as a live camera would publish it.

Reads the bag lazily through ``ros.bag_frames.CameraBag`` (rosbags; no ``ros2 bag`` needed) and publishes, per
recorded colour frame, ``depth`` (32FC1 metres: recorded 32FC1 as is, 16UC1 millimetres converted),
``camera_info`` (as recorded) and then ``image`` (a raw Image as recorded: rgb8, bgr8, bgra8, rgba8 or mono8;
a CompressedImage decoded to rgb8), with the RECORDED header stamps and frame ids (``frame_id`` overrides
them). Frames go out on the recorded time line scaled by ``rate`` (``cameras.replay_schedule``), paced on the
steady clock (this node never follows /clock itself). With ``publish_clock`` it publishes ``/clock``
(rosgraph_msgs/Clock) along that time line, ``clock_hz`` times a second and at every frame, so nodes with
``use_sim_time`` see the recorded time; with ``loop`` every loop's stamps and clock are shifted by the bag's
length (plus one frame period), so both keep rising and no stamp repeats.

The end of the bag (or ``max_frames``) ends the process with exit code 0. An unreadable bag, a missing topic,
a topic of another type or an unsupported encoding (checked on the first frame) ends it at once with one line
naming the bag and the topic, exit code 1; a later frame that cannot be converted is skipped, logged and
counted. Parameters: ``config/bag_source.yaml``.
"""

from __future__ import annotations

import sys
import time

from rclpy.clock import Clock, ClockType
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rclpy.time import Time
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from spgrasp_ros.cameras.replay_schedule import BagReplaySettings, ReplaySchedule
from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.bag_frames import BagRecord, BagTopics, CameraBag
from spgrasp_ros.ros.bag_types import COMPRESSED
from spgrasp_ros.ros.image_messages import (
    SUPPORTED_ENCODINGS,
    UnsupportedEncoding,
    compressed_to_rgb,
    depth_to_image,
    depth_to_metres,
    rgb_to_image,
)
from spgrasp_ros.ros.parameters import ParamSpec, at_least, in_range, one_of
from spgrasp_ros.ros.spin import run_node

NODE_NAME = "bag_source_node"
TICK_S = 0.005  # the replay timer's period [s]: frames go out at most this late
ACK_TIMEOUT_S = 1.0  # at the end, how long each publisher waits for reliable subscribers to acknowledge
_RELIABILITY = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}


def _required(value: str) -> str | None:
    return None if value.strip() else "is required: the rosbag2 folder to replay (or a .mcap / .db3 file in it)"


def _topic(value: str) -> str | None:
    return None if value == "" or value.strip() == value and " " not in value else \
        f"must be a topic name or '' (none), got {value!r}"


_D = BagReplaySettings()  # the one source of the defaults
PARAMETERS = (
    ParamSpec("bag", _D.bag, "the rosbag2 bag to replay: its folder (with metadata.yaml) or a storage file in it",
              _required),
    ParamSpec("image_topic", _D.image_topic, "colour topic in the bag: sensor_msgs/Image (rgb8, bgr8, bgra8, rgba8, "
              "mono8; published as recorded) or CompressedImage (published decoded, rgb8); e.g. "
              "/zed/zed_node/rgb/image_rect_color for a zed-ros2-wrapper bag", params.not_blank),
    ParamSpec("depth_topic", _D.depth_topic, "registered depth topic in the bag (32FC1 metres or 16UC1 "
              "millimetres; published as 32FC1); '' = replay without depth", _topic),
    ParamSpec("camera_info_topic", _D.camera_info_topic, "camera_info topic in the bag; '' = replay without",
              _topic),
    ParamSpec("rate", _D.rate, "replay speed: 1.0 = as recorded, 2.0 = twice as fast, 0.5 = half",
              in_range(0.01, 100.0)),
    ParamSpec("loop", _D.loop, "start over after the last frame; stamps and /clock are shifted by the bag's "
              "length per loop, so they keep rising"),
    ParamSpec("publish_clock", _D.publish_clock, "publish /clock from the recorded stamps (for nodes with "
              "use_sim_time); false when something else publishes /clock"),
    ParamSpec("clock_hz", _D.clock_hz, "how often /clock is published between frames [Hz]", in_range(1.0, 1000.0)),
    ParamSpec("frame_id", _D.frame_id, "frame_id of every header; '' = as recorded"),
    ParamSpec("max_frames", _D.max_frames, "stop after publishing this many frames; 0 = all (forever with loop)",
              at_least(0)),
    ParamSpec("reliability", _D.reliability, "QoS reliability of image, depth and camera_info",
              one_of("reliable", "best_effort")),
    ParamSpec("history_depth", _D.history_depth, "QoS history depth of image, depth and camera_info: frames kept "
              "for reliable subscribers that are slow to acknowledge (a recorder of large images)", in_range(1, 100)),
    ParamSpec("wait_for_subscribers", _D.wait_for_subscribers, "hold the first frame until `image` has this many "
              "subscribers (the recorded start is not lost to discovery); 0 = publish at once", at_least(0)),
)


def _absolute(topic: str) -> str:
    return topic if not topic or topic.startswith("/") else f"/{topic}"


class BagSourceNode(Node):
    """Publishes each recorded frame when it is due; ``finished`` turns true at the end (``exit_code`` says how)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        params.declare(self, PARAMETERS, read_only=True)  # read once, in start()
        self.finished = False
        self.exit_code = 0
        self._bag: CameraBag | None = None
        self._published = 0
        self._failed = 0
        self._next = None  # the next frame's messages, converted ahead of its time

    def start(self) -> None:
        """Validate the parameters, open and check the bag, convert its first frame, make the publishers and the
        replay timer. Raises ValueError naming the bad parameter, or the bag and topic at fault."""
        self._settings = s = params.read(self, PARAMETERS)
        topics = BagTopics(_absolute(s["image_topic"]), _absolute(s["depth_topic"]), _absolute(s["camera_info_topic"]))
        self._bag = CameraBag(s["bag"], topics)
        if self._bag.count == 0:
            raise ValueError(f"bag {self._bag.path}: {topics.image} holds no messages")
        self._schedule = ReplaySchedule(s["rate"])
        self._records = self._bag.records()
        first = next(self._records, None)
        if first is None:
            raise ValueError(f"bag {self._bag.path}: {topics.image} holds no messages")
        self._next = self._convert(first)  # an unusable encoding fails here, before anything runs
        qos = QoSProfile(depth=s["history_depth"], reliability=_RELIABILITY[s["reliability"]])
        self._depth_pub = self.create_publisher(Image, "depth", qos) if topics.depth else None
        self._info_pub = self.create_publisher(CameraInfo, "camera_info", qos) if topics.camera_info else None
        self._image_pub = self.create_publisher(Image, "image", qos)
        self._clock_pub = self.create_publisher(ClockMsg, "/clock", 10) if s["publish_clock"] else None
        self._clock_due = 0.0
        self._timer = self.create_timer(TICK_S, self.timer_cb, clock=Clock(clock_type=ClockType.STEADY_TIME))
        image = self._next[0]
        self.get_logger().info(
            f"replaying {self._bag.count} frames of {self._bag.path} ({topics.image}: {self._bag.image_type}, "
            f"{image.width}x{image.height} {image.encoding}; depth {topics.depth or 'none'}, camera_info "
            f"{topics.camera_info or 'none'}) at {s['rate']:g}x recorded speed{', looping' if s['loop'] else ''}"
            f"{', publishing /clock' if self._clock_pub else ''}")

    def _convert(self, record: BagRecord) -> tuple[Image, Image | None, CameraInfo | None, int]:
        """The messages of one record as they go out, with their (loop-shifted) stamps, and the recorded stamp.
        ValueError naming the bag, topic and stamp when one cannot be converted."""
        stamp = Time(nanoseconds=self._schedule.stamp(record.stamp_ns)).to_msg()
        topic = record.image.topic
        try:
            if record.image.msgtype == COMPRESSED:
                image = rgb_to_image(compressed_to_rgb(record.image.message), Header(), "rgb8")
                image.header.frame_id = record.image.message.header.frame_id
            else:
                if record.image.message.encoding not in SUPPORTED_ENCODINGS:
                    raise UnsupportedEncoding(f"unsupported image encoding {record.image.message.encoding!r}; "
                                              f"supported: {', '.join(SUPPORTED_ENCODINGS)}")
                image = deserialize_message(record.image.raw, Image)
            depth = info = None
            if record.depth is not None:
                topic = record.depth.topic
                if record.depth.message.encoding == "32FC1":
                    depth = deserialize_message(record.depth.raw, Image)
                else:  # 16UC1 millimetres (anything else raises UnsupportedEncoding)
                    depth = depth_to_image(depth_to_metres(record.depth.message), Header())
                    depth.header.frame_id = record.depth.message.header.frame_id
            if record.camera_info is not None:
                info = deserialize_message(record.camera_info.raw, CameraInfo)
        except ValueError as error:
            raise ValueError(f"bag {self._bag.path}: {topic} stamped {record.stamp_ns} ns: {error}") from None
        override = self._settings["frame_id"]
        for message in (image, depth, info):
            if message is not None:
                message.header.stamp = stamp  # camera_info: the frame's stamp (it may have been recorded apart)
                message.header.frame_id = override or message.header.frame_id
        if info is not None and not override:
            info.header.frame_id = image.header.frame_id
        return image, depth, info, record.stamp_ns

    def timer_cb(self) -> None:
        """Publish /clock when due, and the next frame when due; finish at the end or after max_frames."""
        if self.finished:
            return
        now = time.monotonic()
        started = self._schedule.started
        if not started and self._image_pub.get_subscription_count() < self._settings["wait_for_subscribers"]:
            self._publish_clock(now, self._next[3] + self._schedule.offset_ns)  # the clock stands at the start
            return
        if not started:
            self._schedule.start(now, self._next[3])
        if now < self._schedule.due_s(self._next[3]):
            self._publish_clock(now)
            return
        image, depth, info, _ = self._next
        self._publish_clock(now, Time.from_msg(image.header.stamp).nanoseconds, force=True)
        if depth is not None:
            self._depth_pub.publish(depth)
        if info is not None:
            self._info_pub.publish(info)
        self._image_pub.publish(image)
        self._published += 1
        if self._settings["max_frames"] and self._published >= self._settings["max_frames"]:
            self._finish(f"max_frames={self._settings['max_frames']} reached")
            return
        self._advance()

    def _advance(self) -> None:
        """Convert the next frame (starting over at the end with loop); finish at the end without."""
        self._next = None
        while self._next is None:
            record = next(self._records, None)
            if record is None:
                if not self._settings["loop"]:
                    self._finish(f"end of {self._bag.path}")
                    return
                self._schedule.next_loop()
                self._records = self._bag.records()
                continue
            try:
                self._next = self._convert(record)
            except ValueError as error:
                self._failed += 1
                self.get_logger().error(f"skipped a frame: {error}", throttle_duration_sec=2.0)

    def _publish_clock(self, now: float, at_least_ns: int = 0, force: bool = False) -> None:
        if self._clock_pub is None or (not force and now < self._clock_due):
            return
        self._clock_due = now + 1.0 / self._settings["clock_hz"]
        clock = self._schedule.clock_ns(now, at_least_ns)
        self._clock_pub.publish(ClockMsg(clock=Time(nanoseconds=clock).to_msg()))

    def _finish(self, why: str) -> None:
        self._timer.cancel()
        self.finished = True
        for publisher in (self._depth_pub, self._info_pub, self._image_pub):  # the last frame reaches recorders
            if publisher is not None and self._settings["reliability"] == "reliable":
                publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT_S))
        skipped = f", {self._failed} unreadable frames skipped" if self._failed else ""
        loops = f" in {self._schedule.loops + 1} loops" if self._schedule.loops else ""
        self.get_logger().info(f"{why}: published {self._published} frames{loops}{skipped}; exiting")

    def destroy_node(self) -> None:
        """Close the bag too."""
        if self._bag is not None:
            self._bag.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Run the node until its bag ends or it is interrupted; the process exit code."""
    return run_node(BagSourceNode, args, start=BagSourceNode.start)


if __name__ == "__main__":
    sys.exit(main())
