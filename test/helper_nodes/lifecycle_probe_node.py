"""Test helper process: a lifecycle node that publishes a heartbeat only while active.

usage: lifecycle_probe_node.py NODE_NAME [--fail-configure]
configure creates a lifecycle publisher `~/heartbeat` (std_msgs/UInt32) and a 20 Hz timer; cleanup destroys
them; with --fail-configure, configure returns FAILURE. The process exits 0 once the node is finalized.
"""

import sys

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from std_msgs.msg import UInt32

from spgrasp_ros.ros.spin import run_node


class LifecycleProbe(LifecycleNode):
    def __init__(self, name: str, fail_configure: bool) -> None:
        super().__init__(name)
        self.fail_configure = fail_configure
        self.publisher = None
        self.timer = None
        self.count = 0
        self.finished = False

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self.fail_configure:
            self.get_logger().error("configure refused on purpose (--fail-configure)")
            return TransitionCallbackReturn.FAILURE
        self.publisher = self.create_lifecycle_publisher(UInt32, "~/heartbeat", 10)
        self.timer = self.create_timer(0.05, self.heartbeat_cb)
        return super().on_configure(state)

    def heartbeat_cb(self) -> None:
        self.count += 1
        if self.publisher is not None and self.publisher.is_activated:
            self.publisher.publish(UInt32(data=self.count))

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.destroy_timer(self.timer)
        self.destroy_lifecycle_publisher(self.publisher)
        self.timer = self.publisher = None
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.finished = True
        return super().on_shutdown(state)


def make_node() -> LifecycleProbe:
    node = LifecycleProbe(sys.argv[1], "--fail-configure" in sys.argv[2:])
    print("READY", flush=True)
    return node


if __name__ == "__main__":
    sys.exit(run_node(make_node))
