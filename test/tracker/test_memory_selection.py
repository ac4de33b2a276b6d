"""The memory policy is one replaceable piece: the tracker asks its MemorySelection for each cohort's bank,
for what sam2 reads on every frame, and to commit every processed frame, and nothing else decides memory."""

import numpy as np
import torch

from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.memory_bank import MemoryBank
from spgrasp_ros.tracker.memory_selection import ConfidentFrames, RecentFrames

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

    def commit(self, bank, frame_index, entry, heads, confident, anchor=None):
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


def _entry(value, batch=2):
    return {"maskmem_features": torch.full((batch, 4, 2, 2), float(value)),
            "maskmem_pos_enc": [torch.zeros(batch, 4, 2, 2)],
            "obj_ptr": torch.full((batch, 8), float(value)), "object_score_logits": torch.full((batch, 1), 1.0)}


def test_confident_frames_repeat_an_unseen_objects_last_confident_memory():
    policy = ConfidentFrames()
    bank = MemoryBank(0, _entry(0), n_hist=3, max_obj_ptrs=4)
    policy.commit(bank, 1, _entry(1), None, np.array([True, True]))
    policy.commit(bank, 2, _entry(2), None, np.array([True, False]))  # object 1 not seen on frame 2
    policy.commit(bank, 3, _entry(3), None, np.array([False, False]))
    recent = bank.as_sam2_dict()["non_cond_frame_outputs"]
    assert sorted(recent) == [1, 2, 3], "the bank keeps its size and order"
    assert recent[2]["maskmem_features"][:, 0, 0, 0].tolist() == [2.0, 1.0], "object 1 repeats frame 1"
    assert recent[3]["obj_ptr"][:, 0].tolist() == [2.0, 1.0], "pointers too, per object"
    assert recent[3]["maskmem_pos_enc"] is bank.as_sam2_dict()["cond_frame_outputs"][0]["maskmem_pos_enc"]
    selected = bank.select(torch.tensor([1]))
    assert selected.last_confident["obj_ptr"][:, 0].tolist() == [1.0], "selection keeps the last confident entry"


def test_memory_gate_off_is_sams_memory_and_on_changes_only_unseen_objects():
    model, config = _model()
    frames = _frames(8)
    plain = build_tracker(model, config, TrackerConfig(memory_gate=False), memory_selection=RecentFrames())
    default = build_tracker(model, config, TrackerConfig(memory_gate=False))
    gated = build_tracker(model, config, TrackerConfig(memory_gate=True, min_area_ratio=1.0))
    runs = []
    for tracker in (plain, default, gated):
        runs.append([tracker.step(frames[0], Prompt.create(boxes=BOXES))] + [tracker.step(f) for f in frames[1:]])
    for a, b in zip(runs[0], runs[1]):
        assert (a.masks == b.masks).all() and a.result.grasps == b.result.grasps
    # min_area_ratio 1.0: every frame whose mask is smaller than the object's usual area is not confident, so
    # the gated tracker's memory differs from sam2's once such a frame was written
    unseen = sum(not s.visible for out in runs[2][1:] for s in out.result.objects)
    assert unseen > 0
    assert any((a.masks != b.masks).any() for a, b in zip(runs[0][2:], runs[2][2:]))
