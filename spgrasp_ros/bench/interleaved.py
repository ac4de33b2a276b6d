"""The tracker and sam2's own predictor timed side by side, frame by frame (``spgrasp bench --baseline``).

Both systems track the same frames from the same box prompts; on every frame one system steps, then the other,
the order alternating from frame to frame, so a machine that slows down or speeds up (other load, clocks,
caches) slows both alike. The ratio is taken per frame and summarised; a ratio measured this way holds on a
busy machine where two runs one after the other do not.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from spgrasp_ros.bench.sam2_baseline import sam2_stream
from spgrasp_ros.devices import synchronize
from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.timing import summarise
from spgrasp_ros.tracker.streaming import GraspTracker


@contextmanager
def _own_matmul_settings(saved: tuple[bool, bool]) -> Iterator[None]:
    """The TF32 flags the tracker runs with alone, while sam2's settings are in force around it (CUDA)."""
    current = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = current


def run_interleaved(tracker: GraspTracker, config: ModelConfig, frames: list[np.ndarray], frames_dir: Path,
                    boxes: list, warmup: int, vos_optimized: bool | None = None, checkpoint: str | None = None,
                    compile_mode: str | None = None) -> dict:
    """Time ``tracker`` (end to end: numpy frame in, grasps and masks on the host) and sam2's predictor on the
    JPEG frames of ``frames_dir`` (decoded back as ``frames``) alternately; the prompt frame and ``warmup``
    frames are not counted. Returns both series' summaries and the per-frame ratio ours / sam2."""
    device = tracker.device
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    ours: list[float] = []
    theirs: list[float] = []
    with sam2_stream(config, frames_dir, boxes, str(device), vos_optimized, checkpoint, compile_mode) as stream:
        def step_ours(frame: np.ndarray, prompt: Prompt | None = None) -> float:
            with _own_matmul_settings(saved):
                synchronize(device)
                began = time.perf_counter()
                tracker.step(frame, prompt)
                synchronize(device)
                return (time.perf_counter() - began) * 1000.0

        step_ours(frames[0], Prompt.create(boxes=boxes))
        stream.next_ms()  # sam2's prompt frame
        for index, frame in enumerate(frames[1:]):
            if index % 2 == 0:
                mine, other = step_ours(frame), stream.next_ms()
            else:
                other, mine = stream.next_ms(), step_ours(frame)
            if other is None:
                break
            if index >= warmup:
                ours.append(mine)
                theirs.append(other)
        meta = stream.meta
    ratios = np.asarray(ours) / np.asarray(theirs)
    return {"frames": len(ours), "warmup": warmup, "sam2": meta, "ours_ms": summarise(ours),
            "sam2_ms": summarise(theirs), "ratio_per_frame": summarise(ratios.tolist()),
            "ratio_of_medians": float(np.median(ours) / np.median(theirs)) if ours else float("nan")}
