"""The operator page's web server over real HTTP and WebSocket connections (aiohttp's client): only its own
files, the token on every request when it has one, the origin check, bounded pages, bounded messages and
rates, and a slow page that never makes the server hold more than the newest frame."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import contextmanager

import aiohttp
import pytest

from spgrasp_ros.operator.frame_packets import FRAME, pack, unpack
from spgrasp_ros.operator.page_requests import PageLimits
from spgrasp_ros.operator.web_server import OperatorServer, ServerSettings

TOKEN = "s3cret-token"


@contextmanager
def serving(**settings):
    """A server on a free port; yields (server, the requests it handed over)."""
    received = []
    server = OperatorServer(ServerSettings(**{"port": 0, **settings}), lambda page, request: received.append(
        (page, request)), log=lambda message: None)
    server.start()
    try:
        yield server, received
    finally:
        server.stop()


def _run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=60))


async def _get(url: str, **kwargs) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, **kwargs) as response:
            return response.status, await response.text(), response


async def _next_text(socket, kind: str = "reply") -> dict:
    while True:
        message = await socket.receive(timeout=10)
        if message.type == aiohttp.WSMsgType.TEXT and json.loads(message.data)["type"] == kind:
            return json.loads(message.data)


def test_it_serves_its_own_files_and_nothing_else():
    with serving() as (server, _):
        base = f"http://127.0.0.1:{server.port}"
        status, text, response = _run(_get(base + "/"))
        assert status == 200 and "<canvas" in text and response.headers["Content-Security-Policy"]
        for path, words in (("/operator.js", "WebSocket"), ("/operator.css", "canvas")):
            status, text, _ = _run(_get(base + path))
            assert status == 200 and words in text
        for path in ("/../web_server.py", "/static/index.html", "/%2e%2e/%2e%2e/etc/passwd", "/index.html",
                     "/operator.js/../../page_requests.py", "/etc/passwd"):
            status, text, _ = _run(_get(base + path))
            assert status == 404, (path, status)
            assert "import" not in text and "root:" not in text


def test_a_token_is_needed_off_loopback():
    with pytest.raises(ValueError, match="a token is required"):
        OperatorServer(ServerSettings(host="0.0.0.0"), lambda *a: None)


def test_every_request_needs_the_token_when_there_is_one():
    with serving(host="0.0.0.0", token=TOKEN) as (server, received):
        base = f"http://127.0.0.1:{server.port}"
        assert server.url().endswith(f"/?token={TOKEN}")
        for path in ("/", "/operator.js", "/ws"):
            status, text, _ = _run(_get(base + path))
            assert status == 401 and "token" in text, path
            status, _, _ = _run(_get(base + path + "?token=wrong"))
            assert status == 401, path

        async def with_token():
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # IP cookies
                async with session.get(f"{base}/?token={TOKEN}") as response:  # the first request: in the URL
                    assert response.status == 200
                async with session.get(f"{base}/operator.js") as response:  # then the cookie it set
                    assert response.status == 200
                async with session.ws_connect(f"{base}/ws") as socket:
                    hello = await _next_text(socket, "hello")
                    assert hello["page"] >= 1
                    await socket.send_str(json.dumps({"id": 1, "op": "clear"}))
                    await asyncio.sleep(0.3)
            async with aiohttp.ClientSession() as session:  # a header works too
                async with session.get(f"{base}/", headers={"X-Spgrasp-Token": TOKEN}) as response:
                    assert response.status == 200

        _run(with_token())
        assert [request.op for _, request in received] == ["clear"]

        async def socket_without_token():
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(f"{base}/ws")
                assert refused.value.status == 401

        _run(socket_without_token())


def test_a_socket_from_another_origin_is_refused():
    with serving() as (server, _):
        async def connect(origin: str):
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"http://127.0.0.1:{server.port}/ws", origin=origin) as socket:
                    return await _next_text(socket, "hello")

        assert _run(connect(f"http://127.0.0.1:{server.port}"))["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            _run(connect("http://evil.example"))
        assert refused.value.status == 403


def test_pages_are_bounded():
    with serving(max_clients=2) as (server, _):
        async def three():
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{server.port}/ws"
                first, second = await session.ws_connect(url), await session.ws_connect(url)
                await _next_text(first, "hello"), await _next_text(second, "hello")
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(url)
                assert refused.value.status == 503
                await first.close()
                await asyncio.sleep(0.2)
                third = await session.ws_connect(url)  # a place is free again
                await _next_text(third, "hello")
                await second.close(), await third.close()

        _run(three())


def test_bad_messages_get_an_error_reply_and_reach_nothing():
    with serving(limits=PageLimits(max_message_bytes=200), requests_per_s=1.0, request_burst=2) as (server,
                                                                                                   received):
        async def abuse():
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"http://127.0.0.1:{server.port}/ws") as socket:
                    replies = []
                    for message in ("{", json.dumps({"id": 4, "op": "nope"}), "x" * 300):
                        await socket.send_str(message)
                        replies.append(await _next_text(socket))
                    await socket.send_bytes(b"\x00\x01")
                    replies.append(await _next_text(socket))
                    for k in range(3):  # a burst of 2, then the rate of 1 per second
                        await socket.send_str(json.dumps({"id": 10 + k, "op": "clear"}))
                    replies.append(await _next_text(socket))
                    return replies

        replies = _run(abuse())
        assert [r["ok"] for r in replies] == [False] * 5
        assert "not JSON" in replies[0]["message"] and replies[0]["id"] is None
        assert replies[1]["id"] == 4 and "op must be one of" in replies[1]["message"]
        assert "at most 200" in replies[2]["message"]
        assert "binary" in replies[3]["message"]
        assert replies[4]["id"] == 12 and "too many requests" in replies[4]["message"]
        assert [request.id for _, request in received] == [10, 11]  # only the good ones, within the rate


def test_replies_reach_the_page_that_asked():
    with serving() as (server, received):
        async def ask():
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{server.port}/ws"
                async with session.ws_connect(url) as one, session.ws_connect(url) as two:
                    await _next_text(one, "hello"), await _next_text(two, "hello")
                    await two.send_str(json.dumps({"id": 5, "op": "clear"}))
                    while not received:
                        await asyncio.sleep(0.01)
                    page, request = received[0]
                    threading.Thread(target=server.reply, args=(page, {"id": request.id, "ok": True,
                                                                      "message": "cleared"})).start()
                    reply = await _next_text(two)
                    assert reply == {"type": "reply", "id": 5, "ok": True, "message": "cleared"}
                    server.send_state({"active": True})
                    assert (await _next_text(one, "state"))["active"] is True  # the state goes to every page
                    assert (await _next_text(two, "state"))["active"] is True

        _run(ask())


def test_a_slow_page_gets_the_newest_frame_and_the_server_holds_one():
    frame = b"\x00" * 400_000  # far more than the socket buffers take while the page reads nothing
    with serving() as (server, _):
        async def slow():
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"http://127.0.0.1:{server.port}/ws", max_msg_size=0) as socket:
                    await _next_text(socket, "hello")
                    for k in range(60):
                        server.send_frame(pack(FRAME, {"n": k}, frame))
                        await asyncio.sleep(0.005)
                    await asyncio.sleep(0.5)
                    stats = next(iter(server.page_stats().values()))
                    assert stats["replaced"] > 0  # frames the page was too slow for were replaced, not queued
                    assert stats["frame"] + stats["replaced"] <= 60
                    page = next(iter(server._pages.values()))
                    assert page.slots["frame"] is None or unpack(page.slots["frame"])[1]["n"] == 59
                    last = None
                    deadline = time.monotonic() + 20
                    while time.monotonic() < deadline:  # now read: the newest frame arrives last
                        message = await socket.receive(timeout=5)
                        if message.type == aiohttp.WSMsgType.BINARY:
                            last = unpack(message.data)[1]["n"]
                            if last == 59:
                                break
                    assert last == 59

        _run(slow())


def test_a_taken_port_fails_naming_the_address():
    with serving() as (server, _):
        other = OperatorServer(ServerSettings(port=server.port), lambda *a: None)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{server.port}"):
            other.start()
