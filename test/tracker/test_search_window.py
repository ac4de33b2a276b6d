"""Search windows: boxes grown by object size, windows at map resolution, masks' boxes, and the tracker using them."""

import numpy as np
import torch

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.data.types import object_box
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.search_window import grow_boxes, mask_boxes, window_masks


def test_boxes_grow_with_size_and_lost_frames():
    boxes = torch.tensor([[10.0, 20.0, 30.0, 30.0]])  # 20 wide, 10 high: size 20
    assert grow_boxes(boxes, 0.1, 0.25, torch.tensor([0])).tolist() == [[8.0, 18.0, 32.0, 32.0]]
    assert grow_boxes(boxes, 0.1, 0.25, torch.tensor([2])).tolist() == [[-2.0, 8.0, 42.0, 42.0]]


def test_windows_cover_the_cells_inside_and_mask_boxes_invert_them():
    windows = window_masks(torch.tensor([[16.0, 0.0, 48.0, 32.0]]), image_size=64, map_size=(16, 16))
    assert windows.shape == (1, 1, 16, 16)
    cells = windows[0, 0].nonzero()
    assert cells[:, 1].min() == 4 and cells[:, 1].max() == 11 and cells[:, 0].min() == 0 and cells[:, 0].max() == 7
    logits = torch.where(windows, 5.0, -5.0).float()
    boxes, found = mask_boxes(torch.cat([logits, torch.full_like(logits, -5.0)]), image_size=64)
    assert found.tolist() == [True, False]
    assert boxes[0].tolist() == [16.0, 0.0, 48.0, 32.0]


def test_restrict_suppresses_masks_and_grasp_peaks_outside_the_window():
    config = load_model_config("test_tiny")
    torch.manual_seed(0)
    model = build_model(config)
    tracker = build_tracker(model, config, TrackerConfig(search_window=0.0, exclusive_masks=False))
    frame = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    tracker.step(frame, Prompt.create(boxes=[[8, 8, 40, 40]]))
    cohort = tracker._cohorts[0]
    features = model.frame_features(model.forward_image(torch.zeros(1, 3, config.image_size, config.image_size)), 1)
    size = config.image_size // 4
    window = torch.zeros(1, 1, size, size, dtype=torch.bool)
    window[..., :4, :4] = True
    with torch.inference_mode():
        heads, _ = model.step(1, features, cohort.bank.as_sam2_dict(), is_prompt_frame=False, window=window)
    assert (heads.object_logits[~window.expand_as(heads.object_logits)] <= -1000).all()
    assert (heads.grasp_logits[:, :1][~window] <= -1000).all()
    assert heads.grasp_logits[:, 1:].abs().max() < 1000, "angle and width channels are left alone"


def test_the_tracker_keeps_grasps_inside_the_grown_prompt_box():
    from spgrasp_ros.model.checkpoints import load_checkpoint
    from spgrasp_ros.weights import resolve_checkpoint

    model, config, _ = load_checkpoint(resolve_checkpoint("demo"))
    tracker = build_tracker(model, config, TrackerConfig(search_window=0.1, exclusive_masks=False))
    sequence = generate_clip(SynthConfig(frames=6, min_objects=3, max_objects=3, occlusion_probability=0.0),
                             100_999).to_sequence()
    first = sequence.frames[0]
    masks = first.load_masks()
    box = object_box(first, first.objects[0].object_id, masks, (160, 120))
    out = tracker.step(first.load_image(), Prompt.create(boxes=[box.tolist()]))
    x0, y0, x1, y1 = box
    margin = 0.1 * max(x1 - x0, y1 - y0) + 2.5  # the window plus one map cell (4 model px, ~5 input px / 2)
    for grasp in out.result.grasps:
        assert x0 - margin <= grasp.center[0] <= x1 + margin and y0 - margin <= grasp.center[1] <= y1 + margin
    assert tracker.state_tensors()[-1].shape == (1, 4), "the last box is part of the bounded state"
    for frame in sequence.frames[1:]:
        tracker.step(frame.load_image())
    assert not torch.isnan(tracker._cohorts[0].boxes).any()
