"""``video_source_node``: a camera for people without one, or for replay.

Publishes a video file, an image folder, a recorded sequence or a webcam (``spgrasp_ros.cameras.frame_sources``)
as ``image`` (sensor_msgs/Image, rgb8 or bgr8), ``camera_info`` and, for recorded sequences with depth,
``depth`` (32FC1 metres, NaN = no measurement). The messages of one frame share one header (stamp = publish
time); ``depth`` and ``camera_info`` go out before ``image``, so a subscriber acting on the image has them.

A finite source that ends (or ``max_frames`` reached) ends the process with exit code 0; an unusable source or
parameter ends it at once with a message and exit code 1. Parameters: ``config/video_source.yaml``.
"""

from __future__ import annotations

import sys

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from spgrasp_ros.cameras.frame_sources import FrameSource, open_frame_source, pinhole_intrinsics
from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.image_messages import camera_info_msg, depth_to_image, rgb_to_image
from spgrasp_ros.ros.parameters import ParamSpec, at_least, one_of
from spgrasp_ros.ros.sim_time_watch import SimTimeWatch
from spgrasp_ros.ros.spin import run_node

NODE_NAME = "video_source_node"
_RELIABILITY = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}
_INTRINSIC_NAMES = ("fx", "fy", "cx", "cy")


SOURCE_DESCRIPTION = ("what to publish: a video file, an image folder (*.png/*.jpg in name order), a "
                      "recorded sequence folder (with sequence.json), webcam:N, /dev/videoN or a camera "
                      "index N")
# `source` is a string or a camera index (`source:=0` arrives as an integer): read by _read_source, not read()
SOURCE = ParamSpec("source", "", SOURCE_DESCRIPTION, any_type=True)
PARAMETERS = (
    ParamSpec("rate_hz", 0.0, "publishing rate [Hz]; 0 = the source's own (video FPS, sequence fps, 30 for "
              "image folders)", at_least(0.0)),
    ParamSpec("loop", False, "start over at start_frame after the last frame (files only)"),
    ParamSpec("frame_id", "camera_color_optical_frame", "frame_id of every header", params.not_blank),
    ParamSpec("encoding", "rgb8", "encoding of `image`", one_of("rgb8", "bgr8")),
    ParamSpec("fx", 0.0, "focal length x [px]; 0 = from the sequence's camera, else a 60 degree horizontal "
              "field of view", at_least(0.0)),
    ParamSpec("fy", 0.0, "focal length y [px]; 0 = as for fx", at_least(0.0)),
    ParamSpec("cx", 0.0, "principal point x [px]; 0 = from the sequence's camera, else the image centre",
              at_least(0.0)),
    ParamSpec("cy", 0.0, "principal point y [px]; 0 = as for cx", at_least(0.0)),
    ParamSpec("start_frame", 0, "index of the first frame to publish (files only)", at_least(0)),
    ParamSpec("max_frames", 0, "stop after publishing this many frames; 0 = all (forever with loop)",
              at_least(0)),
    ParamSpec("reliability", "reliable", "QoS reliability of image, depth and camera_info (history depth 1)",
              one_of("reliable", "best_effort")),
    ParamSpec("wait_for_subscribers", 0, "hold the first frame until `image` has this many subscribers (replays "
              "that must not lose their start to discovery); 0 = publish at once", at_least(0)),
    ParamSpec("publish_depth", True, "publish `depth` (32FC1 metres) when the source has depth"),
)


