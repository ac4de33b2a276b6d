"""Build an SPGrasp model from a ``ModelConfig``: the sam2 config tree, instantiated with our model class."""

from __future__ import annotations

import sam2  # noqa: F401  (registers sam2's configs with hydra)
import torch
from hydra import compose
from hydra.utils import instantiate
from omegaconf import OmegaConf

from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.model.spgrasp import SPGrasp

# What sam2's video predictor builder sets for inference (build_sam2_video_predictor, apply_postprocessing):
# stability-based fallback of the single mask, binarised prompt masks for the memory encoder. (The predictor's
# hole filling needs sam2's optional CUDA extension; the tracker does not fill holes, so CPU and GPU agree.)
VIDEO_INFERENCE_OVERRIDES = (
    "sam_mask_decoder_extra_args.dynamic_multimask_via_stability=true",
    "sam_mask_decoder_extra_args.dynamic_multimask_stability_delta=0.05",
    "sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh=0.98",
    "binarize_mask_from_pts_for_mem_enc=true",
)


def hydra_overrides(config: ModelConfig) -> list[str]:
    """The ``++model.*`` overrides that turn the sam2 config into this SPGrasp model."""
    feat = config.image_size // 16  # memory-attention RoPE grid: the image embedding's size
    ours = [
        f"_target_={SPGrasp.__module__}.{SPGrasp.__qualname__}",
        f"memory_source={config.memory_source}",
        f"grasp_refiner_channels={config.grasp_refiner_channels}",
        f"angle_refiner={str(config.angle_refiner).lower()}",
        f"dense_prompt={str(config.dense_prompt).lower()}",
        f"click_radius={config.click_radius}",
        f"mask_prior={str(config.mask_prior).lower()}",
        f"image_size={config.image_size}",
        f"num_maskmem={config.n_hist + 1}",
        f"max_obj_ptrs_in_encoder={config.max_obj_ptrs}",
        f"memory_attention.layer.self_attention.feat_sizes=[{feat},{feat}]",
        f"memory_attention.layer.cross_attention.feat_sizes=[{feat},{feat}]",
        *VIDEO_INFERENCE_OVERRIDES,
        *config.overrides,
    ]
    return [f"++model.{o}" for o in ours]


def build_model(config: ModelConfig, device: str | torch.device = "cpu") -> SPGrasp:
    """Instantiate the model with sam2's random initialisation, in eval mode, on ``device``.

    Load weights afterwards with ``spgrasp_ros.model.checkpoints``.
    """
    try:
        tree = compose(config_name=config.sam2_config, overrides=hydra_overrides(config))
    except Exception as error:  # hydra raises several types for a missing config or a bad override
        raise ValueError(f"cannot compose sam2 config {config.sam2_config!r} with {list(config.overrides)}: "
                         f"{error}") from error
    OmegaConf.resolve(tree)
    model: SPGrasp = instantiate(tree.model, _recursive_=True)
    return model.to(device).eval()
