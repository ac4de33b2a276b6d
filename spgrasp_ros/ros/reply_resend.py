"""Service replies that a fresh client would lose are sent again (server side of ``service_calls``).

Fast DDS (rmw_fastrtps) sends a reply only to a client whose response reader the server has matched; when the
match is not there yet it waits 100 ms, drops the reply, and rclpy 7.1 only logs "failed to send response
(timeout)" (``Service.send_response`` returns nothing either way). A client that calls at once after it sees
the service, on a loaded machine, then waits forever. The timeout has a signature: a send that returns after
about 100 ms instead of microseconds. ``resend_lost_replies`` wraps a service's ``send_response`` so such a
send is repeated, up to ``attempts`` times (each waits another 100 ms for the match). A repeat that reaches a
client that did get the first reply is ignored there (rclpy and rclcpp drop replies to requests no longer
pending).
"""

from __future__ import annotations

import time

from rclpy.service import Service

LOST_AFTER_S = 0.09  # a send that took this long hit the middleware's 100 ms wait for the client
RESEND_ATTEMPTS = 20  # about 2 s for the server to discover a new client


def resend_lost_replies(service: Service, attempts: int = RESEND_ATTEMPTS) -> Service:
    """Make ``service`` send a reply again while the middleware timed out waiting for the client."""
    send_once = service.send_response

    def send_response(response, header) -> None:
        for _ in range(1 + attempts):
            start = time.monotonic()
            send_once(response, header)
            if time.monotonic() - start < LOST_AFTER_S:
                return

    service.send_response = send_response
    return service
