"""Running a node in its own process (the one start-up idiom of every node), and reporting a failed transition.

A node's ``main()`` is one call::

    def main(args=None) -> int:
        return run_node(MyNode, args)

``run_node`` initialises rclpy, builds the node (and runs its ``start``, for plain nodes that wire themselves
up at start), spins it until SIGINT / SIGTERM (rclpy's signal handlers shut the context down), an external
shutdown, or the node's ``finished`` turning true (a lifecycle node sets it in ``on_shutdown``, a finite source
at its end). A callback that raises is logged with its traceback and spinning goes on. The teardown is ordered:
the executor, then the node (which ends its own threads and timers), then rclpy's context and its signal
handlers, so no thread is left inside rclpy or torch while the interpreter exits. The exit code is the node's
``exit_code`` (0 unless it says otherwise; 0 after a signal), 1 when ``start`` refused the parameters.

With a MultiThreadedExecutor, messages are deserialised in whichever pool thread takes them, and glibc gives
each thread its own malloc arena, which keeps the freed images: the process is limited to ``MALLOC_ARENAS``
arenas, so its memory stays flat. rclpy 7.1's ``Executor.shutdown`` does not wait for callbacks in flight: a
callback that blocks (on a worker thread, say) watches ``node.context.ok()``, so the process can end.
"""

from __future__ import annotations

import ctypes
import time
import traceback
from typing import Callable, TypeVar

import rclpy
from rclpy.exceptions import InvalidTopicNameException, ParameterException
from rclpy.executors import Executor, ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.signals import uninstall_signal_handlers

N = TypeVar("N", bound=Node)

# Errors that name a bad parameter, file or device: one log line says it all. Anything else is a bug and is
# logged with its traceback.
EXPECTED_ERRORS = (ValueError, OSError, LookupError, ParameterException, InvalidTopicNameException)
MALLOC_ARENAS = 2  # glibc malloc arenas of a process that spins a MultiThreadedExecutor
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def run_node(factory: Callable[[], N], args: list[str] | None = None, *, start: Callable[[N], None] | None = None,
             executor: Callable[[], Executor] = SingleThreadedExecutor) -> int:
    """Run the node ``factory()`` builds until it finishes or the process is interrupted; the exit code.

    ``start``: called on the node before spinning; a ValueError / ParameterException / InvalidTopicNameException
    it raises is logged (fatal) and gives exit code 1. ``executor``: makes the executor (a
    MultiThreadedExecutor for nodes whose callback groups may run side by side).
    """
    rclpy.init(args=args)
    node = None
    spinner = executor()
    if isinstance(spinner, MultiThreadedExecutor):
        _limit_malloc_arenas(MALLOC_ARENAS)  # before its pool threads exist
    try:
        node = factory()
        if start is not None:
            try:
                start(node)
            except (ValueError, ParameterException, InvalidTopicNameException) as error:
                node.get_logger().fatal(str(error))
                return 1
        spinner.add_node(node)
        _spin_until_finished(spinner, node)
        return getattr(node, "exit_code", 0)
    except (KeyboardInterrupt, ExternalShutdownException):
        return getattr(node, "exit_code", 0)
    finally:
        spinner.shutdown()
        if node is not None:
            node.destroy_node()  # the node's own threads end here, before rclpy's context goes
        rclpy.try_shutdown()
        uninstall_signal_handlers()  # try_shutdown leaves them (and their thread) installed


def _spin_until_finished(spinner: Executor, node: Node) -> None:
    """Spin until the node is finished or the context is shut down (SIGINT / SIGTERM: rclpy's signal handler
    shuts it down). A callback that raised is logged with its traceback and spinning goes on: no request ends
    the process."""
    settle_until = None  # once finished: let the answer that finished it go out (from a pool thread, maybe)
    while node.context.ok() and (settle_until is None or time.monotonic() < settle_until):
        if settle_until is None and getattr(node, "finished", False):
            settle_until = time.monotonic() + 0.2
        try:
            spinner.spin_once(timeout_sec=0.05 if settle_until else 0.1)
        except (KeyboardInterrupt, ExternalShutdownException):
            raise
        except Exception as error:  # noqa: BLE001 - a failed callback must not end the node
            if not node.context.ok():
                return  # the context went down under the spin: a signal, not a fault
            node.get_logger().error(f"a callback failed: {error!r}\n{''.join(traceback.format_exception(error))}")


def _limit_malloc_arenas(count: int) -> None:
    """At most ``count`` glibc malloc arenas from now on (nothing where the C library is not glibc)."""
    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, count)
    except (OSError, AttributeError):
        pass


def failed_transition(node: Node, what: str, error: BaseException) -> TransitionCallbackReturn:
    """Report a transition that raised (rclpy would swallow it): log ``<what> failed: <error>`` (with the
    traceback unless it is an ``EXPECTED_ERRORS`` one) and return FAILURE, so the node stays where it was."""
    node.get_logger().error(f"{what} failed: {error}")
    if not isinstance(error, EXPECTED_ERRORS):
        node.get_logger().error("".join(traceback.format_exception(error)))
    return TransitionCallbackReturn.FAILURE
