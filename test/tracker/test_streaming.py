"""Streaming tracker behaviour: bounded memory, prompt semantics, bad input, masks and grasps in input pixels."""

import dataclasses

import numpy as np
import pytest
import torch

from spgrasp_ros.grasps.frame_geometry import LETTERBOX, RESIZE
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt, PromptError
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.inputs import FrameError
from spgrasp_ros.tracker.streaming import NotTrackingError


def _tracker(image_size=128, preprocess=RESIZE, search_window=TrackerConfig.search_window, **changes):
    config = load_model_config("test_tiny").replace(image_size=image_size, **changes)
    torch.manual_seed(0)
    model = build_model(config)
    with torch.no_grad():  # random weights sit at the presence threshold; make objects clearly present
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.fill_(3.0)
    return build_tracker(model, config, TrackerConfig(preprocess=preprocess, search_window=search_window))


def _frames(count, size=(96, 64), seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    for t in range(count):
        yield np.roll(base, t % 7, axis=1)


def _state_signature(tracker):
    tensors = tracker.state_tensors()
    return len(tensors), sum(t.numel() * t.element_size() for t in tensors)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # ~60 s on an idle 2-core machine; much longer when the CPU is shared
def test_memory_is_bounded_over_5000_frames():
    tracker = _tracker()
    frames = _frames(5000)
    tracker.step(next(frames), Prompt.create(boxes=[[10, 10, 40, 40], [50, 20, 90, 60]]))
    signatures = {}
    for index, frame in enumerate(frames, start=1):
        tracker.step(frame)
        if index in (100, 1000, 4999):
            signatures[index] = _state_signature(tracker)
    assert tracker.frame_index == 4999
    assert signatures[100] == signatures[1000] == signatures[4999], signatures
    # prompt frame (full) + 6 recent (full) + 9 pointer-only entries, for one batched cohort of two objects,
    # and the cohort's search-window boxes (the deployed default); one position encoding shared by all entries
    count, size = signatures[4999]
    assert count == 4 + 3 * 6 + 2 * 9 + 1, count  # features, pointer, score per full entry; 2 per pointer entry


def test_append_remove_reset_and_ids():
    tracker = _tracker()
    frames = _frames(20)
    out = tracker.step(next(frames), Prompt.create(boxes=[[10, 10, 40, 40], [50, 20, 90, 60]]))
    assert [s.id for s in out.result.objects] == [1, 2] and out.masks.shape == (2, 64, 96)
    tracker.step(next(frames))
    out = tracker.step(next(frames), Prompt.create(points=[[70, 30], [75, 35]], labels=[1, 1], append=True))
    assert tracker.object_ids == [1, 2, 3] and out.created_ids == [3]
    assert [s.frames_since_prompt for s in out.result.objects] == [2, 2, 0]
    tracker.remove([2])
    out = tracker.step(next(frames))
    assert [s.id for s in out.result.objects] == [1, 3] and out.masks.shape == (2, 64, 96)
    out = tracker.step(next(frames), Prompt.create(boxes=[[0, 0, 30, 30]]))  # no append: re-target
    assert [s.id for s in out.result.objects] == [4] and out.result.objects[0].frames_since_prompt == 0
    out = tracker.step(next(frames), Prompt.create(append=True, remove_ids=[4], boxes=[[5, 5, 20, 20]]))
    assert tracker.object_ids == [5]
    out = tracker.step(next(frames), Prompt.create())  # empty prompt: clear
    assert tracker.object_ids == [] and out.result.objects == () and out.masks.shape == (0, 64, 96)
    with pytest.raises(NotTrackingError, match="no object is tracked"):
        tracker.step(next(frames))


def test_mask_prompts_and_position_memory_run():
    tracker = _tracker(memory_source="position")
    frames = _frames(6)
    mask = np.zeros((64, 96), dtype=bool)
    mask[20:40, 30:60] = True
    out = tracker.step(next(frames), Prompt.create(masks=[mask], boxes=[[60, 5, 90, 30]]))
    assert [s.id for s in out.result.objects] == [1, 2]
    for frame in frames:
        out = tracker.step(frame)
    assert out.masks.shape == (2, 64, 96) and tracker.frame_index == 5


@pytest.mark.parametrize("preprocess", [RESIZE, LETTERBOX])
@pytest.mark.parametrize("size", [(96, 64), (50, 120)])
def test_grasps_and_masks_are_in_input_pixels(preprocess, size):
    tracker = _tracker(preprocess=preprocess)
    width, height = size
    frames = list(_frames(5, size))
    out = tracker.step(frames[0], Prompt.create(boxes=[[2, 2, width - 2, height - 2]]))
    for frame in frames[1:]:
        out = tracker.step(frame)
    assert out.masks.shape == (1, height, width)
    state = out.result.objects[0]
    assert state.mask_area == int(out.masks[0].sum())
    if state.mask_area:
        x0, y0, x1, y1 = state.bbox
        ys, xs = np.nonzero(out.masks[0])
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    cell = max(width, height) / tracker.model_config.image_size * 4  # one grasp-map pixel in input px
    for grasp in out.result.grasps:
        assert -cell <= grasp.center[0] <= width + cell and -cell <= grasp.center[1] <= height + cell
        assert -np.pi / 2 <= grasp.angle < np.pi / 2 and grasp.width >= 0
        assert grasp.jaw_size == pytest.approx(grasp.width * tracker.config.decode.jaw_ratio)
    # each object's grasps: its steady best first, then the others by descending score (FrameResult docs)
    others = [g.score for g in out.result.grasps_of(state.id)[1:]]
    assert others == sorted(others, reverse=True)
    assert all((g.track_id > 0) == tracker.config.steady_grasps for g in out.result.grasps), "track ids iff steady"


@pytest.mark.parametrize(
    "frame, message",
    [
        (np.zeros((64, 96), np.uint8), "HxWx3 uint8"),
        (np.zeros((64, 96, 4), np.uint8), "HxWx3 uint8"),
        (np.zeros((64, 96, 3), np.float32), "HxWx3 uint8"),
        (torch.zeros(3, 64, 96, dtype=torch.uint8), "HxWx3 uint8"),
        ([[0, 0, 0]], "numpy arrays or torch tensors"),
        (np.zeros((1, 96, 3), np.uint8), "too small"),
    ],
)
def test_bad_frames_raise_and_change_nothing(frame, message):
    tracker = _tracker()
    tracker.step(next(_frames(1)), Prompt.create(boxes=[[10, 10, 40, 40]]))
    before = (tracker.object_ids, tracker.frame_index, _state_signature(tracker))
    with pytest.raises(FrameError, match=message):
        tracker.step(frame)
    assert (tracker.object_ids, tracker.frame_index, _state_signature(tracker)) == before


@pytest.mark.parametrize(
    "prompt, message",
    [
        (dict(boxes=[[np.nan, 0, 10, 10]]), "non-finite"),
        (dict(boxes=[[10, 10, 5, 20]]), "degenerate"),
        (dict(boxes=[[0, 0, 97, 10]]), "outside the 96x64 image"),
        (dict(points=[[1, 2], [3, 4]], labels=[1]), "2 points but 1 labels"),
        (dict(masks=[np.zeros((10, 10), bool)]), "mask 0 is 10x10"),
        (dict(masks=[np.zeros((64, 96), bool)]), "mask 0 is empty"),
        (dict(remove_ids=[9], append=True), "unknown object id"),
        (dict(text="red mug."), "resolve text with the detector"),
    ],
)
def test_bad_prompts_raise_and_change_nothing(prompt, message):
    tracker = _tracker()
    frames = _frames(3)
    tracker.step(next(frames), Prompt.create(boxes=[[10, 10, 40, 40]]))
    before = (tracker.object_ids, tracker.frame_index, _state_signature(tracker))
    with pytest.raises(PromptError, match=message):
        tracker.step(next(frames), Prompt.create(**prompt))
    assert (tracker.object_ids, tracker.frame_index, _state_signature(tracker)) == before
    with pytest.raises(PromptError, match="unknown object id"):
        tracker.remove([42])
    assert tracker.step(next(frames)).result.frame_index == 1, "the tracker goes on after the refusals"


def test_tracking_before_any_prompt_and_preprocessed_shape():
    tracker = _tracker()
    with pytest.raises(NotTrackingError):
        tracker.step(next(_frames(1)))
    assert tracker.frame_index == -1
    with pytest.raises(FrameError, match=r"\[1, 3, 128, 128\]"):
        tracker.step_preprocessed(torch.zeros(3, 64, 64), (64, 64), Prompt.create(boxes=[[1, 1, 9, 9]]))


def test_shorter_memory_of_a_checkpoint_tracks_past_it(tmp_path):
    """The same weights run with a shorter memory (eval --n-hist): frames older than n_hist are pointers
    only, which the model built for that length never reads as spatial memory."""
    from spgrasp_ros.model.checkpoints import load_checkpoint, save_checkpoint

    config = load_model_config("test_tiny").replace(image_size=128, n_hist=4)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "model.pt", build_model(config), config, trained={"grasp_head": True})
    model, short, _ = load_checkpoint(tmp_path / "model.pt", n_hist=2)
    with pytest.raises(ValueError, match="built for n_hist=2, the config says n_hist=4"):
        build_tracker(model, config)
    tracker = build_tracker(model, short)
    frames = _frames(8)
    tracker.step(next(frames), Prompt.create(boxes=[[10, 10, 40, 40]]))
    for frame in frames:
        out = tracker.step(frame)
    assert out.masks.shape == (1, 64, 96) and tracker.frame_index == 7


