"""Registered depth and camera intrinsics for a colour frame, paired by stamp (the tracker node's depth input).

Depth images wait in a small ``cameras.stamp_pairing.StampBuffer``; a colour frame takes the one with its
stamp, else the nearest within a tolerance. The latest CameraInfo gives the intrinsics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from spgrasp_ros.cameras.stamp_pairing import StampBuffer
from spgrasp_ros.ros.image_messages import depth_to_metres, intrinsics_from_camera_info


@dataclass(frozen=True)
class Paired:
    """The outcome of pairing one frame: depth [m] + (fx, fy, cx, cy), or why there is none."""

    depth: tuple[np.ndarray, tuple[float, float, float, float]] | None
    missing: str = ""  # "depth image" / "camera_info" when nothing paired (counted as a frame without depth)
    depth_seen: bool = False  # the missing input has arrived before (a miss is a pairing problem, not absence)
    unusable: str = ""  # the paired depth or camera_info could not be read


class DepthPairing:
    """Depth images and the latest camera_info; ``pair`` finds a colour frame's depth."""

    def __init__(self, capacity: int = 8) -> None:
        self._depths: StampBuffer[Image] = StampBuffer(capacity)
        self._info: CameraInfo | None = None
        self._depth_arrived = False

    def put_depth(self, msg: Image) -> None:
        """A registered depth image (32FC1 m or 16UC1 mm)."""
        self._depths.put(Time.from_msg(msg.header.stamp).nanoseconds, msg)
        self._depth_arrived = True

    def put_info(self, msg: CameraInfo) -> None:
        """The camera's intrinsics (the latest is used)."""
        self._info = msg

    def pair(self, header: Header, tolerance_s: float) -> Paired:
        """The depth of the frame with ``header``: its stamp, else the nearest within ``tolerance_s``."""
        info = self._info
        depth = self._depths.match(Time.from_msg(header.stamp).nanoseconds, int(tolerance_s * 1e9))
        if info is None:  # the latest is kept: none ever arrived
            return Paired(None, "camera_info", depth_seen=False)
        if depth is None:
            return Paired(None, "depth image", depth_seen=self._depth_arrived)
        try:
            return Paired((depth_to_metres(depth), intrinsics_from_camera_info(info)))
        except ValueError as error:
            return Paired(None, unusable=str(error))


class DepthWarnings:
    """What the tracker says about missing depth: once when depth (or camera_info) never arrived, with what to
    do; at most once per ``error_log_period_s`` when depth flows but a frame found none within the tolerance."""

    def __init__(self, resolve_topic: Callable[[str], str]) -> None:
        self._resolve_topic = resolve_topic  # a node's resolve_topic_name: where the input is expected
        self.absent_warned = False

    def say(self, paired: Paired, header: Header, logger, settings: dict) -> None:
        """Log what ``paired`` calls for (nothing when depth paired); ``settings``: the tracker's parameters."""
        if paired.unusable:
            logger.warning(f"depth not used: {paired.unusable}", throttle_duration_sec=30.0)
        elif paired.missing and not paired.depth_seen:
            if not self.absent_warned:
                self.absent_warned = True
                topic = self._resolve_topic("depth" if paired.missing == "depth image" else "camera_info")
                logger.warning(f"no {paired.missing} has arrived on {topic} (use_depth is true): grasps carry no "
                               "metric pose. Publish registered depth and camera_info there, or set "
                               "use_depth:=false. Said once.")
        elif paired.missing:
            stamp = header.stamp
            logger.warning(f"no {paired.missing} for the frame stamped {stamp.sec}.{stamp.nanosec:09d} (tolerance "
                           f"{settings['depth_sync_tolerance_s']} s): grasps without metric pose",
                           throttle_duration_sec=settings["error_log_period_s"])
