"""Training targets: one object's grasp rectangles and mask -> the five maps the decoder predicts.

The maps live in model space at the decoder's resolution (the model input side S / 4), in the channel order
of ``spgrasp_ros.model.channels``:
- POSITION: 1 on a disc of ``position_radius`` map pixels around every ground-truth grasp centre, else 0
  (the public SPGrasp code draws small squares around centres). With ``centre_bias`` b > 0 the value falls
  to 1 - b for the grasps farthest from the middle of the object's grasps: all stay positive, but the best
  (top-1) peak moves to the central grasps instead of anywhere along a ridge of equal values;
- COS2 / SIN2: cos 2θ and sin 2θ of the grasp on its disc, 0 elsewhere;
- WIDTH: opening / ``width_scale`` (model-input pixels, clipped to 1) on the disc, 0 elsewhere;
- OBJECT: the object's mask;
- ALT_COS2 / ALT_SIN2 (two extra target channels after the model's five): cos 2θ and sin 2θ of the grasp
  covering the pixel whose angle differs most from the nearest one's; equal to COS2 / SIN2 where every covering
  grasp agrees. At a square's centre both closing directions are valid and opposite in (cos 2θ, sin 2θ): a
  regression towards one of them averages to no angle at all, while ``LossConfig.angle_any_valid`` lets the
  model pick either (``training/loss.py``).
Grasps are mapped from image pixels with ``FrameGeometry.grasps_to_model`` (exact also for anisotropic
resizing), so the decoder's output maps back to the same rectangles. Where discs overlap, the grasp whose
centre is nearest wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from spgrasp_ros.data.types import GraspSet
from spgrasp_ros.grasps.frame_geometry import FrameGeometry
from spgrasp_ros.model.channels import COS2, NUM_CHANNELS, OBJECT, POSITION, SIN2, WIDTH

MAP_STRIDE = 4  # decoder output resolution: model input / 4 (SAM 2's low-resolution masks)
ALT_COS2, ALT_SIN2 = NUM_CHANNELS, NUM_CHANNELS + 1  # the alternative valid angle (target channels only)
LABEL_CHANNELS = NUM_CHANNELS + 2


@dataclass(frozen=True)
class LabelConfig:
    """How ground truth is drawn."""

    position_radius: float = 1.5  # [map px] radius of the positive disc around each grasp centre
    width_scale: float = 100.0  # [model px] opening that maps to 1.0 (must equal DecodeConfig.width_scale)
    centre_bias: float = 0.0  # position target of the outermost grasps = 1 - centre_bias (0: all 1)


def rasterize_object(grasps: GraspSet, mask: np.ndarray | None, geometry: FrameGeometry,
                     config: LabelConfig = LabelConfig()) -> np.ndarray:
    """[7, S/4, S/4] float32 targets of one object (the model's five channels, then ALT_COS2 and ALT_SIN2);
    ``mask``: HxW bool at input resolution (None: no mask)."""
    size = geometry.model_size // MAP_STRIDE
    targets = np.zeros((LABEL_CHANNELS, size, size), dtype=np.float32)
    if mask is not None:
        model_mask = geometry.preprocess(mask.astype(np.float32))
        targets[OBJECT] = cv2.resize(model_mask, (size, size), interpolation=cv2.INTER_AREA) > 0.5
    if len(grasps) == 0:
        return targets
    centres, angles, widths = geometry.grasps_to_model(grasps.centers, grasps.angles, grasps.widths)
    centres = centres / MAP_STRIDE  # continuous map coordinates (pixel i spans [i, i + 1))
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    covers = np.hypot(xs - centres[:, 0, None, None], ys - centres[:, 1, None, None])  # [K, h, w] distances
    covers[covers > config.position_radius] = np.inf
    nearest = np.where(np.isfinite(covers).any(0), covers.argmin(0), -1)  # ties: the first listed grasp
    positive = nearest >= 0
    chosen = nearest[positive]
    # the covering grasp whose axis is farthest from the chosen one's (|sin Δθ|: 0 parallel, 1 perpendicular)
    spread = np.abs(np.sin(angles[:, None] - angles[None, chosen]))  # [K, P]
    spread[~np.isfinite(covers[:, positive])] = -1.0
    alternative = spread.argmax(0)
    offset = np.linalg.norm(centres - centres.mean(axis=0), axis=1)
    quality = 1.0 - config.centre_bias * (offset / offset.max() if offset.max() > 0 else offset)
    targets[POSITION][positive] = quality[chosen]
    targets[COS2][positive] = np.cos(2 * angles[chosen])
    targets[SIN2][positive] = np.sin(2 * angles[chosen])
    targets[WIDTH][positive] = np.clip(widths[chosen] / config.width_scale, 0.0, 1.0)
    targets[ALT_COS2][positive] = np.cos(2 * angles[alternative])
    targets[ALT_SIN2][positive] = np.sin(2 * angles[alternative])
    return targets
