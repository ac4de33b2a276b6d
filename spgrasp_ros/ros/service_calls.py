"""Service calls from a node whose executor the caller spins, made robust to a lost first reply.

Fast DDS (rmw_fastrtps, ROS 2's default middleware) lets a client see a service as ready once it has matched
the server's request reader and response writer, but the server may not yet have matched the client's response
reader. The server then waits 100 ms for it and drops the reply (rclpy logs "failed to send response
(timeout)"); the client would wait forever. This happens on loaded machines right after a node starts.
Two guards, used by the lifecycle client, the demo and the tests:

- a fresh client waits ``settle_s`` after it first sees the service before its first call, so discovery can
  finish on the server side too;
- idempotent requests (queries) are sent again every ``resend_s`` seconds until one is answered.
"""

from __future__ import annotations

import time
from typing import Any

from rclpy.client import Client
from rclpy.executors import Executor


class ServiceCallError(RuntimeError):
    """A service did not appear or did not answer in time."""


class ServiceCaller:
    """Calls services through ``executor`` (which must not be spun elsewhere meanwhile).

    ``settle_s``: seconds a client must have seen its service before the first request goes out.
    """

    def __init__(self, executor: Executor, settle_s: float = 0.5) -> None:
        self._executor = executor
        self._settle_s = settle_s
        self._seen_since: dict[str, float] = {}  # service name -> when it was first seen ready (monotonic s)

    def wait_ready(self, client: Client, timeout_s: float) -> None:
        """Spin until ``client``'s service is available and has been for ``settle_s``; raise after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not client.service_is_ready():
            if time.monotonic() > deadline:
                raise ServiceCallError(f"{client.srv_name} is not available after {timeout_s:.1f} s")
            self._executor.spin_once(timeout_sec=0.05)
        settled = self._seen_since.setdefault(client.srv_name, time.monotonic()) + self._settle_s
        while time.monotonic() < settled:
            self._executor.spin_once(timeout_sec=max(0.0, min(0.05, settled - time.monotonic())))

    def call(self, client: Client, request: Any, timeout_s: float, resend_s: float | None = None) -> Any:
        """Send ``request`` and return the response; raise ServiceCallError after ``timeout_s`` without one.

        ``resend_s``: for idempotent requests only, send the request again every ``resend_s`` seconds while
        no answer came (a lost reply is then recovered); None sends it once.
        """
        deadline = time.monotonic() + timeout_s
        self.wait_ready(client, timeout_s)
        while True:
            future = client.call_async(request)
            until = deadline if resend_s is None else min(deadline, time.monotonic() + resend_s)
            self._executor.spin_until_future_complete(future, timeout_sec=max(0.0, until - time.monotonic()))
            if future.done():
                return future.result()
            client.remove_pending_request(future)
            if time.monotonic() >= deadline:
                raise ServiceCallError(f"{client.srv_name} did not answer within {timeout_s:.1f} s")

    def try_call(self, client: Client, request: Any, timeout_s: float) -> Any | None:
        """One request, waiting at most ``timeout_s``; the response, or None when none came (no settling)."""
        if not client.service_is_ready():
            return None
        future = client.call_async(request)
        self._executor.spin_until_future_complete(future, timeout_sec=timeout_s)
        if future.done():
            return future.result()
        client.remove_pending_request(future)
        return None
