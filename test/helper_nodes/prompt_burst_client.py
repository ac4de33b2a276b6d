"""Test helper process: one of several clients firing a burst of SetPrompt requests at a tracker.

usage: prompt_burst_client.py SERVICE COUNT PERIOD_S WAIT_S
Sends COUNT appending one-box requests PERIOD_S apart as soon as the service is there (no settling: a hostile
client), then waits up to WAIT_S for the answers and prints one JSON line: how many were answered, how many
succeeded, and each refusal's message. Its reply queue holds COUNT replies: with the services' default of 10, a
client process that the machine does not schedule for a while loses its own older replies.
"""

import json
import sys
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile

from spgrasp_ros.msg import PromptBox
from spgrasp_ros.srv import SetPrompt


def main() -> int:
    service, count, period, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    rclpy.init()
    node = rclpy.create_node("prompt_burst_client")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    client = node.create_client(SetPrompt, service, qos_profile=QoSProfile(depth=count))
    deadline = time.monotonic() + 60
    while not client.service_is_ready() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    request = SetPrompt.Request(boxes=[PromptBox(x_min=20.0, y_min=20.0, x_max=60.0, y_max=60.0)], append=True)
    futures = []
    for _ in range(count):
        futures.append(client.call_async(request))
        until = time.monotonic() + period
        while time.monotonic() < until:
            executor.spin_once(timeout_sec=max(0.0, until - time.monotonic()))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not all(f.done() for f in futures):
        executor.spin_once(timeout_sec=0.05)
    answers = [f.result() for f in futures if f.done()]
    print(json.dumps({"sent": count, "answered": len(answers), "succeeded": sum(a.success for a in answers),
                      "unanswered": [k for k, f in enumerate(futures) if not f.done()],
                      "refusals": sorted({a.message for a in answers if not a.success})}), flush=True)
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
