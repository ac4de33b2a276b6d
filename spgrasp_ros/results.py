"""What the tracker reports for one frame: per-object state and grasps (ROS-free).

These plain records are the boundary between the core (tracker, evaluation, demo) and the ROS nodes, which
convert them to ``spgrasp_ros/msg/GraspArray`` (``spgrasp_ros.ros.conversions``). Pixel conventions are
those of ``msg/Grasp.msg``: input-image pixels, x right, y down, origin at the top-left image corner; grasp
angles are the closing direction from +x toward +y, wrapped to [-pi/2, pi/2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np


def wrap_grasp_angle(angle: float | np.ndarray) -> float | np.ndarray:
    """Wrap an angle [rad] (or an array of them) to [-pi/2, pi/2): a parallel-jaw grasp is unchanged by a half
    turn. The one wrapping rule of the package."""
    return (angle + math.pi / 2) % math.pi - math.pi / 2


@dataclass(frozen=True)
class GraspPose:
    """Metric grasp in the camera's optical frame (x right, y down, z forward).

    position: [m]; orientation: quaternion (x, y, z, w) whose +z axis is the approach direction into the
    scene and whose +x axis is the closing direction.
    """

    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]
    width_m: float  # [m] opening width at the grasp depth
    depth_m: float  # [m] depth estimate the position was lifted with


@dataclass(frozen=True)
class Grasp:
    """One 4-DoF grasp of one object in input-image pixels; ``pose`` is None without valid depth."""

    object_id: int
    score: float  # [0, 1]
    center: tuple[float, float]  # [px] (x, y)
    angle: float  # [rad] in [-pi/2, pi/2)
    width: float  # [px] opening along the closing direction
    jaw_size: float  # [px] rectangle extent along the jaws
    pose: GraspPose | None = None
    track_id: int = 0  # grasp track across frames (``tracker.steady_grasps``); 0 = not associated
    stability: float = 0.0  # [0, 1] share of the track's recent frames it was seen in; 0 = not associated
    source: str = "model"  # where it came from: "model" (the grasp head) or "geometry" (the object's mask)


TRACKING = "tracking"  # ObjectState.state: visible and followed
LOST = "lost"  # not visible (occluded or out of view)
REACQUIRED = "reacquired"  # visible again on the first frames after being lost
OBJECT_STATES = (TRACKING, LOST, REACQUIRED)  # every ObjectState.state (ObjectState.msg: constants 0, 1, 2)


@dataclass(frozen=True)
class ObjectState:
    """Tracking state of one object in one frame (see ``msg/ObjectState.msg``)."""

    id: int
    visible: bool
    presence_score: float  # [0, 1]; visible == presence_score >= the tracker's presence threshold
    mask_area: int  # [px] at input resolution
    bbox: tuple[float, float, float, float]  # [px] x_min, y_min, x_max, y_max of the mask; zeros when lost
    frames_since_prompt: int
    frames_lost: int
    state: str = TRACKING  # one of OBJECT_STATES


@dataclass(frozen=True)
class FrameResult:
    """Everything the tracker says about one frame.

    ``grasps`` holds every object's grasps in descending score, except that each object's steady best grasp
    (``tracker.steady_grasps``, when it ran) takes the place of that object's highest-scoring one: the slots an
    object's grasps occupy follow descending score, and within them its best comes first, then its others by
    descending score. So each object's grasps are best first and ``grasps[0]`` is the best grasp of the object
    with the highest-scoring grasp. A steady best not detected on this frame is held (moved with its object,
    scored with its smoothed score), so an object can carry one grasp more than the decoder's top-k.
    ``objects`` is ordered by id.
    """

    image_size: tuple[int, int]  # (width, height) [px] of the input image
    frame_index: int
    objects: tuple[ObjectState, ...] = ()
    grasps: tuple[Grasp, ...] = ()
    processing_ms: float = 0.0
    extra: dict = field(default_factory=dict, compare=False)  # stage timings etc.; not published

    def grasps_of(self, object_id: int) -> tuple[Grasp, ...]:
        """Grasps of one object, best first (in the order of ``grasps``)."""
        return tuple(g for g in self.grasps if g.object_id == object_id)

    def best_grasp(self, object_id: int) -> Grasp | None:
        """The best grasp of one object (the first of ``grasps_of``: its steady best when
        ``tracker.steady_grasps`` ran, else its highest-scoring), or None."""
        own = self.grasps_of(object_id)
        return own[0] if own else None

    def to_dict(self) -> dict:
        """JSON-ready dict (``extra`` left out)."""
        data = asdict(self)
        data.pop("extra")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "FrameResult":
        """Inverse of ``to_dict``; reads dicts written before ``track_id``/``stability``/``state``/``source``
        existed."""
        def grasp(g: dict) -> Grasp:
            pose = g.get("pose")
            if pose is not None:
                pose = GraspPose(tuple(pose["position"]), tuple(pose["orientation"]), pose["width_m"], pose["depth_m"])
            return Grasp(g["object_id"], g["score"], tuple(g["center"]), g["angle"], g["width"], g["jaw_size"], pose,
                         g.get("track_id", 0), g.get("stability", 0.0), g.get("source", "model"))

        return cls(
            image_size=tuple(data["image_size"]),
            frame_index=data["frame_index"],
            objects=tuple(ObjectState(**{**o, "bbox": tuple(o["bbox"])}) for o in data["objects"]),
            grasps=tuple(grasp(g) for g in data["grasps"]),
            processing_ms=data["processing_ms"],
        )
