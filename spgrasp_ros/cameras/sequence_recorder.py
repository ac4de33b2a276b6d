"""Recording a live stream as a recorded sequence (``spgrasp_ros.data.recorded``) without slowing the stream.

``SequenceRecorder`` hands frames to a writer thread through a queue of at most ``max_pending`` frames: PNG
encoding happens off the caller's thread, memory stays bounded, and a frame that finds the queue full is dropped
and counted (never queued without limit). Frames carry no labels (an empty object list): label them later, then
train on the folder. ``new_sequence_folder`` names one sequence per recording under a dataset root, which
``read_recorded(root)`` reads as a whole.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import numpy as np

from spgrasp_ros.data.recorded import SequenceWriter

_STOP = None  # queue sentinel: finish and close


def new_sequence_folder(root: str | Path, prefix: str) -> Path:
    """``<root>/<prefix>_<YYYYmmdd_HHMMSS>`` (``_2``, ``_3``... appended when taken); not created here."""
    root = Path(root).expanduser()
    base = f"{prefix}_{time.strftime('%Y%m%d_%H%M%S')}"
    folder, number = root / base, 1
    while folder.exists():
        number += 1
        folder = root / f"{base}_{number}"
    return folder


class SequenceRecorder:
    """Writes frames to one sequence folder on a background thread; ``close()`` finishes it (``sequence.json``)."""

    def __init__(self, folder: str | Path, size: tuple[int, int], fps: float, camera: dict | None = None,
                 max_pending: int = 8, frame_id: str | None = None) -> None:
        self.folder = Path(folder)
        # raises before any thread runs
        self._writer = SequenceWriter(self.folder, size, fps=fps, camera=camera, frame_id=frame_id)
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)  # frames waiting to be written, at most
        self.written = 0  # frames on disk
        self.dropped = 0  # frames refused because the queue was full or writing had failed
        self.error: Exception | None = None  # why writing stopped, if it did
        self._closed = False
        self._thread = threading.Thread(target=self._write_loop, name="sequence_recorder", daemon=True)
        self._thread.start()

    def put(self, rgb: np.ndarray, depth_m: np.ndarray | None = None, stamp_ns: int | None = None) -> bool:
        """Queue a frame ([H, W, 3] uint8 RGB, [H, W] metres or None, its capture stamp [ns] or None); False
        when it was dropped.

        The arrays are written later: the caller must not modify them afterwards.
        """
        if self._closed or self.error is not None:
            self.dropped += 1
            return False
        try:
            self._queue.put_nowait((rgb, depth_m, stamp_ns))
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def _write_loop(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            if self.error is not None:
                continue  # drain without writing after a failure
            try:
                self._writer.write(item[0], [], depth_m=item[1], stamp_ns=item[2])
                self.written += 1
            except Exception as error:  # disk full, unwritable folder, a frame of another size
                self.error = error
                self.dropped += 1
        try:
            self._writer.close()
        except Exception as error:
            self.error = self.error or error

    def close(self) -> int:
        """Write what is queued, finish the sequence and stop the thread; the number of frames written."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)  # blocks while the queue is full: the writer is draining it
            self._thread.join()
        return self.written