class VideoSourceNode(Node):
    """Publishes one frame per timer tick; ``finished`` turns true at the end (``exit_code`` says how)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        params.declare(self, (SOURCE, *PARAMETERS), read_only=True)  # read once, in start()
        self.finished = False
        self.exit_code = 0
        self._source: FrameSource | None = None
        self._published = 0
        self._failed = 0
        self._sim_time = SimTimeWatch(self)  # its frame timer waits for /clock under use_sim_time

    def start(self) -> None:
        """Validate the parameters, open the source, make the publishers and the frame timer.

        Raises ValueError (FrameSourceError included) naming the bad parameter or the unreadable path.
        """
        self._settings = params.read(self, PARAMETERS)
        self._source = open_frame_source(self._read_source(), self._settings["start_frame"],
                                         self._settings["loop"])
        width, height = self._source.size
        fx, fy, cx, cy = self._intrinsics()
        self._camera_info = camera_info_msg(Header(), width, height, fx, fy, cx, cy)
        qos = QoSProfile(depth=1, reliability=_RELIABILITY[self._settings["reliability"]])
        self._depth_pub = None
        if self._source.has_depth and self._settings["publish_depth"]:
            self._depth_pub = self.create_publisher(Image, "depth", qos)
        self._info_pub = self.create_publisher(CameraInfo, "camera_info", qos)
        self._image_pub = self.create_publisher(Image, "image", qos)
        rate = self._settings["rate_hz"] or self._source.fps
        self._timer = self.create_timer(1.0 / rate, self.timer_cb)
        self.get_logger().info(
            f"publishing {self._source.name} ({width}x{height}, {self._settings['encoding']}"
            f"{', with depth' if self._depth_pub else ''}) at {rate:g} Hz, frame_id "
            f"{self._settings['frame_id']}, fx={fx:.1f} fy={fy:.1f} cx={cx:.1f} cy={cy:.1f}")

    def _read_source(self) -> str:
        value = self.get_parameter("source").value
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            kind = type(value).__name__
            raise ValueError(f"invalid parameters: source must be a str, got {kind} {value!r}")
        if not str(value).strip():
            raise ValueError(f"parameter `source` is required: {SOURCE_DESCRIPTION}")
        return str(value)

    def _intrinsics(self) -> tuple[float, float, float, float]:
        """The parameters where set (non-zero), else the source's own, else a centred 60 degree pinhole."""
        derived = self._source.intrinsics or pinhole_intrinsics(self._source.size)
        return tuple(self._settings[name] or value for name, value in zip(_INTRINSIC_NAMES, derived))

    def timer_cb(self) -> None:
        """Read the next frame and publish it; finish at the end of the source or after max_frames."""
        if self.finished:
            return
        if self._published == 0 and self._image_pub.get_subscription_count() < self._settings["wait_for_subscribers"]:
            return  # not everyone is listening yet: the first frame waits
        try:
            frame = self._source.read()
            if frame is None:
                self._finish(f"end of {self._source.name}")
                return
            self.publish_frame(*frame)
        except ValueError as error:  # an unreadable frame (FrameSourceError) or one that cannot be converted
            self._failed += 1
            self.get_logger().error(f"skipped a frame: {error}", throttle_duration_sec=2.0)
            return
        if self._settings["max_frames"] and self._published >= self._settings["max_frames"]:
            self._finish(f"max_frames={self._settings['max_frames']} reached")

    def publish_frame(self, rgb: np.ndarray, depth: np.ndarray | None) -> None:
        """One frame's messages under one header, all made before any goes out: depth, camera_info, image."""
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._settings["frame_id"])
        image = rgb_to_image(rgb, header, self._settings["encoding"])
        depth_msg = None
        if depth is not None and self._depth_pub is not None:
            depth_msg = depth_to_image(depth, header)
        self._camera_info.header = header
        if depth_msg is not None:
            self._depth_pub.publish(depth_msg)
        self._info_pub.publish(self._camera_info)
        self._image_pub.publish(image)
        self._published += 1

    def _finish(self, why: str) -> None:
        self._timer.cancel()
        self.finished = True
        skipped = f", {self._failed} unreadable frames skipped" if self._failed else ""
        if self._published == 0 and self._failed:
            self.exit_code = 1
            self.get_logger().error(f"{why}: no frame could be read{skipped}")
        else:
            self.get_logger().info(f"{why}: published {self._published} frames{skipped}; exiting")

    def destroy_node(self) -> None:
        """Close the source too."""
        if self._source is not None:
            self._source.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Run the node until its source ends or it is interrupted; the process exit code."""
    return run_node(VideoSourceNode, args, start=VideoSourceNode.start)


if __name__ == "__main__":
    sys.exit(main())
