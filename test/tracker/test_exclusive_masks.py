"""Exclusive masks: with ``TrackerConfig.exclusive_masks`` a pixel belongs to at most one tracked object, across
prompts, and no object's mask or grasp reaches a pixel that another tracked object claims more strongly."""

import numpy as np
import torch

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.data.types import object_box
from spgrasp_ros.model.checkpoints import load_checkpoint
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.weights import resolve_checkpoint


def _run(exclusive: bool, windows: list | None = None) -> list:
    """Two objects prompted by overlapping boxes (one around object A, one around A and B), the second in a
    later prompt (its own cohort), then three frames without prompts; the outputs of every frame. ``windows``
    gets, per frame, each object's search-window box [model px] for the next frame."""
    model, config, _ = load_checkpoint(resolve_checkpoint("demo"))
    tracker = build_tracker(model, config, TrackerConfig(search_window=0.1, exclusive_masks=exclusive))
    sequence = generate_clip(SynthConfig(frames=5, min_objects=2, max_objects=2, occlusion_probability=0.0),
                             100_123).to_sequence()
    first = sequence.frames[0]
    masks = first.load_masks()
    a, b = (object_box(first, o.object_id, masks, (160, 120)) for o in first.objects[:2])
    both = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
    prompts = [Prompt.create(boxes=[a.tolist()]), Prompt.create(boxes=[both], append=True)]
    outputs = []
    for t, frame in enumerate(sequence.frames):
        outputs.append(tracker.step(frame.load_image(), prompts[t] if t < len(prompts) else None))
        if windows is not None:
            windows.append(torch.cat([cohort.boxes for cohort in tracker._cohorts]))
    return outputs


def test_exclusive_masks_never_overlap_and_only_lose_claimed_pixels():
    shared, exclusive = _run(False), _run(True)
    overlapping = sum(int((out.masks[0] & out.masks[1]).sum()) for out in shared[1:])
    assert overlapping > 50, "the broad box's mask covers object A too (otherwise this test shows nothing)"
    # frame 1: the same tracker state in both runs; a mask only loses the pixels another object claims (later
    # frames differ more: each run's search windows follow its own masks)
    assert not (exclusive[1].masks & ~shared[1].masks).any()
    assert (exclusive[1].masks != shared[1].masks).any()
    for only in exclusive[1:]:
        assert not (only.masks[0] & only.masks[1]).any()
        ids = [state.id for state in only.result.objects]  # the order of only.masks
        for grasp in only.result.grasps:  # grasp centres lie on their own object's side
            other = only.masks[1 - ids.index(grasp.object_id)]
            x, y = (min(int(v), limit - 1) for v, limit in zip(grasp.center, (160, 120)))
            assert not other[y, x]
    assert np.array_equal(shared[0].masks, exclusive[0].masks), "one object: nothing to exclude"


def test_search_windows_follow_the_exclusive_masks():
    """The broad box's object also covers object A at first; its next search window must follow only the
    pixels it holds against A (else a track that strayed onto a neighbour keeps its window there)."""
    shared_windows, exclusive_windows = [], []
    _run(False, shared_windows)
    outputs = _run(True, exclusive_windows)
    a_right = shared_windows[1][0, 2]  # object A's right edge
    assert all(w[1, 0] < a_right for w in shared_windows[1:]), "without exclusion the broad object spans A"
    scale = torch.tensor([128 / 160, 128 / 120, 128 / 160, 128 / 120])
    for out, windows in zip(outputs[1:], exclusive_windows[1:]):
        assert windows[1, 0] >= a_right, "the broad object's window must leave A's pixels to A"
        for mask, window in zip(out.masks, windows):  # the window is the box of the read-out mask
            ys, xs = np.nonzero(mask)
            box = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32) * scale
            assert (window - box).abs().max() <= 4.0, (window, box)  # one 4-px cell of the mask map
