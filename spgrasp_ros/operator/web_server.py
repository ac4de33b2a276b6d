"""The operator page's web server: aiohttp on an asyncio loop in a thread of its own.

Serves exactly the files of ``static/`` (read at start, by fixed routes: no path from a request ever reaches
the file system) and one WebSocket, ``/ws``. Outgoing data per page is held in slots, not queues: the newest
frame, the newest mask and the newest state replace older ones that were not sent yet, so a slow browser gets
fewer frames and the server never holds more than one of each per page. Replies to a page's own requests
are kept in order (bounded: requests are rate-limited per page).

Security: when a token is set (always when bound to an address other than loopback), every HTTP and WebSocket
request must carry it (``?token=``, the ``X-Spgrasp-Token`` header, or the cookie the page gets with its first
response); WebSocket upgrades from another origin are refused; at most ``max_clients`` pages at once.

Threads: ``send_*`` and ``reply`` may be called from any thread; ``on_request`` is called on the server's
thread and must only hand the request over (the operator node queues it for its executor).
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import importlib.resources
import json
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from spgrasp_ros.operator.page_requests import PageLimits, PageRequest, PageRequestError, RequestRate, parse_request

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ASSETS = {"/": ("index.html", "text/html"), "/operator.js": ("operator.js", "text/javascript"),
          "/operator.css": ("operator.css", "text/css")}
TOKEN_COOKIE = "spgrasp_token"
TOKEN_HEADER = "X-Spgrasp-Token"
MAX_REPLIES_HELD = 64  # per page; more means the page is not reading (it is then closed)
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
                                       "frame-ancestors 'none'"}


@dataclass(frozen=True)
class ServerSettings:
    """Where the page is served and how much a page may ask."""

    host: str = "127.0.0.1"
    port: int = 8080  # 0 = any free port (tests)
    token: str = ""  # "" = no token needed (only allowed on loopback)
    max_clients: int = 8
    requests_per_s: float = 5.0
    request_burst: int = 10
    limits: PageLimits = field(default_factory=PageLimits)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class _Page:
    """One connected page: its socket, its rate, its outgoing slots."""

    def __init__(self, page_id: int, socket: web.WebSocketResponse, settings: ServerSettings) -> None:
        self.id, self.socket = page_id, socket
        self.rate = RequestRate(settings.requests_per_s, settings.request_burst)
        self.slots: dict[str, bytes | str | None] = {"state": None, "frame": None, "mask": None}
        self.replies: collections.deque[str] = collections.deque()
        self.ready = asyncio.Event()
        self.sent = {"frame": 0, "mask": 0, "state": 0, "reply": 0}
        self.replaced = 0  # frames replaced before they went out (the page was slower than the stream)


class OperatorServer:
    """Serves the page; ``start`` binds (OSError when the address is taken), ``stop`` closes every page."""

    def __init__(self, settings: ServerSettings, on_request: Callable[[int, PageRequest], None],
                 log: Callable[[str], None] = print) -> None:
        if not settings.token and not is_loopback(settings.host):
            raise ValueError(f"host {settings.host!r} is not loopback: a token is required")
        self.settings, self._on_request, self._log = settings, on_request, log
        self._assets = {route: (importlib.resources.files(__package__).joinpath("static", name).read_bytes(), kind)
                        for route, (name, kind) in ASSETS.items()}
        self._pages: dict[int, _Page] = {}
        self._next_id = 1
        self._latest: dict[str, bytes | str | None] = {"state": None, "frame": None, "mask": None}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = settings.port

    # --- lifetime ------------------------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> None:
        """Bind and serve in a thread; returns once listening. OSError naming the address when it cannot bind."""
        started: Future = Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="operator_web", daemon=True)
        self._thread.start()
        try:
            started.result(timeout=timeout_s)
        except OSError as error:
            self._thread.join()
            raise OSError(f"the operator page cannot listen on {self.settings.host}:{self.settings.port}: "
                          f"{error.strerror or error}") from None

    def url(self, host: str | None = None) -> str:
        """The address to open (with the token when one is needed)."""
        host = host or ("127.0.0.1" if self.settings.host in ("0.0.0.0", "::") else self.settings.host)
        host = f"[{host}]" if ":" in host else host
        query = f"/?token={self.settings.token}" if self.settings.token else "/"
        return f"http://{host}:{self.port}{query}"

    def stop(self) -> None:
        """Close every page and the listening socket; the thread ends."""
        loop = self._loop
        if loop is None or self._thread is None:
            return
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._thread = None

    def _run(self, started: Future) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        except OSError as error:
            started.set_exception(error)
            loop.close()
            return
        self._loop = loop
        started.set_result(True)
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=4096)
        for route in self._assets:
            app.router.add_get(route, self._asset)
        app.router.add_get("/ws", self._socket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        self.port = site._server.sockets[0].getsockname()[1]  # the real one when 0 was asked

    async def _shutdown(self) -> None:
        for page in list(self._pages.values()):
            await page.socket.close()
        await self._runner.cleanup()

    # --- what goes out (any thread) ---------------------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return len(self._pages)

    def send_frame(self, packet: bytes) -> None:
        """Offer a FRAME packet to every page (the newest replaces one not yet sent)."""
        self._offer("frame", packet)

    def send_mask(self, packet: bytes) -> None:
        self._offer("mask", packet)

    def send_state(self, state: dict) -> None:
        """Offer the node's state (JSON object with ``type: state``) to every page."""
        self._offer("state", json.dumps({"type": "state", **state}))

    def reply(self, page_id: int, reply: dict) -> None:
        """Answer one page's request (``reply``: id, ok, message, ...)."""
        self._call(self._queue_reply, page_id, json.dumps({"type": "reply", **reply}))

    def page_stats(self) -> dict[int, dict]:
        """Per page: messages sent by kind and frames replaced unsent."""
        return {page.id: {**page.sent, "replaced": page.replaced} for page in list(self._pages.values())}

    def _call(self, function, *args) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(function, *args)
            except RuntimeError:  # the loop closed meanwhile: nobody to send to
                pass

    def _offer(self, slot: str, data: bytes | str) -> None:
        self._call(self._fill, slot, data)

    def _fill(self, slot: str, data: bytes | str) -> None:
        self._latest[slot] = data
        for page in self._pages.values():
            if slot == "frame" and page.slots["frame"] is not None:
                page.replaced += 1
            page.slots[slot] = data
            page.ready.set()

    def _queue_reply(self, page_id: int, text: str) -> None:
        page = self._pages.get(page_id)
        if page is None:
            return  # the page left before its answer came
        if len(page.replies) >= MAX_REPLIES_HELD:
            self._log(f"page {page_id} reads no replies: closing it")
            asyncio.ensure_future(page.socket.close())
            return
        page.replies.append(text)
        page.ready.set()

    # --- HTTP ---------------------------------------------------------------------------------------------
    def _token_of(self, request: web.Request) -> str:
        return (request.query.get("token") or request.headers.get(TOKEN_HEADER)
                or request.cookies.get(TOKEN_COOKIE) or "")

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        token = self.settings.token
        if token and not hmac.compare_digest(self._token_of(request).encode(), token.encode()):
            return web.Response(status=401, text="401: this page needs its token: open the URL the operator "
                                                 "node printed in its log\n", headers=_HEADERS)
        response = await handler(request)
        if token and request.query.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    async def _asset(self, request: web.Request) -> web.Response:
        body, kind = self._assets[request.path]
        return web.Response(body=body, content_type=kind, charset="utf-8", headers=_HEADERS)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            return web.Response(status=403, text=f"403: WebSocket from another origin ({origin}) refused\n")
        if len(self._pages) >= self.settings.max_clients:
            return web.Response(status=503, text=f"503: {self.settings.max_clients} pages are open already\n")
        socket = web.WebSocketResponse(max_msg_size=4 * self.settings.limits.max_message_bytes, heartbeat=10.0)
        await socket.prepare(request)
        page = _Page(self._next_id, socket, self.settings)
        self._next_id += 1
        page.slots = dict(self._latest)  # what there is now, at once
        self._pages[page.id] = page
        page.replies.append(json.dumps({"type": "hello", "page": page.id,
                                        "limits": {"requests_per_s": self.settings.requests_per_s,
                                                   "max_text_chars": self.settings.limits.max_text_chars}}))
        page.ready.set()
        sender = asyncio.ensure_future(self._send_loop(page))
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._receive(page, message.data)
                elif message.type == WSMsgType.BINARY:
                    self._queue_reply(page.id, json.dumps({"type": "reply", "id": None, "ok": False,
                                                           "message": "binary messages are not accepted"}))
        finally:
            sender.cancel()
            self._pages.pop(page.id, None)
        return socket

    def _receive(self, page: _Page, text: str) -> None:
        try:
            request = parse_request(text, self.settings.limits)
        except PageRequestError as error:
            self._queue_reply(page.id, json.dumps({"type": "reply", "id": error.request_id, "ok": False,
                                                   "message": str(error)}))
            return
        if not page.rate.allow(time.monotonic()):
            self._queue_reply(page.id, json.dumps(
                {"type": "reply", "id": request.id, "ok": False,
                 "message": f"too many requests: at most {self.settings.requests_per_s:g} per second"}))
            return
        self._on_request(page.id, request)

    async def _send_loop(self, page: _Page) -> None:
        try:
            while not page.socket.closed:
                await page.ready.wait()
                page.ready.clear()
                while page.replies:
                    await page.socket.send_str(page.replies.popleft())
                    page.sent["reply"] += 1
                for slot in ("state", "frame", "mask"):
                    data, page.slots[slot] = page.slots[slot], None
                    if data is None:
                        continue
                    if isinstance(data, str):
                        await page.socket.send_str(data)
                    else:
                        await page.socket.send_bytes(data)
                    page.sent[slot] += 1
        except (ConnectionError, RuntimeError):  # the page went away mid-send
            pass
