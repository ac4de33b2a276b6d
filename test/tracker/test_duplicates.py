"""Two tracks on one object: the duplicate rule, and the tracker with it on (one of two tracks prompted on the
same object keeps it, the other reads as lost and its memory does not learn it)."""

import numpy as np
import torch

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import load_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.duplicates import duplicate_losers

NAN = float("nan")


def _logits(*boxes, size=16):
    out = torch.full((len(boxes), 1, size, size), -5.0)
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        out[k, 0, y0:y1, x0:x1] = 5.0
    return out


def test_the_rule():
    # 0 and 1 on one place, 2 elsewhere; 1's mask agrees with its prediction, 0's prediction is elsewhere
    logits = _logits((2, 2, 8, 8), (2, 2, 8, 9), (10, 10, 14, 14))
    predicted = torch.tensor([[40.0, 40, 60, 60], [8, 8, 32, 36], [40, 40, 56, 56]])
    scores = torch.tensor([3.0, 1.0, 1.0])
    none = torch.zeros(3, dtype=torch.bool)
    assert duplicate_losers(logits, predicted, scores, none, 64, 0.6).tolist() == [True, False, False]
    # without predictions: the higher object score wins; a prompted object always wins
    unknown = torch.full((3, 4), NAN)
    assert duplicate_losers(logits, unknown, scores, none, 64, 0.6).tolist() == [False, True, False]
    prompted = torch.tensor([False, True, False])
    assert duplicate_losers(logits, unknown, scores, prompted, 64, 0.6).tolist() == [True, False, False]
    # below the threshold nothing is a duplicate; one object alone never loses
    apart = _logits((2, 2, 8, 8), (5, 2, 11, 8))
    assert not duplicate_losers(apart, torch.full((2, 4), NAN), scores[:2], none[:2], 64, 0.6).any()
    assert not duplicate_losers(logits[:1], unknown[:1], scores[:1], none[:1], 64, 0.6).any()


def test_two_tracks_prompted_on_one_object():
    clip = generate_clip(SynthConfig(frames=6, min_objects=1, max_objects=1, occlusion_probability=0.0), 100_901)
    frames = clip.to_sequence().frames
    masks = frames[0].load_masks()
    ys, xs = np.nonzero(masks == frames[0].objects[0].object_id)
    box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    visible = {}
    for resolve in (False, True):
        tracker = load_tracker("demo", "cpu", TrackerConfig(resolve_duplicates=resolve, exclusive_masks=False),
                               precision="float32")
        tracker.step(frames[0].load_image(), Prompt.create(boxes=[box, box]))
        visible[resolve] = [[s.visible for s in tracker.step(f.load_image()).result.objects] for f in frames[1:]]
    assert all(v == [True, True] for v in visible[False]), "off: both tracks report the object"
    assert all(sum(v) == 1 for v in visible[True]), f"on: one track holds it, the other is lost: {visible[True]}"
