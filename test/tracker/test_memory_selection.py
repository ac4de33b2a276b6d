"""The memory policy is one replaceable piece: the tracker asks its MemorySelection for each cohort's bank,
for what sam2 reads on every frame, and to commit every processed frame, and nothing else decides memory."""

import numpy as np
import torch

from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.memory_selection import RecentFrames

BOXES = [[10, 10, 40, 40], [50, 20, 90, 60]]


def _model():
    config = load_model_config("test_tiny").replace(image_size=128, n_hist=3)
    torch.manual_seed(0)
    model = build_model(config)
    with torch.no_grad():  # random weights sit at the presence threshold; make objects clearly present
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.fill_(3.0)
    return model, config


def _frames(count):
    base = np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    return [np.roll(base, t % 7, axis=1) for t in range(count)]


class PromptFrameOnly(RecentFrames):
    """Writes nothing after the prompt frame, and records what the tracker asked."""

    def __init__(self):
        self.banks, self.read, self.commits = [], [], []

    def new_bank(self, prompt_frame, entry, model_config):
        self.banks.append(prompt_frame)
        return super().new_bank(prompt_frame, entry, model_config)

    def memory(self, bank, frame_index):
        view = super().memory(bank, frame_index)
        self.read.append((frame_index, sorted(view["cond_frame_outputs"]), sorted(view["non_cond_frame_outputs"])))
        return view

    def commit(self, bank, frame_index, entry, heads):
        self.commits.append((frame_index, heads.object_logits.shape[0]))


def test_the_tracker_reads_and_writes_memory_only_through_its_selection():
    model, config = _model()
    policy = PromptFrameOnly()
    tracker = build_tracker(model, config, memory_selection=policy)
    frames = _frames(6)
    tracker.step(frames[0], Prompt.create(boxes=BOXES))
    for frame in frames[1:]:
        tracker.step(frame)
    assert policy.banks == [0], "one cohort, made on its prompt frame"
    assert policy.commits == [(t, 2) for t in range(1, 6)], "every later frame committed once, both objects"
    assert policy.read == [(t, [0], []) for t in range(1, 6)], "sam2 read the prompt frame only: nothing written"
    # nothing but the prompt entry (and the search-window boxes) is held
    assert len(tracker.state_tensors()) == len(tracker._cohorts[0].bank.tensors()) + 1 == 5


def test_recent_frames_is_the_default_and_fills_the_fifo():
    model, config = _model()
    default, explicit = build_tracker(model, config), build_tracker(model, config, memory_selection=RecentFrames())
    frames = _frames(6)
    outputs = []
    for tracker in (default, explicit):
        outs = [tracker.step(frames[0], Prompt.create(boxes=BOXES))] + [tracker.step(f) for f in frames[1:]]
        outputs.append(outs)
    assert isinstance(default.memory_selection, RecentFrames)
    for a, b in zip(*outputs):
        assert (a.masks == b.masks).all() and a.result.grasps == b.result.grasps
    recent = default.memory_selection.memory(default._cohorts[0].bank, 6)
    assert sorted(recent["non_cond_frame_outputs"]) == [1, 2, 3, 4, 5], "n_hist 3 spatial + pointer frames kept"
