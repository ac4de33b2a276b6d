"""A warning, once, when a node runs on simulated time and no ``/clock`` arrives.

With ``use_sim_time`` true, a node's clock reads 0 until the first ``/clock`` message, and its ROS timers do
not fire: a camera node publishes nothing and nothing says why. ``SimTimeWatch`` looks on the steady clock
(it runs without ``/clock``) and warns once after ``after_s`` seconds without one, saying what to do.
"""

from __future__ import annotations

import time

from rclpy.clock import Clock, ClockType
from rclpy.node import Node

SIM_TIME_GRACE_S = 3.0  # seconds without /clock before the warning


class SimTimeWatch:
    """Watches ``node``'s clock from its creation; warns once, then stops (also once /clock arrived)."""

    def __init__(self, node: Node, after_s: float = SIM_TIME_GRACE_S) -> None:
        self._node = node
        self._after_s = after_s
        self._since = time.monotonic()
        self._timer = node.create_timer(0.5, self._check_cb, clock=Clock(clock_type=ClockType.STEADY_TIME))

    def _check_cb(self) -> None:
        node = self._node
        if not node.get_parameter("use_sim_time").value:
            self._since = time.monotonic()  # it may be switched on later
            return
        if node.get_clock().now().nanoseconds > 0:  # /clock arrived
            self._stop()
            return
        waited = time.monotonic() - self._since
        if waited >= self._after_s:
            node.get_logger().warning(
                f"use_sim_time is true but no /clock has arrived for {waited:.0f} s: this node's clock stands at "
                "0, so its timers wait and its stamps are 0. Play the recording with its clock (ros2 bag play "
                "--clock), run a /clock publisher, or set use_sim_time:=false.")
            self._stop()

    def _stop(self) -> None:
        self._timer.cancel()  # a cancelled timer never fires again
