"""Every sam2 variant builds as SPGrasp from sam2's own modules, at any input size, and tracks."""

import numpy as np
import pytest
import torch
from hydra import compose
from hydra.utils import instantiate

from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import load_model_config, preset_names
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker

GRASP_PARAMS = 4 * (2 * 256 * 256 + 256 * 32 + 2 * 256 + 32)  # four C->C->C/8 MLPs at C = 256


@pytest.mark.parametrize("name", ["tiny", "small", "base_plus", "large"])
def test_official_variants_are_sam2_plus_grasp_hypernetworks(name):
    config = load_model_config(name).replace(image_size=128)  # small input: the structure is what matters
    model = build_model(config)
    sam2_model = instantiate(compose(config_name=config.sam2_config).model, _recursive_=True)
    ours, theirs = model.state_dict(), sam2_model.state_dict()
    extra = sorted(set(ours) - set(theirs))
    assert extra and all(k.startswith("sam_mask_decoder.grasp_hypernetworks_mlps.") for k in extra)
    assert not set(theirs) - set(ours)
    assert all(ours[k].shape == theirs[k].shape for k in theirs)
    assert sum(ours[k].numel() for k in extra) == GRASP_PARAMS
    tracker = build_tracker(model, config, device="cpu")
    frame = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    tracker.step(frame, Prompt.create(boxes=[[5, 5, 30, 30]]))
    assert tracker.step(frame).masks.shape == (1, 48, 64)


def test_large_input_size_and_presets_listed():
    assert {"tiny", "small", "base_plus", "large", "test_tiny"} <= set(preset_names())
    config = load_model_config("test_tiny").replace(image_size=1024)
    tracker = build_tracker(build_model(config), config)
    frame = np.zeros((60, 80, 3), dtype=np.uint8)
    tracker.step(frame, Prompt.create(boxes=[[5, 5, 30, 30]]))
    out = tracker.step(frame)
    assert out.masks.shape == (1, 60, 80) and tracker.model.image_size == 1024


def test_unavailable_device_and_bad_configs_are_clear_errors():
    config = load_model_config("test_tiny")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            build_tracker(build_model(config), config, device="cuda")
    with pytest.raises(ValueError, match="multiple of 16"):
        config.replace(image_size=100)
    with pytest.raises(ValueError, match="unknown model preset 'huge'"):
        load_model_config("huge")
    with pytest.raises(ValueError, match="unknown model config keys: \\['colour'\\]"):
        type(config).from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="cannot compose sam2 config"):
        build_model(config.replace(sam2_config="configs/sam2.1/sam2.1_hiera_xxl.yaml"))
