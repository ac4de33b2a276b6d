"""Where a tracked object's grasps come from: the SPGrasp grasp head (``model``) or its tracked mask's geometry
(``geometry``, ``grasps.mask_geometry``), and ``auto``: the head when the checkpoint's head was trained, the
geometry otherwise.

A checkpoint records which parts were trained (``model.checkpoints.trained_parts``): weights initialised from
official SAM 2 / 2.1 (``init_from_sam2``) have a segmenting model and random grasp hypernetworks, whose maps
would give confident-looking nonsense. Such a head is never used: ``model`` is refused naming it, ``auto``
falls back to the geometry and says why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from spgrasp_ros.grasps.mask_geometry import GeometryConfig, mask_grasps
from spgrasp_ros.results import Grasp
from spgrasp_ros.tracker.config import GRASP_SOURCES, TrackerConfig

AUTO, MODEL, GEOMETRY = GRASP_SOURCES


class UntrainedHeadError(ValueError):
    """``grasp_source: model`` on a checkpoint whose grasp head was never trained."""


def resolve_grasp_source(requested: str, head_trained: bool, checkpoint: str = "the checkpoint") -> tuple[str, str]:
    """(``model`` or ``geometry``, why) for the ``requested`` source; UntrainedHeadError for ``model`` with an
    untrained head, ValueError for an unknown name."""
    if requested not in GRASP_SOURCES:
        raise ValueError(f"grasp_source must be one of {', '.join(GRASP_SOURCES)}, got {requested!r}")
    if requested == MODEL and not head_trained:
        raise UntrainedHeadError(f"grasp_source 'model' refused: the grasp head of {checkpoint} was never trained "
                                 "(initialised from SAM 2 weights); use 'geometry' or 'auto', or fine-tune it")
    if requested == GEOMETRY:
        return GEOMETRY, "grasp_source 'geometry': grasps from each object's mask"
    if requested == MODEL:
        return MODEL, "grasp_source 'model': the trained grasp head"
    if head_trained:
        return MODEL, "grasp_source 'auto': the checkpoint's grasp head is trained, so the model's grasps"
    return GEOMETRY, (f"grasp_source 'auto': the grasp head of {checkpoint} was never trained, so grasps come "
                      "from each object's mask geometry")


@dataclass(frozen=True)
class MaskGraspRule:
    """The geometry source for one frame: its settings, the grasps per object, and the frame's depth."""

    config: GeometryConfig
    top_k: int
    depth_m: np.ndarray | None = None  # [H, W] metres at input resolution, NaN/0 = none
    fx: float | None = None  # [px] focal length of the depth's camera

    def __call__(self, object_id: int, mask: np.ndarray) -> tuple[Grasp, ...]:
        """Grasps of one object from its [H, W] bool mask, best first, marked ``geometry``."""
        config = dataclasses.replace(self.config, top_k=self.top_k)
        return tuple(dataclasses.replace(g, source=GEOMETRY)
                     for g in mask_grasps(object_id, mask, config, self.depth_m, self.fx))


def mask_rule(config: TrackerConfig, source: str, depth: tuple[np.ndarray, float] | None) -> MaskGraspRule | None:
    """The geometry rule of one frame (``depth``: [H, W] metres and fx, or None), or None when ``source``
    (resolved: model or geometry) is the grasp head."""
    if source != GEOMETRY:
        return None
    depth_m, fx = depth if depth is not None else (None, None)
    return MaskGraspRule(config.geometry, config.decode.top_k, depth_m, fx)
