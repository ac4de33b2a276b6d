"""sam2's own video predictor with the same weights as an SPGrasp test model, for equivalence tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from sam2.build_sam import build_sam2_video_predictor

from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import ModelConfig, load_model_config


def shared_overrides(config: ModelConfig) -> list[str]:
    """The architecture overrides both models get (sam2's builder adds its own inference settings)."""
    feat = config.image_size // 16
    ours = [f"image_size={config.image_size}", f"num_maskmem={config.n_hist + 1}",
            f"max_obj_ptrs_in_encoder={config.max_obj_ptrs}",
            f"memory_attention.layer.self_attention.feat_sizes=[{feat},{feat}]",
            f"memory_attention.layer.cross_attention.feat_sizes=[{feat},{feat}]", *config.overrides]
    return [f"++model.{o}" for o in ours]


def predictor_and_model(seed: int = 0, object_score_bias: float = 3.0, preset: str = "test_tiny",
                        n_hist: int | None = None):
    """sam2's SAM2VideoPredictor (random weights) and an SPGrasp model carrying the same weights.

    ``object_score_bias`` sets the object-score head's last bias on both: random weights put the score at
    ~0, the presence threshold; +3 makes objects clearly present, -5 clearly absent. ``n_hist``: another memory
    length for both (sam2: num_maskmem = n_hist + 1).
    """
    config = load_model_config(preset)
    if n_hist is not None:
        config = config.replace(n_hist=n_hist)
    torch.manual_seed(seed)
    predictor = build_sam2_video_predictor(config.sam2_config, None, device="cpu",
                                           hydra_overrides_extra=shared_overrides(config))
    predictor.fill_hole_area = 0  # hole filling needs sam2's CUDA extension; the tracker does not fill holes
    with torch.no_grad():
        predictor.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.fill_(object_score_bias)
    model = build_model(config)
    missing, unexpected = model.load_state_dict(predictor.state_dict(), strict=False)
    assert not unexpected and all("grasp_hypernetworks_mlps" in k for k in missing), (missing, unexpected)
    return predictor, model, config


def moving_shapes_video(folder: Path, frames: int = 40, size=(320, 240)) -> list[np.ndarray]:
    """A disc and a square moving over a textured background, written as sam2's JPEG frame folder."""
    width, height = size
    rng = np.random.default_rng(7)
    background = cv2.GaussianBlur(rng.integers(60, 200, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    images = []
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(frames):
        image = background.copy()
        cv2.circle(image, (60 + 3 * t, 80 + t), 28, (230, 40, 40), -1)
        cv2.rectangle(image, (200 - 2 * t, 140), (250 - 2 * t, 200), (40, 200, 60), -1)
        images.append(image)
        cv2.imwrite(str(folder / f"{t:05d}.jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return images


BOXES = [[30.0, 50.0, 90.0, 110.0], [196.0, 136.0, 254.0, 204.0]]
