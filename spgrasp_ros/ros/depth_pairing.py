"""Registered depth and camera intrinsics for a colour frame, paired by stamp (the tracker node's depth input).

Depth images wait in a small ``cameras.stamp_pairing.StampBuffer``; a colour frame takes the one with its
stamp, else the nearest within a tolerance. The latest CameraInfo gives the intrinsics.
"""

from __future__ import annotations

from dataclasses import dataclass

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
