"""``spgrasp demo --operator`` as a person runs it: the URL is printed, the page gets the looping clip with the
tracker's answers, a box from the page is tracked, and Ctrl-C ends everything with exit code 0."""

import asyncio
import json
import re
import signal
import subprocess
import sys
import time

import aiohttp
import pytest
from ros_harness import free_port, require_ros

from spgrasp_ros.operator.frame_packets import FRAME, unpack

pytestmark = [pytest.mark.ros, pytest.mark.slow]


async def _use_the_page(url: str) -> tuple[dict, dict]:
    """Wait for a frame the tracker answered, prompt a box over the whole image, wait for the reply and a frame
    showing the new object; (the reply, that frame's header)."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url.rstrip("/") + "/ws") as page:
            reply, header = None, None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                message = await page.receive(timeout=60)
                if message.type == aiohttp.WSMsgType.BINARY:
                    kind, header, _ = unpack(message.data)
                    if kind != FRAME or not header.get("tracker"):
                        continue
                    if reply is None:
                        w, h = header["width"], header["height"]
                        await page.send_str(json.dumps({"id": 1, "op": "prompt",
                                                        "boxes": [[0, 0, w - 1, h - 1]]}))
                        reply = {}
                    elif reply and reply["ok"] and header["objects"]:
                        return reply, header
                elif message.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(message.data)
                    if data["type"] == "reply":
                        reply = data
                        if not data["ok"]:
                            return reply, header
            raise AssertionError(f"no tracked frame after the prompt (reply {reply})")


def test_the_operator_demo_serves_the_page_until_ctrl_c(tmp_path):
    require_ros()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "spgrasp_ros.cli", "demo", "--operator", "--port", str(port),
                                "--frames", "20", "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "operator page: open" in line:
                break
        url = re.search(r"operator page: open (\S+)", "".join(lines))
        assert url, "".join(lines)
        assert url.group(1) == f"http://127.0.0.1:{port}/"
        reply, header = asyncio.run(_use_the_page(url.group(1)))
        assert reply["ok"] and reply["object_ids"] == [1], reply
        assert header["objects"][0]["id"] == 1 and header["frame_id"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    for log in ("tracker.log", "operator.log", "video_source.log"):
        assert (tmp_path / "out" / log).exists()
