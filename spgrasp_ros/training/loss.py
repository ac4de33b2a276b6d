"""The SPGrasp training loss (Mei et al. 2025, Sec. III-D), averaged over the objects and frames of a clip.

Per object and frame, on the decoder's maps (model input / 4):
- position, width and object mask: class-balanced binary cross-entropy, the positive weight being the
  negative/positive pixel ratio clamped at 20 / 10 / 5 (the paper; the public code clamps at 100 / 10 / 5);
- cos 2θ and sin 2θ: mean squared error of tanh(logit) against the target, over all pixels (the paper) or
  only on grasp pixels (``angle_on_grasps_only``; grasp pixels are ~1 % of a map, so over all pixels the
  angle at the grasps is barely supervised);
- not in the paper: with ``angle_any_valid`` a pixel where two valid grasps close along different axes (a
  square's centre, see ``data/labels.py``) is scored against whichever of the two is nearer the prediction;
  the paper's single target there is one of two opposite (cos 2θ, sin 2θ) vectors, so its MSE optimum is
  (0, 0), an undefined angle (a demo model trained without it predicted square angles that did not depend
  on the square's rotation);
- width: the paper's class-balanced BCE is biased for a continuous target: with positive weight w the
  optimum is sigmoid = w t / (w t + 1 - t) (t = 0.2, w = 10 -> 0.71, a 3.5x too wide grasp).
  ``width_on_grasps_only`` uses a plain BCE on grasp pixels instead, whose optimum is t;
- weights 5 (position), 5 + 5 (angle), 1 (width), 1 (object) as in the paper (the public code: 5 x 2 on
  position and 1 elsewhere);
- optional, not in the paper: a dice loss on the object mask (``object_dice_weight``; SAM 2 trains its masks with
  focal + dice). Class-balanced BCE makes a false positive up to 5x cheaper than a missed pixel, which lets a
  model cover every object instead of the prompted one; dice counts both alike;
- not in the paper: SAM 2's object-score head, which this package uses to report an object visible or
  lost, learns presence with a binary cross-entropy of weight ``presence_weight``.
The object channel is supervised only where the dataset has a mask (``mask_valid``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from spgrasp_ros.data.labels import ALT_COS2, ALT_SIN2
from spgrasp_ros.model.channels import COS2, OBJECT, POSITION, SIN2, WIDTH


@dataclass(frozen=True)
class LossConfig:
    """Weights and clamps of every loss term; the paper's values are the defaults."""

    position_weight: float = 5.0
    cos_weight: float = 5.0
    sin_weight: float = 5.0
    width_weight: float = 1.0
    object_weight: float = 1.0
    presence_weight: float = 1.0
    object_dice_weight: float = 0.0  # dice loss on the object mask (0: off, as the paper)
    position_pos_weight_max: float = 20.0  # clamp of the class-balancing positive weight (public code: 100)
    width_pos_weight_max: float = 10.0
    object_pos_weight_max: float = 5.0
    angle_on_grasps_only: bool = False  # paper: angle MSE over all pixels
    width_on_grasps_only: bool = False  # paper: class-balanced BCE over all pixels (biased, see above)
    angle_any_valid: bool = False  # paper: one angle target per pixel; True: the nearer of the two label angles


def balanced_bce(logits: torch.Tensor, target: torch.Tensor, max_pos_weight: float) -> torch.Tensor:
    """[B, h, w] logits and targets in [0, 1] -> [B] BCE with positive weight clamp(neg / pos, max)."""
    flat_target = target.flatten(1)
    positive = (flat_target > 0).sum(1).float()
    negative = flat_target.size(1) - positive
    pos_weight = torch.clamp(negative / positive.clamp(min=1.0), max=max_pos_weight)
    losses = F.binary_cross_entropy_with_logits(logits.flatten(1), flat_target, reduction="none",
                                                pos_weight=pos_weight[:, None])
    return losses.mean(1)


def frame_loss(object_logits: torch.Tensor, grasp_logits: torch.Tensor, object_score_logits: torch.Tensor,
               targets: torch.Tensor, visible: torch.Tensor, mask_valid: torch.Tensor,
               config: LossConfig = LossConfig()) -> dict[str, torch.Tensor]:
    """Loss terms of B objects in one frame, each averaged over the objects.

    object_logits [B, 1, h, w]; grasp_logits [B, 4, h, w] (position, cos, sin, width); object_score_logits
    [B, 1]; targets [B, 7, h, w] (``data.labels``); visible, mask_valid [B] bool.
    """
    grasp_pixels = (targets[:, POSITION] > 0).float()
    grasp_count = grasp_pixels.flatten(1).sum(1).clamp(min=1.0)
    terms = {"position": balanced_bce(grasp_logits[:, POSITION], targets[:, POSITION], config.position_pos_weight_max)}
    if config.width_on_grasps_only:
        bce = F.binary_cross_entropy_with_logits(grasp_logits[:, WIDTH], targets[:, WIDTH], reduction="none")
        terms["width"] = (bce * grasp_pixels).flatten(1).sum(1) / grasp_count
    else:
        terms["width"] = balanced_bce(grasp_logits[:, WIDTH], targets[:, WIDTH], config.width_pos_weight_max)
    region = grasp_pixels if config.angle_on_grasps_only else torch.ones_like(grasp_pixels)
    count = grasp_count if config.angle_on_grasps_only else region.flatten(1).sum(1)
    predicted = torch.tanh(grasp_logits[:, [COS2, SIN2]])  # [B, 2, h, w]
    angle_target = targets[:, [COS2, SIN2]]
    if config.angle_any_valid:
        alternative = targets[:, [ALT_COS2, ALT_SIN2]]
        use_alternative = ((predicted - alternative) ** 2).sum(1, keepdim=True) \
            < ((predicted - angle_target) ** 2).sum(1, keepdim=True)
        angle_target = torch.where(use_alternative, alternative, angle_target).detach()
    errors = (predicted - angle_target) ** 2 * region[:, None]
    terms["cos"], terms["sin"] = (errors.flatten(2).sum(2) / count[:, None]).unbind(1)
    object_bce = balanced_bce(object_logits[:, 0], targets[:, OBJECT], config.object_pos_weight_max)
    terms["object"] = object_bce * mask_valid.float()
    if config.object_dice_weight > 0:
        probability = torch.sigmoid(object_logits[:, 0]).flatten(1)
        truth = targets[:, OBJECT].flatten(1)
        dice = 1 - (2 * (probability * truth).sum(1) + 1) / (probability.sum(1) + truth.sum(1) + 1)
        terms["dice"] = dice * mask_valid.float()
    terms["presence"] = F.binary_cross_entropy_with_logits(object_score_logits[:, 0], visible.float(),
                                                           reduction="none")
    terms = {name: value.mean() for name, value in terms.items()}
    terms["total"] = (config.position_weight * terms["position"] + config.cos_weight * terms["cos"]
                      + config.sin_weight * terms["sin"] + config.width_weight * terms["width"]
                      + config.object_weight * terms["object"] + config.presence_weight * terms["presence"]
                      + config.object_dice_weight * terms.get("dice", 0.0))
    return terms
