"""``precision: auto`` on a CPU, decided by measurement: the tracker runs a short probe stream in float32 and in
bf16 autocast, and bf16 is kept only when it is clearly faster and gives the same masks.

Whether bf16 pays on a CPU depends on the chip (AMX or AVX512-BF16 units) and on the model: on this project's
2-core machine (AVX512-BF16, no AMX) the 1.4 M-parameter demo model is slower in bf16 (18 vs 14 ms a frame),
while Hiera-T at 512 px on a CPU with AMX runs about 2x faster with mask IoU >= 0.99 (issue 14). So ``auto``
measures, once per loaded tracker (``tracker.build.load_tracker``): the two precisions alternate over
``ROUNDS`` rounds of a prompt frame plus ``FRAMES`` tracking frames of a synthetic scene at the model's input
size; bf16 is chosen when its median frame time is at most ``1 / SPEEDUP_NEEDED`` of float32's and the masks
of the two agree (IoU >= ``MIN_MASK_IOU``). On CUDA ``auto`` is bf16 autocast without measuring (sam2's video
predictor's choice). The choice and its numbers are kept on the tracker (``precision_choice``) and logged.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from spgrasp_ros.prompts import Prompt

SPEEDUP_NEEDED = 1.25  # bf16 must be at least this much faster (a smaller gain is within a busy CPU's noise)
MIN_MASK_IOU = 0.99  # ... and its masks agree with float32's at least this well
ROUNDS, FRAMES = 2, 3  # probe rounds per precision, tracking frames per round


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``auto`` chose and why."""

    precision: str  # "float32" or "bfloat16"
    float32_ms: float = math.nan  # median probe frame time [ms] (NaN: not measured)
    bfloat16_ms: float = math.nan
    mask_iou: float = math.nan  # IoU of the probe's last masks, bf16 against float32

    def describe(self) -> str:
        """One line for logs."""
        if math.isnan(self.float32_ms):
            return f"precision {self.precision} (auto, not measured)"
        return (f"precision {self.precision} (auto: float32 {self.float32_ms:.1f} ms, bf16 {self.bfloat16_ms:.1f} "
                f"ms a probe frame, mask IoU {self.mask_iou:.3f})")


def decide(float32_ms: float, bfloat16_ms: float, mask_iou: float) -> str:
    """The rule (module notes): bf16 when clearly faster with the same masks, else float32."""
    fast = bfloat16_ms * SPEEDUP_NEEDED <= float32_ms
    return "bfloat16" if fast and mask_iou >= MIN_MASK_IOU else "float32"


def _probe_scene(size: int) -> tuple[np.ndarray, list[float]]:
    """A textured [size, size, 3] frame with one bright object, and the object's box."""
    rng = np.random.default_rng(0)
    frame = rng.integers(40, 120, (size, size, 3), dtype=np.uint8)
    lo, hi = size // 3, 2 * size // 3
    frame[lo:hi, lo:hi] = (220, 60, 40)
    return frame, [float(lo), float(lo), float(hi), float(hi)]


def _run(tracker, frame: np.ndarray, box: list[float], precision: str) -> tuple[list[float], np.ndarray]:
    tracker.precision = precision
    tracker.step(frame, Prompt.create(boxes=[box]))
    times, masks = [], None
    for k in range(FRAMES):
        shifted = np.roll(frame, k + 1, axis=1)  # the object moves a little
        start = time.perf_counter()
        masks = tracker.step(shifted).masks
        times.append((time.perf_counter() - start) * 1000.0)
    tracker.reset(restart_ids=True)
    return times, masks


def choose_precision(tracker) -> PrecisionChoice:
    """Measure and set ``auto``'s precision on a freshly built ``GraspTracker`` (its tracking state is left
    empty and its ids restart at 1)."""
    if tracker.device.type == "cuda":
        choice = PrecisionChoice("bfloat16")
    else:
        frame, box = _probe_scene(tracker.model_config.image_size)
        times: dict[str, list[float]] = {"float32": [], "bfloat16": []}
        masks: dict[str, np.ndarray] = {}
        for _ in range(ROUNDS):
            for precision in times:
                spent, masks[precision] = _run(tracker, frame, box, precision)
                times[precision] += spent
        a, b = masks["float32"], masks["bfloat16"]
        union = np.logical_or(a, b).sum()
        iou = float(np.logical_and(a, b).sum() / union) if union else 1.0
        f32, bf16 = float(np.median(times["float32"])), float(np.median(times["bfloat16"]))
        choice = PrecisionChoice(decide(f32, bf16, iou), f32, bf16, iou)
    tracker.precision = choice.precision
    tracker.precision_choice = choice
    return choice
