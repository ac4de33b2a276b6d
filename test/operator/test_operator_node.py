"""The operator node as a process, with aiohttp's WebSocket client as the page: its lifecycle, a taken port,
and a reply to every request even when nothing can act on it (inactive, no tracker, no bridge, a service that
never answers, too many waiting)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time

import aiohttp
import pytest
from ros_harness import RosProcess, node_process

pytestmark = pytest.mark.ros


def _operator(namespace: str, *params: str) -> RosProcess:
    return node_process("operator_node", namespace, *params)


def _lifecycle(ros_node, name: str):
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient

    return LifecycleClient(ros_node.node, ros_node.executor, name, timeout_s=60)


def _url(process: RosProcess) -> str:
    found = re.findall(r"operator page: open (\S+)", process.output())
    assert found, process.output()
    return found[-1]


async def _exchange(url: str, messages: list[dict], count: int | None = None, timeout: float = 20.0) -> dict:
    """Send ``messages`` as a page; the replies by id and the last state seen."""
    count = len(messages) if count is None else count
    replies, state = {}, None
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url.rstrip("/") + "/ws") as page:
            for message in messages:
                await page.send_str(json.dumps(message))
            deadline = time.monotonic() + timeout
            while (len(replies) < count or state is None) and time.monotonic() < deadline:
                try:
                    received = await page.receive(timeout=max(0.1, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if received.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(received.data)
                if data["type"] == "reply":
                    replies[data["id"]] = data
                elif data["type"] == "state":
                    state = data
    return {"replies": replies, "state": state}


def test_a_taken_port_fails_configure_naming_it_and_the_node_lives(ros_node):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    process = _operator("/opn_port", f"port:={port}")
    try:
        from spgrasp_ros.ros.lifecycle_client import LifecycleError

        lifecycle = _lifecycle(ros_node, "/opn_port/operator_node")
        with pytest.raises(LifecycleError, match="state is now 'unconfigured'"):
            lifecycle.configure()
        assert f"cannot listen on 127.0.0.1:{port}" in process.output()
        holder.close()
        assert lifecycle.configure().label == "inactive", process.output()
        assert _url(process) == f"http://127.0.0.1:{port}/"
        assert lifecycle.cleanup().label == "unconfigured"  # the port is free again after cleanup
        probe = socket.socket()
        probe.bind(("127.0.0.1", port))
        probe.close()
    finally:
        holder.close()
        assert process.stop(timeout=30) == 0, process.output()


def test_every_request_is_answered_when_nothing_can_act_on_it(ros_node):
    process = _operator("/opn_alone", "port:=0", "state_period_s:=0.1")
    try:
        lifecycle = _lifecycle(ros_node, "/opn_alone/operator_node")
        assert lifecycle.configure().label == "inactive", process.output()
        url = _url(process)
        inactive = asyncio.run(_exchange(url, [{"id": 1, "op": "clear"}], count=1, timeout=5))
        assert inactive["replies"][1]["message"] == "the operator node is not active"
        assert inactive["state"]["active"] is False  # the page is told at once
        assert lifecycle.activate().label == "active"
        seen = asyncio.run(_exchange(url, [{"id": 2, "op": "prompt", "boxes": [[1, 2, 30, 40]]},
                                           {"id": 3, "op": "arm", "enable": True, "confirm": True},
                                           {"id": 4, "op": "stop"}]))
        replies = seen["replies"]
        assert not replies[2]["ok"] and "/opn_alone/set_prompt is not available" in replies[2]["message"]
        for request_id in (3, 4):
            assert not replies[request_id]["ok"]
            assert "/opn_alone/r1_grasp_bridge/enable" in replies[request_id]["message"]
        state = seen["state"]
        assert state["active"] and state["node"] == "/opn_alone/operator_node"
        assert state["tracker"]["ready"] is False and state["arm"]["available"] is False
        assert state["arm"]["state"] == "not running"
        assert lifecycle.deactivate().label == "inactive"
        assert asyncio.run(_exchange(url, [], count=0, timeout=5))["state"]["active"] is False
    finally:
        assert process.stop(timeout=30) == 0, process.output()


def test_a_service_that_never_answers_times_out_and_waiting_requests_are_bounded(ros_node):
    from spgrasp_ros.srv import SetPrompt

    # this process serves set_prompt but does not spin while the page waits: the calls are never answered
    ros_node.node.create_service(SetPrompt, "/opn_slow/set_prompt", lambda request, response: response)
    process = _operator("/opn_slow", "port:=0", "request_timeout_s:=1.0", "max_pending_requests:=2",
                        "state_period_s:=0.2")
    try:
        lifecycle = _lifecycle(ros_node, "/opn_slow/operator_node")
        assert lifecycle.configure().label == "inactive", process.output()
        assert lifecycle.activate().label == "active"
        url = _url(process)
        deadline = time.monotonic() + 30  # until the operator has discovered the service
        while True:
            ready = asyncio.run(_exchange(url, [], count=0, timeout=5))["state"]["tracker"]["ready"]
            if ready or time.monotonic() > deadline:
                break
        assert ready
        replies = asyncio.run(_exchange(url, [{"id": k, "op": "clear"} for k in range(1, 5)]))["replies"]
        timed_out = [k for k, r in replies.items() if "timed out after 1 s" in r["message"]]
        busy = [k for k, r in replies.items() if r["message"].startswith("busy")]
        assert sorted(timed_out + busy) == [1, 2, 3, 4] and len(timed_out) >= 2 and busy, replies
        assert not any(r["ok"] for r in replies.values())
    finally:
        assert process.stop(timeout=30) == 0, process.output()
