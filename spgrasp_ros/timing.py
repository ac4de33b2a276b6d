"""Per-stage wall-clock timing of the per-frame path (synchronised on CUDA so GPU work is counted)."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from typing import Iterator

import torch


class StageTimer:
    """Accumulates milliseconds per named stage for the current frame; ``frame_done`` closes a frame."""

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self._cuda = torch.device(device).type == "cuda"
        self._current: dict[str, float] = defaultdict(float)

    def _sync(self) -> None:
        if self._cuda:
            torch.cuda.synchronize()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as (part of) stage ``name``."""
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self._current[name] += (time.perf_counter() - start) * 1000.0

    def frame_done(self) -> dict[str, float]:
        """The stage times [ms] of the frame just processed; starts the next frame."""
        times, self._current = dict(self._current), defaultdict(float)
        return times


def stage(timer: StageTimer | None, name: str):
    """``timer.stage(name)``, or a no-op context without a timer."""
    return timer.stage(name) if timer is not None else nullcontext()
