"""Image-space grasps lifted to metric poses with a registered depth image and pinhole intrinsics.

The grasp depth is a robust statistic of the valid depth inside the grasp rectangle's central region, restricted
to the object's mask when one is given (a low percentile: the object's near surface, not the table behind a
thin part). Invalid depth (NaN, inf, zero, out of range) is ignored; too few valid samples give no pose, never a
guessed one. The pose lives in the camera's
optical frame (x right, y down, z forward): +z of the grasp frame is the approach direction (straight into the
scene along the optical axis) and +x the closing direction in the image plane, so the orientation is a rotation
about the optical axis by the grasp angle.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from spgrasp_ros.results import Grasp, GraspPose


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics [px] of the image the grasps are in."""

    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if not (self.fx > 0 and self.fy > 0 and math.isfinite(self.cx) and math.isfinite(self.cy)):
            raise ValueError(f"invalid camera intrinsics {self}")


@dataclass(frozen=True)
class LiftConfig:
    """How depth is sampled under a grasp."""

    region_fraction: float = 0.5  # sample the central part of the rectangle: this fraction of width and jaw
    percentile: float = 25.0  # depth statistic over the valid samples (near surface)
    min_valid: int = 3  # fewer valid depth samples than this: no pose
    min_depth_m: float = 0.05
    max_depth_m: float = 20.0


def _region_depths(depth_m: np.ndarray, grasp: Grasp, config: LiftConfig, mask: np.ndarray | None) -> np.ndarray:
    """Valid depth values inside the central part of the grasp rectangle (and inside ``mask`` if given)."""
    height, width = depth_m.shape
    half_w = max(0.5, grasp.width * config.region_fraction / 2)
    half_j = max(0.5, grasp.jaw_size * config.region_fraction / 2)
    radius = math.ceil(math.hypot(half_w, half_j))
    cx, cy = grasp.center
    x0, x1 = max(0, int(cx) - radius), min(width, int(cx) + radius + 1)
    y0, y1 = max(0, int(cy) - radius), min(height, int(cy) + radius + 1)
    if x0 >= x1 or y0 >= y1:
        return np.empty(0, np.float32)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    along = np.abs(dx * math.cos(grasp.angle) + dy * math.sin(grasp.angle))
    across = np.abs(-dx * math.sin(grasp.angle) + dy * math.cos(grasp.angle))
    inside = (along <= half_w) & (across <= half_j)
    if mask is not None:
        inside &= mask[y0:y1, x0:x1]
    values = depth_m[y0:y1, x0:x1][inside]
    return values[np.isfinite(values) & (values >= config.min_depth_m) & (values <= config.max_depth_m)]


def lift_grasp(grasp: Grasp, depth_m: np.ndarray, intrinsics: Intrinsics, config: LiftConfig = LiftConfig(),
               mask: np.ndarray | None = None) -> Grasp:
    """``grasp`` with its metric pose, or unchanged (pose None) where the depth under it is not valid.

    depth_m: [H, W] float metres registered to the grasp's image (NaN / 0 = no measurement); mask: [H, W] bool
    of the grasp's object, or None.
    """
    values = _region_depths(depth_m, grasp, config, mask)
    if len(values) < config.min_valid:
        return dataclasses.replace(grasp, pose=None)
    z = float(np.percentile(values, config.percentile))
    u, v = grasp.center
    position = ((u - intrinsics.cx) * z / intrinsics.fx, (v - intrinsics.cy) * z / intrinsics.fy, z)
    half = grasp.angle / 2  # rotation about the optical axis by the grasp angle
    orientation = (0.0, 0.0, math.sin(half), math.cos(half))
    # the opening spans the closing direction, which has components on both image axes
    pixels_per_metre = math.hypot(intrinsics.fx * math.cos(grasp.angle), intrinsics.fy * math.sin(grasp.angle)) / z
    pose = GraspPose(position=position, orientation=orientation, width_m=grasp.width / pixels_per_metre, depth_m=z)
    return dataclasses.replace(grasp, pose=pose)


def lift_grasps(grasps: tuple[Grasp, ...], depth_m: np.ndarray, intrinsics: Intrinsics,
                config: LiftConfig = LiftConfig(), masks: dict[int, np.ndarray] | None = None) -> tuple[Grasp, ...]:
    """Every grasp lifted (``lift_grasp``), each within its object's mask when ``masks`` (object id -> [H, W]
    bool) has one; the order is kept."""
    if depth_m.ndim != 2:
        raise ValueError(f"depth must be an HxW array, got shape {list(depth_m.shape)}")
    masks = masks or {}
    return tuple(lift_grasp(g, depth_m, intrinsics, config, masks.get(g.object_id)) for g in grasps)
