"""Running a node in its own process: spin until interrupted (or done), then release it cleanly."""

from __future__ import annotations

from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def spin_until_shutdown(node: Node, until: Callable[[], bool] | None = None) -> None:
    """Spin ``node`` until Ctrl-C / SIGINT, an external shutdown, or ``until()`` turning true.

    Afterwards the node is destroyed and rclpy shut down (when nobody did it already), so a node's ``main()``
    is: ``rclpy.init(); spin_until_shutdown(MyNode())``.
    """
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        if until is None:
            executor.spin()
        else:
            while not until():
                executor.spin_once(timeout_sec=0.1)
            executor.spin_once(timeout_sec=0.2)  # let the answer that ended it go out
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
