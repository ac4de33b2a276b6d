"""What ``spgrasp soak`` throws at the tracker: the rotating re-prompts, malformed frames, and the processes it
starts, kills and samples. The run that schedules them is ``soak_run``; the settings are ``soak_report.SoakConfig``."""

from __future__ import annotations

import array
import os
import subprocess
from pathlib import Path

import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from spgrasp_ros.data.types import Sequence, object_box
from spgrasp_ros.msg import PromptBox
from spgrasp_ros.ros.demo import start_node_process, stop_process
from spgrasp_ros.srv import SetPrompt

BOGUS_ENCODING = "spgrasp_soak_bogus8"  # no reader (nor cv_bridge) knows it: the tracker must reject it
SOURCE_MODULE = "spgrasp_ros.nodes.video_source_node"


def clip_boxes(sequence: Sequence, size: tuple[int, int]) -> list[list[np.ndarray]]:
    """Per frame of the clip, the ground-truth box of every visible object (frames without any left out)."""
    frames = []
    for frame in sequence.frames:
        masks = frame.load_masks()
        boxes = [object_box(frame, o.object_id, masks, size) for o in frame.objects if o.visible]
        boxes = [b for b in boxes if b is not None]
        if boxes:
            frames.append(boxes)
    if not frames:
        raise RuntimeError("the soak's clip has no visible object to prompt")
    return frames


def _box_msg(box: np.ndarray) -> PromptBox:
    return PromptBox(x_min=float(box[0]), y_min=float(box[1]), x_max=float(box[2]), y_max=float(box[3]))


def prompt_request(kind: str, boxes: list[np.ndarray], tracked: list[int]) -> SetPrompt.Request:
    """The re-prompt of ``kind``: replace (every box), append (the first box), remove (the newest tracked id,
    or a clear when nothing is tracked), clear (an empty request)."""
    if kind == "replace":
        return SetPrompt.Request(boxes=[_box_msg(b) for b in boxes])
    if kind == "append":
        return SetPrompt.Request(boxes=[_box_msg(boxes[0])], append=True)
    if kind == "remove" and tracked:
        return SetPrompt.Request(remove_ids=[int(max(tracked))])
    if kind in ("remove", "clear"):
        return SetPrompt.Request()
    raise ValueError(f"unknown prompt kind {kind!r}")


def malformed_frame(kind: str, header: Header, size: tuple[int, int]) -> Image:
    """A frame the tracker must refuse: an unknown encoding, rgb8 data shorter than step x height, or 0x0."""
    width, height = size
    if kind == "wrong_encoding":
        return _image(header, width, height, BOGUS_ENCODING, width * 3, width * 3 * height)
    if kind == "short_data":
        return _image(header, width, height, "rgb8", width * 3, width * 3 * height // 2)
    if kind == "zero_size":
        return _image(header, 0, 0, "rgb8", 0, 0)
    raise ValueError(f"unknown malformed frame kind {kind!r}")


def _image(header: Header, width: int, height: int, encoding: str, step: int, length: int) -> Image:
    return Image(header=header, width=width, height=height, encoding=encoding, step=step,
                 data=array.array("B", bytes(length)))


class SourceProcess:
    """The video source node's process: started, killed (SIGKILL) and restarted, each run with its own log."""

    def __init__(self, namespace: str, params: dict, out: Path) -> None:
        self._namespace, self._params, self._out = namespace, params, out
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.killed = 0
        self.unexpected_exits: list[int] = []  # exit codes of runs that ended without being killed
        self.exit_code: int | None = None

    def start(self) -> None:
        self.starts += 1
        log = self._out / ("video_source.log" if self.starts == 1 else f"video_source.{self.starts}.log")
        self.process = start_node_process(SOURCE_MODULE, self._namespace, self._params, log)

    def kill_and_restart(self) -> None:
        """SIGKILL (no clean shutdown, as a crash would end it), then a fresh process."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
            self.killed += 1
        self.start()

    def restart_if_ended(self) -> bool:
        """A run that ended by itself is recorded and replaced; True when that happened."""
        if self.process is None or self.process.poll() is None:
            return False
        self.unexpected_exits.append(self.process.returncode)
        self.start()
        return True

    def stop(self) -> None:
        """SIGINT (a clean shutdown); ``exit_code`` is the last run's."""
        if self.process is not None:
            stop_process(self.process)
            self.exit_code = self.process.returncode


def process_figures(pid: int) -> dict:
    """Resident memory [MiB], threads and open file descriptors of a running process (Linux /proc)."""
    figures: dict = {"rss_mib": None, "threads": None, "fds": None}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    figures["rss_mib"] = int(line.split()[1]) / 1024.0
                elif line.startswith("Threads:"):
                    figures["threads"] = int(line.split()[1])
        figures["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):  # the process is gone (or /proc is not there)
        pass
    return figures