def test_no_memory_mode_keeps_only_the_prompt_frame_and_pointers():
    """n_hist 0: the prompt frame's full entry and, as sam2 with one memory frame, the recent pointers only;
    flat once the pointer window (max_obj_ptrs - 1 frames) has filled."""
    tracker = _tracker(n_hist=0, search_window=0.0)  # no window box: the state is the memory alone
    window = tracker.model_config.max_obj_ptrs - 1
    frames = _frames(window + 10)
    tracker.step(next(frames), Prompt.create(boxes=[[10, 10, 40, 40]]))
    counts = set()
    for index, frame in enumerate(frames, start=1):
        out = tracker.step(frame)
        if index >= window:
            counts.add(_state_signature(tracker))
    assert counts == {_state_signature(tracker)}, counts
    assert _state_signature(tracker)[0] == 4 + 2 * window, "prompt entry + pointer and score per recent frame"
    assert all(set(e) == {"obj_ptr", "object_score_logits"}
               for e in tracker._cohorts[0].bank.as_sam2_dict()["non_cond_frame_outputs"].values())
    assert out.masks.shape == (1, 64, 96)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_cuda_bf16_agrees_with_cpu_float32():
    cpu, gpu = _tracker(image_size=256), _tracker(image_size=256)
    gpu = build_tracker(gpu.model, gpu.model_config, gpu.config, device="cuda")
    frames = list(_frames(10))
    prompt = Prompt.create(boxes=[[10, 10, 40, 40], [50, 20, 90, 60]])
    for index, frame in enumerate(frames):
        a = cpu.step(frame, prompt if index == 0 else None)
        b = gpu.step(frame, prompt if index == 0 else None)
        for m_cpu, m_gpu in zip(a.masks, b.masks):
            union = np.logical_or(m_cpu, m_gpu).sum()
            assert union == 0 or np.logical_and(m_cpu, m_gpu).sum() / union > 0.95


def test_steady_grasps_and_object_states_when_switched_on():
    tracker = _tracker()
    tracker.config = dataclasses.replace(tracker.config, steady_grasps=True)
    frames = list(_frames(8))
    outs = [tracker.step(frames[0], Prompt.create(boxes=[[10, 10, 60, 50]]))] + [tracker.step(f) for f in frames[1:]]
    grasps = [g for out in outs for g in out.result.grasps]
    assert grasps and all(g.track_id > 0 and 0.0 <= g.stability <= 1.0 for g in grasps)
    best = [out.result.best_grasp(1).track_id for out in outs if out.result.best_grasp(1) is not None]
    assert len(set(best)) <= 3, f"the best grasp keeps its track: {best}"
    assert all(s.state in ("tracking", "lost", "reacquired") for out in outs for s in out.result.objects)
    assert all((s.state == "lost") == (not s.visible) for out in outs for s in out.result.objects)
    tracker.reset()
    assert tracker.steady.num_tracks == 0
