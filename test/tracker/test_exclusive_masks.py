"""Exclusive masks: with ``TrackerConfig.exclusive_masks`` a pixel belongs to at most one tracked object, across
prompts, and no object's mask or grasp reaches a pixel that another tracked object claims more strongly."""

import numpy as np

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.data.types import object_box
from spgrasp_ros.model.checkpoints import load_checkpoint
from spgrasp_ros.models import resolve_checkpoint
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.streaming import GraspTracker, TrackerConfig


def _run(exclusive: bool) -> list:
    """Two objects prompted by overlapping boxes (one around object A, one around A and B), the second in a
    later prompt (its own cohort), then three frames without prompts; the outputs of every frame."""
    model, config, _ = load_checkpoint(resolve_checkpoint("demo"))
    tracker = GraspTracker(model, config, TrackerConfig(search_window=0.1, exclusive_masks=exclusive))
    sequence = generate_clip(SynthConfig(frames=5, min_objects=2, max_objects=2, occlusion_probability=0.0),
                             100_123).to_sequence()
    first = sequence.frames[0]
    masks = first.load_masks()
    a, b = (object_box(first, o.object_id, masks, (160, 120)) for o in first.objects[:2])
    both = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
    outputs = [tracker.step(first.load_image(), Prompt.create(boxes=[a.tolist()]))]
    outputs.append(tracker.step(sequence.frames[1].load_image(), Prompt.create(boxes=[both], append=True)))
    outputs += [tracker.step(frame.load_image()) for frame in sequence.frames[2:]]
    return outputs


def test_exclusive_masks_never_overlap_and_only_shrink():
    shared, exclusive = _run(False), _run(True)
    overlapping = sum(int((out.masks[0] & out.masks[1]).sum()) for out in shared[1:])
    assert overlapping > 50, "the broad box's mask covers object A too (otherwise this test shows nothing)"
    for plain, only in zip(shared[1:], exclusive[1:]):
        assert not (only.masks[0] & only.masks[1]).any()
        assert not (only.masks & ~plain.masks).any(), "a mask only loses the pixels another object claims"
        ids = [state.id for state in only.result.objects]  # the order of only.masks
        for grasp in only.result.grasps:  # grasp centres lie on their own object's side
            other = only.masks[1 - ids.index(grasp.object_id)]
            x, y = (min(int(v), limit - 1) for v, limit in zip(grasp.center, (160, 120)))
            assert not other[y, x]
    assert np.array_equal(shared[0].masks, exclusive[0].masks), "one object: nothing to exclude"
