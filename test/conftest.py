"""Test-wide settings. ROS traffic of a test run stays on this machine and in a domain of its own."""

import os

# Before anything imports rclpy: a DDS domain per test run (0..232 are valid), discovery on loopback only,
# so parallel runs on one machine do not hear each other. Child processes inherit these.
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 200))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("RCUTILS_COLORIZED_OUTPUT", "0")

from ros_harness import ros_node  # noqa: E402,F401  (fixture shared by the ROS tests)
