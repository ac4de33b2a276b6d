"""``precision: auto`` on a CPU decided by measurement (tracker.precision_probe)."""

import math

import numpy as np

from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import load_tracker
from spgrasp_ros.tracker.precision_probe import MIN_MASK_IOU, SPEEDUP_NEEDED, PrecisionChoice, decide


def test_the_rule():
    assert decide(20.0, 20.0 / SPEEDUP_NEEDED, 1.0) == "bfloat16"
    assert decide(20.0, 20.0 / SPEEDUP_NEEDED + 0.5, 1.0) == "float32", "not clearly faster"
    assert decide(20.0, 5.0, MIN_MASK_IOU - 0.01) == "float32", "faster but other masks"
    assert "not measured" in PrecisionChoice("bfloat16").describe()


def test_auto_is_measured_on_the_cpu_and_leaves_a_fresh_tracker():
    tracker = load_tracker("demo", "cpu")
    choice = tracker.precision_choice
    assert choice is not None and tracker.precision == choice.precision
    assert all(math.isfinite(v) and v > 0 for v in (choice.float32_ms, choice.bfloat16_ms))
    assert 0.0 <= choice.mask_iou <= 1.0
    assert choice.precision == decide(choice.float32_ms, choice.bfloat16_ms, choice.mask_iou)
    assert "float32" in choice.describe() and "bf16" in choice.describe()
    assert tracker.object_ids == [] and tracker.frame_index == -1
    frame = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    out = tracker.step(frame, Prompt.create(boxes=[[40, 30, 90, 80]]))
    assert out.created_ids == [1] and out.result.frame_index == 0
    explicit = load_tracker("demo", "cpu", precision="float32")
    assert explicit.precision_choice is None and explicit.precision == "float32"
