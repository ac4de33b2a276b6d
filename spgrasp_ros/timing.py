"""Per-stage timing of the per-frame path, and per-stage FLOP counts.

``StageTimer`` has two ways to count GPU work (on the CPU both are plain wall clocks):
- ``events=False`` (default): synchronise the device before and after each stage, wall clock in between.
  Simple and exact for the stage, but every synchronisation stalls the host, so the frame runs slower than
  it would untimed;
- ``events=True``: record a CUDA event on the current stream at each stage boundary; nothing waits inside
  the frame, ``frame_done`` waits for the last event once. A stage's time is the GPU's time from reaching
  its start event to reaching its end event (gaps where the GPU waited for the host to launch work count
  too: that is the stage's cost when the pipeline is launch-bound). Recording costs a few microseconds.

``StageFlops`` has the same ``stage`` interface and counts floating-point operations per stage instead
(``torch.utils.flop_counter``), so one pass of the tracker with it as ``tracker.timer`` gives the
arithmetic each timed stage does.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Iterator, Sequence

import numpy as np
import torch

from spgrasp_ros.devices import synchronize


def summarise(values: Sequence[float]) -> dict[str, float]:
    """median / p90 / p99 / mean / min / max of a series (all NaN when it is empty): the one summary of every
    timing series the package reports (bench, eval, demo, diagnostics, the ROS overhead probe)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return dict.fromkeys(("median", "p90", "p99", "mean", "min", "max"), float("nan"))
    p50, p90, p99 = np.percentile(array, [50, 90, 99])
    return {"median": float(p50), "p90": float(p90), "p99": float(p99), "mean": float(array.mean()),
            "min": float(array.min()), "max": float(array.max())}


class StageTimer:
    """Accumulates milliseconds per named stage for the current frame; ``frame_done`` closes a frame."""

    def __init__(self, device: torch.device | str = "cpu", events: bool = False) -> None:
        self._device = torch.device(device)
        self._cuda = self._device.type == "cuda"
        self._events = events and self._cuda  # CUDA events instead of synchronising around each stage
        self._current: dict[str, float] = defaultdict(float)
        self._pending: list[tuple[str, int, int]] = []  # (stage, indices of its start and end events in the pool)
        self._pool: list[torch.cuda.Event] = []  # events reused frame after frame
        self._used = 0

    def _sync(self) -> None:
        synchronize(self._device)

    def _event(self) -> int:
        if self._used == len(self._pool):
            self._pool.append(torch.cuda.Event(enable_timing=True))
        self._pool[self._used].record()
        self._used += 1
        return self._used - 1

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as (part of) stage ``name``."""
        if self._events:
            first = self._event()
            try:
                yield
            finally:
                self._pending.append((name, first, self._event()))
            return
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self._current[name] += (time.perf_counter() - start) * 1000.0

    def frame_done(self) -> dict[str, float]:
        """The stage times [ms] of the frame just processed; starts the next frame."""
        if self._pending:
            self._pool[self._used - 1].synchronize()
            for name, first, last in self._pending:
                self._current[name] += self._pool[first].elapsed_time(self._pool[last])
        times, self._current = dict(self._current), defaultdict(float)
        self._pending, self._used = [], 0
        return times


class StageFlops:
    """Counts floating-point operations per named stage (``torch.utils.flop_counter.FlopCounterMode``);
    use as ``tracker.timer`` for one frame, then read ``frame_done()``. Counts matrix products and
    convolutions (what FlopCounterMode knows), which is where the arithmetic is."""

    def __init__(self) -> None:
        self._current: dict[str, int] = defaultdict(int)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Count the operations of the enclosed block as (part of) stage ``name``."""
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            yield
        self._current[name] += counter.get_total_flops()

    def frame_done(self) -> dict[str, int]:
        """The operations per stage of the frame just processed; starts the next frame."""
        flops, self._current = dict(self._current), defaultdict(int)
        return flops


def stage(timer: StageTimer | StageFlops | None, name: str) -> AbstractContextManager:
    """``timer.stage(name)``, or a no-op context without a timer."""
    return timer.stage(name) if timer is not None else nullcontext()
