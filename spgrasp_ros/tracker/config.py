"""What the tracker does, as one frozen record: the single source of the tracker's defaults.

The defaults are what the robot runs: the tracker node's parameters (``config/tracker.yaml``), ``spgrasp eval``,
``spgrasp bench`` and ``spgrasp demo`` all take them from here. The plain model of the paper (no search window,
overlapping masks, no motion model, the peak pixel's angle and width) is ``TrackerConfig.paper()``
(``spgrasp eval --paper``).

Why these defaults (demo model, one CPU thread, first-frame prompt; issue 14's notes hold the tables): the box
filter (``motion``) with the slower window growth (``search_growth`` 0.1) lifts the standard held-out suite from
92.1 % to 95.1 % and the 1-3 frames after an object reappears from 67.7 % to 92.9 %, and ties or gains on every
hard suite. Steady grasps (with the measured box centre as the object's reference and the best held at most
one unseen frame) lift the standard suite to 96.7 % (95.5 % in the 1-3 frames after reappearing) and cut the
best-grasp jitter to 1.0 px / 1.1 deg, best-grasp switches from 24.8 to 8.7 per 100 frames and identity switches
from 5.4 to 2.0 per 1000; on the hard suites they gain on twins, camera and clutter and lose on fast motion and
backgrounds (the hard suites' mean ties, 68.1 against 68.3 %). Presence
calibration (``min_area_ratio`` 0.3) cuts false presence from 15.2 % to 6.6 % but costs 0.8 points on the
standard suite and 2-7 on the hard ones (fast motion most); the memory gate and the distractor anchors changed
nothing measurable on this model (its memory carries little: N_hist 0 scores 95.0 %): those stay off.

How the tracker runs (numeric precision, compilation, one host copy) is not behaviour and lives elsewhere:
``precision`` is an argument of ``GraspTracker`` (``devices.resolve_precision``), compilation is
``tracker.optimised.OptimisedTracker`` with its ``OptimisedConfig``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from spgrasp_ros.grasps.decode import DecodeConfig
from spgrasp_ros.grasps.frame_geometry import LETTERBOX, RESIZE
from spgrasp_ros.grasps.mask_geometry import GeometryConfig

DECODE_SETTINGS = ("position_threshold", "mask_threshold", "top_k", "readout_window")  # DecodeConfig fields
#                  a node may set; the others are fixed by how the model was trained
# GeometryConfig fields a node may set, as geometry_<field> (the grasp count is decode's top_k for both sources)
GEOMETRY_SETTINGS = ("max_opening_m", "max_opening_px", "margin_ratio", "friction_cone_deg", "positions",
                     "angles", "grow_px", "hull_solidity")
GRASP_SOURCES = ("auto", "model", "geometry")  # tracker.grasp_source says what each means


@dataclass(frozen=True)
class TrackerConfig:
    """Run-time behaviour of the tracker (tunable without rebuilding the model)."""

    preprocess: str = RESIZE  # "resize" (sam2's stretch to a square) or "letterbox"
    presence_threshold: float = 0.5  # visible when sigmoid(object score) >= this (0.5: SAM 2's own rule)
    search_window: float = 0.1  # > 0: masks and grasps only within the last box grown by this x the object's
    #                             size (the prompt box on a box-prompt frame); 0 = anywhere (search_window.py)
    search_growth: float = 0.1  # the window grows by this x the object's size per frame the object is lost
    #                             (with motion: per frame without a whole mask to correct the box filter)
    exclusive_masks: bool = True  # each pixel belongs to at most one tracked object (the highest mask logit;
    #                               sam2's non-overlap constraint) before masks and grasps are read out and
    #                               the search windows follow the masks
    motion: bool = True  # a Kalman filter on each object's box (motion.py): search windows follow its
    #                       prediction (also while the object is hidden), and it scores SAM 2's mask candidates
    motion_weight: float = 0.5  # weight of a candidate's box agreement with the prediction against its predicted
    #                             IoU when a tracking frame picks its mask (0: SAM 2's pick; SAMURAI's idea)
    min_area_ratio: float = 0.0  # > 0: visible only when the mask covers at least this x the object's usual
    #                              area (object_tracks.py); 0: SAM 2's object score alone
    memory_gate: bool = False  # memory is written only from frames where the object is visible (calibrated);
    #                            elsewhere it repeats its last confident entry (memory_selection.ConfidentFrames)
    resolve_duplicates: bool = False  # two tracked objects' masks on one place: the one that agrees less with its
    #                                   box filter loses it for the frame (duplicates.py)
    duplicate_iou: float = 0.6  # mask IoU from which two tracks are on one object
    memory_anchors: bool = False  # the frame that told an object from a look-alike stays in memory as its anchor
    #                               (distractor_anchors.py, DAM4SAM's idea; one entry per cohort, flat memory)
    steady_grasps: bool = True  # each object's grasps associated over frames, smoothed, and a best grasp with
    #                             hysteresis (steady_grasps.py; SteadyGraspConfig holds its settings)
    grasp_source: str = "auto"  # grasps from the grasp head ("model"), from each object's mask ("geometry"),
    #                             or "auto": the head when the checkpoint's head was trained (tracker/grasp_source.py)
    decode: DecodeConfig = field(default_factory=DecodeConfig)  # peak picking and read-out of the grasp maps
    geometry: GeometryConfig = field(default_factory=GeometryConfig)  # the mask-geometry grasp rule

    def __post_init__(self) -> None:
        if not 0.0 < self.duplicate_iou <= 1.0:
            raise ValueError(f"duplicate_iou must be in (0, 1], got {self.duplicate_iou}")
        if self.preprocess not in (RESIZE, LETTERBOX):
            raise ValueError(f"preprocess must be {RESIZE!r} or {LETTERBOX!r}, got {self.preprocess!r}")
        if not 0.0 <= self.presence_threshold <= 1.0:
            raise ValueError(f"presence_threshold must be in [0, 1], got {self.presence_threshold}")
        if not 0.0 <= self.motion_weight <= 1.0 or not 0.0 <= self.min_area_ratio <= 1.0:
            raise ValueError(f"motion_weight and min_area_ratio must be in [0, 1], got {self.motion_weight}, "
                             f"{self.min_area_ratio}")
        if self.grasp_source not in GRASP_SOURCES:
            raise ValueError(f"grasp_source must be one of {', '.join(GRASP_SOURCES)}, got {self.grasp_source!r}")
        if self.search_window < 0 or self.search_growth < 0:
            raise ValueError(f"search_window and search_growth must be >= 0, got {self.search_window}, "
                             f"{self.search_growth}")

    @classmethod
    def paper(cls) -> "TrackerConfig":
        """The plain SPGrasp model as the paper runs it: no search window, overlapping masks, no motion,
        presence from the object score, every frame in memory, each frame's own grasps, grasp angle and width
        read at the peak pixel."""
        return cls(search_window=0.0, exclusive_masks=False, motion=False, min_area_ratio=0.0, memory_gate=False,
                   resolve_duplicates=False, memory_anchors=False,
                   steady_grasps=False, decode=DecodeConfig(readout_window=1))

    def with_settings(self, settings: Mapping[str, Any]) -> "TrackerConfig":
        """This config with the tracker settings among ``settings`` (node parameters by name: the fields
        here and ``DECODE_SETTINGS``) replaced; other keys are ignored."""
        decode = dataclasses.replace(self.decode, **{k: settings[k] for k in DECODE_SETTINGS if k in settings})
        geometry = dataclasses.replace(self.geometry, **{k: settings[f"geometry_{k}"] for k in GEOMETRY_SETTINGS
                                                         if f"geometry_{k}" in settings})
        own = {f.name for f in dataclasses.fields(self)} - {"decode", "geometry"}
        return dataclasses.replace(self, decode=decode, geometry=geometry,
                                   **{k: settings[k] for k in own if k in settings})

    def settings(self) -> dict[str, Any]:
        """The flat name -> value view that ``with_settings`` reads (the tracker node's parameter names)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name not in ("decode", "geometry")}
        values.update({k: getattr(self.decode, k) for k in DECODE_SETTINGS})
        values.update({f"geometry_{k}": getattr(self.geometry, k) for k in GEOMETRY_SETTINGS})
        return values
