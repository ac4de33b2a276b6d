"""Distractor anchors: which frames are ambiguous, how the bank keeps one anchor entry per cohort, and the
tracker with anchors on (flat memory, anchors written on look-alike scenes, off = unchanged)."""

import numpy as np
import torch

from spgrasp_ros.data.synth_suites import suite_sequences
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import load_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.distractor_anchors import AnchorRule, anchor_rows, distractor_flags
from spgrasp_ros.tracker.memory_bank import MemoryBank
from spgrasp_ros.tracker.memory_selection import ConfidentFrames

RULE = AnchorRule()


def _blob(x0, y0, x1, y1, size=16):
    logits = torch.full((size, size), -5.0)
    logits[y0:y1, x0:x1] = 5.0
    return logits


def test_ambiguous_when_another_place_scores_close():
    masks = torch.stack([
        torch.stack([_blob(1, 1, 4, 4), _blob(10, 10, 14, 14), _blob(1, 1, 5, 5)]),  # a look-alike elsewhere
        torch.stack([_blob(1, 1, 4, 4), _blob(1, 1, 5, 5), _blob(0, 0, 4, 4)]),  # alternatives overlap it
        torch.stack([_blob(1, 1, 4, 4), _blob(10, 10, 14, 14), _blob(1, 1, 5, 5)]),  # elsewhere, but much worse
    ])
    iou = torch.tensor([[0.9, 0.85, 0.5], [0.9, 0.88, 0.89], [0.9, 0.5, 0.6]])
    ambiguous, box = distractor_flags(masks, iou, torch.tensor([0, 0, 0]), 64, RULE)
    assert ambiguous.tolist() == [True, False, False]
    assert box[0].tolist() == [4.0, 4.0, 16.0, 16.0]  # the chosen candidate, in model px (map x 4)
    # the anchor rule: ambiguous, visible, whole, agreeing (or no prediction), spaced
    rows = anchor_rows(np.array([True, True, True, True, False]), np.array([True, False, True, True, True]),
                       np.ones(5, bool), np.array([0.9, 0.9, np.nan, 0.2, 0.9]), np.array([5, 9, 9, 9, 9]), RULE)
    assert rows.tolist() == [True, False, True, False, False]
    assert not anchor_rows(np.array([True]), np.array([True]), np.array([True]), np.array([0.9]),
                           np.array([RULE.min_spacing - 1]), RULE).any()


def _entry(value, batch=2):
    return {"maskmem_features": torch.full((batch, 4, 2, 2), float(value)),
            "maskmem_pos_enc": [torch.zeros(batch, 4, 2, 2)],
            "obj_ptr": torch.full((batch, 8), float(value)), "object_score_logits": torch.full((batch, 1), 1.0)}


def test_one_anchor_entry_per_bank_replaced_in_place():
    policy = ConfidentFrames()
    bank = MemoryBank(0, _entry(0), n_hist=2, max_obj_ptrs=3)
    policy.commit(bank, 1, _entry(1), None, np.array([True, True]), np.array([False, False]))
    assert sorted(bank.as_sam2_dict()["cond_frame_outputs"]) == [0], "no anchor yet"
    policy.commit(bank, 2, _entry(2), None, np.array([True, True]), np.array([True, False]))
    cond = bank.as_sam2_dict()["cond_frame_outputs"]
    assert sorted(cond) == [0, 2]
    assert cond[2]["maskmem_features"][:, 0, 0, 0].tolist() == [2.0, 0.0], "object 1 keeps its prompt memory"
    assert bank.anchor_frames.tolist() == [2, 0]
    count = len(bank.tensors())
    for frame in range(3, 12):
        policy.commit(bank, frame, _entry(frame), None, np.array([True, True]), np.array([False, frame == 7]))
    cond = bank.as_sam2_dict()["cond_frame_outputs"]
    assert sorted(cond) == [0, 7], "the anchor entry moved, never a second one"
    assert cond[7]["obj_ptr"][:, 0].tolist() == [2.0, 7.0] and bank.anchor_frames.tolist() == [2, 7]
    assert len(bank.tensors()) == count, "flat memory"
    assert cond[7]["maskmem_pos_enc"] is cond[0]["maskmem_pos_enc"], "one shared position encoding"
    one = bank.select(torch.tensor([1]))
    kept = one.as_sam2_dict()["cond_frame_outputs"]
    assert sorted(kept) == [0, 7] and kept[7]["obj_ptr"][:, 0].tolist() == [7.0]
    assert one.anchor_frames.tolist() == [7] and kept[7]["maskmem_pos_enc"] is kept[0]["maskmem_pos_enc"]


def _run(tracker, sequence):
    frames = sequence.frames
    first = frames[0]
    masks = first.load_masks()
    boxes = []
    for obj in first.objects:
        ys, xs = np.nonzero(masks == obj.object_id)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    outputs = [tracker.step(first.load_image(), Prompt.create(boxes=boxes))]
    sizes, anchored = set(), 0
    for t, frame in enumerate(frames[1:], 1):
        outputs.append(tracker.step(frame.load_image()))
        kept = len(tracker._cohorts[0].bank.as_sam2_dict()["cond_frame_outputs"]) - 1
        if t > tracker.memory_fill_levels:  # the bank is full: (anchor or not, bytes) can take two values
            sizes.add((kept, sum(t.numel() * t.element_size() for t in tracker.state_tensors())))
        anchored = max(anchored, kept)
    return outputs, sizes, anchored


def test_tracker_with_anchors_on_twins():
    sequences = suite_sequences("twins", sequences=2)
    plain = load_tracker("demo", "cpu", TrackerConfig())
    anchors = load_tracker("demo", "cpu", TrackerConfig(memory_anchors=True))
    written = 0
    for sequence in sequences:
        off, _, none = _run(plain, sequence)
        on, sizes, anchored = _run(anchors, sequence)
        assert none == 0, "anchors off: only the prompt frame conditions"
        written += anchored
        assert len(sizes) == len({kept for kept, _ in sizes}) <= 2, "memory flat: one size without, one with anchor"
        assert all(kept <= 1 for kept, _ in sizes)
        assert (off[0].masks == on[0].masks).all(), "the prompt frame is the same"
    assert written > 0, "look-alikes crossing make ambiguous frames that become anchors"
