"""Where grasps come from: the trained head, the tracked masks' geometry, and never an untrained head.

The official-format file is written from sam2's own small random model (test/sam2_reference.py) as Meta
publishes its checkpoints: ``{"model": state_dict}`` with sam2's tensor names.
"""

import dataclasses

import numpy as np
import pytest
import torch
from sam2_reference import predictor_and_model

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.data.types import object_box
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import CheckpointError, read_checkpoint, save_checkpoint, trained_parts
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import load_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.grasp_source import MaskGraspRule, UntrainedHeadError, resolve_grasp_source


@pytest.fixture(scope="module")
def official_file(tmp_path_factory):
    predictor, _, _ = predictor_and_model(seed=5)
    path = tmp_path_factory.mktemp("official") / "sam2.1_hiera_test.pt"
    torch.save({"model": predictor.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def scene():
    frame = generate_clip(SynthConfig(frames=1, min_objects=2, max_objects=2, occlusion_probability=0.0),
                          100_321).to_sequence().frames[0]
    masks = frame.load_masks()
    return frame.load_image(), masks, [object_box(frame, o.object_id, masks, (160, 120)).tolist()
                                       for o in frame.objects]


def test_the_resolution_rules():
    assert resolve_grasp_source("auto", True)[0] == "model"
    source, why = resolve_grasp_source("auto", False, "sam2.1_hiera_tiny.pt")
    assert source == "geometry" and "sam2.1_hiera_tiny.pt was never trained" in why
    assert resolve_grasp_source("geometry", True)[0] == "geometry"
    assert resolve_grasp_source("model", True)[0] == "model"
    with pytest.raises(UntrainedHeadError, match="grasp_source 'model' refused: the grasp head of x.pt"):
        resolve_grasp_source("model", False, "x.pt")
    with pytest.raises(ValueError, match="grasp_source must be one of"):
        TrackerConfig(grasp_source="random")


def test_an_official_sam2_file_runs_directly_and_its_grasps_come_from_the_masks(official_file, scene):
    image, _, boxes = scene
    with pytest.raises(CheckpointError, match="name the model preset"):
        load_tracker(str(official_file), "cpu")
    tracker = load_tracker(str(official_file), "cpu", model_config="test_tiny", precision="float32")
    assert tracker.grasp_head_trained is False and tracker.grasp_source == "geometry"
    output = tracker.step(image, Prompt.create(boxes=boxes))
    assert output.masks.any()  # the random model segments something
    assert all(g.source == "geometry" for g in output.result.grasps)
    rule = MaskGraspRule(TrackerConfig().geometry, TrackerConfig().decode.top_k)
    expected = [g for state, mask in zip(output.result.objects, output.masks) if state.visible
                for g in rule(state.id, mask)]
    got = {(g.object_id, round(g.center[0], 3), round(g.center[1], 3)) for g in output.result.grasps}
    assert got == {(g.object_id, round(g.center[0], 3), round(g.center[1], 3)) for g in expected}
    with pytest.raises(UntrainedHeadError, match="sam2.1_hiera_test.pt was never trained"):
        load_tracker(str(official_file), "cpu", TrackerConfig(grasp_source="model"), model_config="test_tiny")


def test_a_checkpoint_records_an_untrained_head_and_old_ones_count_as_trained(tmp_path):
    config = load_model_config("test_tiny")
    save_checkpoint(tmp_path / "init.pt", build_model(config), config, trained={"grasp_head": False})
    _, _, extra = read_checkpoint(tmp_path / "init.pt")
    assert trained_parts(extra) == {"grasp_head": False}
    assert trained_parts({}) == {"grasp_head": True}  # written before the record: by training
    with pytest.raises(CheckpointError, match="must map parts to true/false"):
        trained_parts({"trained": {"grasp_head": "yes"}})
    tracker = load_tracker(str(tmp_path / "init.pt"), "cpu", precision="float32")
    assert tracker.grasp_source == "geometry"
    with pytest.raises(UntrainedHeadError):
        load_tracker(str(tmp_path / "init.pt"), "cpu", TrackerConfig(grasp_source="model"), precision="float32")
    assert load_tracker("demo", "cpu", precision="float32").grasp_source == "model"  # the bundled one: trained


def test_geometry_grasps_on_the_bundled_model_follow_its_masks_and_stay_marked(scene):
    image, masks, boxes = scene
    tracker = load_tracker("demo", "cpu", TrackerConfig(grasp_source="geometry"), precision="float32")
    output = tracker.step(image, Prompt.create(boxes=boxes))
    for _ in range(3):
        output = tracker.step(image)
    grasps = output.result.grasps
    assert grasps and all(g.source == "geometry" for g in grasps)
    for state, mask in zip(output.result.objects, output.masks):
        best = output.result.best_grasp(state.id)
        assert best is not None and mask[int(best.center[1]), int(best.center[0])]  # on its own mask
        assert best.track_id > 0  # steady grasps follow geometry grasps too
    # with depth, grasps wider than the gripper at their depth are dropped (0.5 m away, fx 400 px)
    depth = np.full(image.shape[:2], 0.5, np.float32)
    plain = dataclasses.replace(tracker.config, steady_grasps=False)  # no held grasps: each frame's own
    tracker.config = plain
    metric = sorted(g.width * 0.5 / 400.0 for g in tracker.step(image, depth=(depth, 400.0)).result.grasps)
    limit = metric[len(metric) // 2]
    tracker.config = dataclasses.replace(plain, geometry=dataclasses.replace(plain.geometry, max_opening_m=limit))
    kept = [g.width * 0.5 / 400.0 for g in tracker.step(image, depth=(depth, 400.0)).result.grasps]
    assert kept and max(kept) <= limit + 1e-9 and len(kept) < len(metric)
