"""The tracker's streaming memory is SAM 2's: object masks equal sam2's own SAM2VideoPredictor, frame by frame.

Same weights, the same preprocessed frames, box prompts on frame 0, 40 frames streamed; the tracker keeps a
bounded memory and batches both objects, the predictor keeps everything and runs objects one by one.
"""

import numpy as np
import pytest
import torch
from sam2_reference import BOXES, moving_shapes_video, predictor_and_model

from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _run_both(tmp_path, object_score_bias: float, n_hist: int | None = None):
    predictor, model, config = predictor_and_model(object_score_bias=object_score_bias, n_hist=n_hist)
    frames = moving_shapes_video(tmp_path / "video")
    height, width = frames[0].shape[:2]
    with torch.inference_mode():
        state = predictor.init_state(video_path=str(tmp_path / "video"))
        for object_id, box in enumerate(BOXES, start=1):
            predictor.add_new_points_or_box(state, frame_idx=0, obj_id=object_id, box=np.array(box))
        reference = {f: (logits[:, 0] > 0).numpy() for f, _, logits in predictor.propagate_in_video(state)}
    tracker = build_tracker(model, config, TrackerConfig.paper())  # sam2's own rules: no window, overlaps
    ours = []
    for f in range(len(frames)):
        prompt = Prompt.create(boxes=BOXES) if f == 0 else None
        ours.append(tracker.step_preprocessed(state["images"][f], (width, height), prompt))
    return reference, ours


def test_masks_match_sam2_video_predictor(tmp_path):
    reference, ours = _run_both(tmp_path, object_score_bias=3.0)
    assert len(reference) == len(ours) == 40
    worst = min(_iou(ours[f].masks[b], reference[f][b]) for f in range(40) for b in range(2))
    # The issue asks for >= 0.99; the tracker is exact here (1.0), and 0.999 also catches subtle drift:
    # a pointer window cut to n_hist frames scores 0.9917, no history at all 0.858.
    assert worst >= 0.999, f"worst per-frame IoU {worst:.5f}"
    assert all(o.masks.shape == (2, 240, 320) for o in ours)
    assert all(ours[f].masks[b].any() for f in range(40) for b in range(2)), "masks should be non-empty here"
    assert [s.id for s in ours[-1].result.objects] == [1, 2]
    assert all(s.visible for o in ours for s in o.result.objects)


def test_absent_objects_are_lost_in_both(tmp_path):
    reference, ours = _run_both(tmp_path, object_score_bias=-5.0)
    assert not any(m.any() for m in reference.values()), "sam2 reports the objects absent"
    assert not any(o.masks.any() for o in ours)
    last = ours[-1].result
    assert [s.visible for s in last.objects] == [False, False]
    assert [s.frames_lost for s in last.objects] == [40, 40]
    assert last.grasps == ()
    assert all(s.presence_score == pytest.approx(torch.sigmoid(torch.tensor(-5.0)).item(), abs=0.05)
               for s in last.objects)


def test_clicks_of_different_counts_match_sam2(tmp_path):
    """One object prompted by one click, another by two (a foreground and a background click): sam2 runs each
    object alone, so neither gets the other's padding and the one-click object keeps sam2's multimask choice."""
    predictor, model, config = predictor_and_model(object_score_bias=3.0)
    frames = moving_shapes_video(tmp_path / "video")
    height, width = frames[0].shape[:2]
    clicks = {1: ([[60.0, 80.0]], [1]), 2: ([[225.0, 170.0], [150.0, 120.0]], [1, 0])}
    with torch.inference_mode():
        state = predictor.init_state(video_path=str(tmp_path / "video"))
        for object_id, (points, labels) in clicks.items():
            predictor.add_new_points_or_box(state, frame_idx=0, obj_id=object_id, points=np.array(points),
                                            labels=np.array(labels, np.int32))
        reference = {f: (logits[:, 0] > 0).numpy() for f, _, logits in predictor.propagate_in_video(state)}
    tracker = build_tracker(model, config, TrackerConfig.paper())
    prompt = Prompt.create(points=[p for points, _ in clicks.values() for p in points],
                           labels=[x for _, labels in clicks.values() for x in labels], point_objects=[0, 1, 1])
    ours = [tracker.step_preprocessed(state["images"][f], (width, height), prompt if f == 0 else None)
            for f in range(len(frames))]
    assert ours[0].created_ids == [1, 2]
    worst = min(_iou(ours[f].masks[b], reference[f][b]) for f in range(len(frames)) for b in range(2))
    assert worst >= 0.999, f"worst per-frame IoU {worst:.5f}"


def test_mask_prompts_match_sam2(tmp_path):
    """Mask prompts: resized as sam2 resizes them (antialiased bilinear, >= 0.5), and the prompt frame's memory
    encoded from the upsampled low-resolution mask, as sam2 re-encodes it."""
    predictor, model, config = predictor_and_model(object_score_bias=3.0)
    frames = moving_shapes_video(tmp_path / "video")
    height, width = frames[0].shape[:2]
    yy, xx = np.mgrid[:height, :width]
    masks = [((xx - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2 + ((yy - (y0 + y1) / 2) / ((y1 - y0) / 2)) ** 2 <= 1
             for x0, y0, x1, y1 in BOXES]  # ellipses: edges that resizing has to get right
    with torch.inference_mode():
        state = predictor.init_state(video_path=str(tmp_path / "video"))
        for object_id, mask in enumerate(masks, start=1):
            predictor.add_new_mask(state, frame_idx=0, obj_id=object_id, mask=mask)
        reference = {f: (logits[:, 0] > 0).numpy() for f, _, logits in predictor.propagate_in_video(state)}
    tracker = build_tracker(model, config, TrackerConfig.paper())
    ours = [tracker.step_preprocessed(state["images"][f], (width, height),
                                      Prompt.create(masks=np.stack(masks)) if f == 0 else None)
            for f in range(len(frames))]
    worst = min(_iou(ours[f].masks[b], reference[f][b]) for f in range(len(frames)) for b in range(2))
    assert worst >= 0.999, f"worst per-frame IoU {worst:.5f}"


def test_no_memory_ablation_matches_sam2_with_one_memory_frame(tmp_path):
    """n_hist 0 (the paper's no-memory ablation) is sam2 with num_maskmem 1: only the prompt frame's spatial
    memory, and still the recent object pointers."""
    reference, ours = _run_both(tmp_path, object_score_bias=3.0, n_hist=0)
    worst = min(_iou(ours[f].masks[b], reference[f][b]) for f in range(40) for b in range(2))
    assert worst >= 0.999, f"worst per-frame IoU {worst:.5f}"
