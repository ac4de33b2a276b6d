"""The tracker node's session, without ROS: device and checkpoint checks, warm-up, tuning, depth lifting."""

import numpy as np
import pytest
import torch

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.devices import resolve_device
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import CheckpointError, save_checkpoint
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.session import load_session


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    config = load_model_config("test_tiny")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, build_model(config), config, trained={"grasp_head": True})
    return path


def test_devices_are_checked():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unsupported device|unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_parameters_map_onto_the_tracker_config():
    config = TrackerConfig().with_settings({"presence_threshold": 0.7, "top_k": 2, "position_threshold": 0.3,
                                            "mask_threshold": 0.4,
                                            "preprocess": "letterbox", "exclusive_masks": True,
                                            "checkpoint": "ignored", "readout_window": 3})
    assert (config.presence_threshold, config.preprocess, config.exclusive_masks) == (0.7, "letterbox", True)
    assert (config.decode.top_k, config.decode.position_threshold, config.decode.mask_threshold) == (2, 0.3, 0.4)
    assert config.decode.readout_window == 3


def test_missing_checkpoint_and_wrong_model_config_are_named(tmp_path, checkpoint):
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        load_session({"checkpoint": str(tmp_path / "nothing.pt"), "device": "cpu"})
    with pytest.raises(CheckpointError, match="different model config"):
        load_session({"checkpoint": str(checkpoint), "device": "cpu", "model_config": "tiny"})


@pytest.fixture(scope="module")
def scene():
    """A held-out synthetic frame and the box of its first object (the bundled demo model finds grasps there)."""
    frame = generate_clip(SynthConfig(frames=1, min_objects=1), 100_321).to_sequence().frames[0]
    rgb, masks = frame.load_image(), frame.load_masks()
    ys, xs = np.nonzero(masks == frame.objects[0].object_id)
    return rgb, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_warm_up_leaves_nothing_tracked_and_tuning_applies(scene):
    session = load_session({"checkpoint": "demo", "device": "cpu", "warmup_frames": 2, "model_config": "demo",
                            "stage_timing": True, "top_k": 3})
    assert session.tracker.object_ids == []
    frame, box = scene
    out = session.step(frame, Prompt.create(boxes=[box]))
    assert out.created_ids == [1], "warm-up objects do not use up ids"
    assert "image_encoder" in out.result.extra["stages_ms"]
    assert 0 < len(out.result.grasps) <= 3
    session.tune({"top_k": 1, "stage_timing": False})
    out = session.step(frame)
    assert len(out.result.grasps) == 1 and session.tracker.timer is None
    session.release()
    assert session.tracker.model is None


def test_depth_adds_metric_poses(scene):
    session = load_session({"checkpoint": "demo", "device": "cpu", "warmup_frames": 0})
    frame, box = scene
    depth = np.full((60, 80), 1.5, np.float32)  # half resolution: resized to the image
    out = session.step(frame, Prompt.create(boxes=[box]), (depth, (100.0, 100.0, 80.0, 60.0)))
    assert out.result.grasps and all(g.pose is not None and g.pose.depth_m == pytest.approx(1.5)
                                     for g in out.result.grasps)
    plain = session.step(frame)
    assert all(g.pose is None for g in plain.result.grasps)
