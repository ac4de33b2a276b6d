"""From a tracked grasp to an arm command, without ROS: frames, pre-grasp offset, workspace, gripper, staleness.

Frames. A grasp pose (``results.GraspPose``) lives in the camera's optical frame; its own frame has +z along
the approach (into the scene) and +x along the closing direction. ``RigidTransform`` is the pose of a child
frame in a parent frame (``p_parent = R @ p_child + t``), the same convention as a tf2 ``lookup_transform(
parent, child)`` and ``static_transform_publisher --frame-id parent --child-frame-id child``: the camera's
extrinsics are the camera optical frame's pose in the arm's base frame. ``tool`` turns the grasp frame into the
frame the arm controller expects for its end-effector target (identity when that frame also has z = approach,
x = closing).

The bridge node (``spgrasp_ros.nodes.r1_grasp_bridge``) keeps only message handling; every rule is here:
``select_grasp`` (which grasp), ``arm_target`` (where to send the arm and how far to open), and
``ArmTargetPlanner`` (staleness, the object lock, the rate limit, orientation continuity).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.spatial.transform import Rotation

from spgrasp_ros.results import FrameResult, Grasp, GraspPose

_HALF_TURN_Z = Rotation.from_euler("z", math.pi)  # a parallel-jaw grasp is the same grasp turned by this


def _vector(values: Sequence[float], size: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.shape != (size,) or not np.isfinite(array).all():
        raise ValueError(f"{what} must be {size} finite numbers, got {list(values)!r}")
    return array


def rotation_from_quaternion(quaternion_xyzw: Sequence[float], what: str = "quaternion") -> Rotation:
    """A rotation from (x, y, z, w); refuses non-unit quaternions (|q| off 1 by more than 1 %: a typo)."""
    q = _vector(quaternion_xyzw, 4, what)
    norm = float(np.linalg.norm(q))
    if abs(norm - 1.0) > 0.01:
        raise ValueError(f"{what} (x, y, z, w) = {q.tolist()} is not a unit quaternion (norm {norm:.4f})")
    return Rotation.from_quat(q / norm)


def rotation_from_rpy(rpy: Sequence[float], what: str = "roll, pitch, yaw") -> Rotation:
    """ROS roll/pitch/yaw [rad]: about the fixed x, then y, then z axes (R = Rz(yaw) Ry(pitch) Rx(roll))."""
    return Rotation.from_euler("xyz", _vector(rpy, 3, what))


def quaternion_xyzw(rotation: Rotation) -> tuple[float, float, float, float]:
    """(x, y, z, w) with w >= 0 (one of the two equal quaternions, chosen so that outputs are reproducible)."""
    q = rotation.as_quat()
    return tuple(float(v) for v in (-q if q[3] < 0 else q))


@dataclass(frozen=True)
class RigidTransform:
    """Pose of a child frame in a parent frame: ``p_parent = rotation.apply(p_child) + translation``."""

    translation: np.ndarray  # [3] metres
    rotation: Rotation

    @classmethod
    def identity(cls) -> "RigidTransform":
        """No rotation, no translation."""
        return cls(np.zeros(3), Rotation.identity())

    @classmethod
    def from_quaternion(cls, xyz: Sequence[float], quaternion: Sequence[float]) -> "RigidTransform":
        """From a translation [m] and a unit quaternion (x, y, z, w)."""
        return cls(_vector(xyz, 3, "translation (x, y, z)"), rotation_from_quaternion(quaternion))

    @classmethod
    def from_rpy(cls, xyz: Sequence[float], rpy: Sequence[float]) -> "RigidTransform":
        """From a translation [m] and roll, pitch, yaw [rad] (ROS's fixed-axis convention)."""
        return cls(_vector(xyz, 3, "translation (x, y, z)"), rotation_from_rpy(rpy))

    @classmethod
    def from_quaternion_or_rpy(cls, xyz: Sequence[float], quaternion: Sequence[float],
                               rpy: Sequence[float]) -> "RigidTransform":
        """Rotation from whichever of the two is set (not the identity); both set is refused as ambiguous."""
        by_quaternion = cls.from_quaternion(xyz, quaternion)
        by_rpy = cls.from_rpy(xyz, rpy)
        if by_quaternion.rotation.magnitude() > 1e-9 and by_rpy.rotation.magnitude() > 1e-9:
            raise ValueError("the rotation is given twice (quaternion and roll/pitch/yaw): set one, leave the "
                             "other at its identity (0, 0, 0, 1) / (0, 0, 0)")
        return by_rpy if by_rpy.rotation.magnitude() > 1e-9 else by_quaternion

    def apply_point(self, point: Sequence[float]) -> np.ndarray:
        """The point (x, y, z) in the target frame."""
        return self.rotation.apply(np.asarray(point, dtype=float)) + self.translation

    def apply_pose(self, position: Sequence[float], orientation: Rotation) -> tuple[np.ndarray, Rotation]:
        """A pose (position, orientation) in the child frame, expressed in the parent frame."""
        return self.apply_point(position), self.rotation * orientation


@dataclass(frozen=True)
class Workspace:
    """Axis-aligned box [m] in the base frame the arm may be sent into (bounds included)."""

    minimum: tuple[float, float, float]
    maximum: tuple[float, float, float]

    def __post_init__(self) -> None:
        low, high = _vector(self.minimum, 3, "workspace minimum"), _vector(self.maximum, 3, "workspace maximum")
        bad = [axis for axis, lo, hi in zip("xyz", low, high) if not lo < hi]
        if bad:
            raise ValueError(f"workspace: {', '.join(bad)}_min must be below {', '.join(bad)}_max "
                             f"(min {low.tolist()}, max {high.tolist()})")

    def contains(self, point: Sequence[float]) -> bool:
        """Whether the point lies inside the box (bounds included)."""
        p = np.asarray(point, dtype=float)
        return bool(np.isfinite(p).all() and (p >= self.minimum).all() and (p <= self.maximum).all())

    def describe(self) -> str:
        """The bounds, for messages."""
        return ", ".join(f"{axis} [{lo:g}, {hi:g}]" for axis, lo, hi in zip("xyz", self.minimum, self.maximum))


@dataclass(frozen=True)
class GripperRange:
    """Maps a grasp's opening width [m] onto the gripper's command units (linear, clipped).

    The command for opening ``min_opening_m`` is ``command_at_min`` and for ``max_opening_m`` ``command_at_max``
    (so a gripper whose command counts closure just swaps the two). The gripper opens ``margin_m`` wider than
    the grasp: the jaws must pass around the object on the way in.
    """

    min_opening_m: float = 0.0
    max_opening_m: float = 0.1
    command_at_min: float = 0.0
    command_at_max: float = 100.0
    margin_m: float = 0.02

    def __post_init__(self) -> None:
        values = dataclasses.astuple(self)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"gripper range values must be finite: {self}")
        if not 0.0 <= self.min_opening_m < self.max_opening_m:
            raise ValueError(f"gripper: need 0 <= min_opening_m < max_opening_m, got {self.min_opening_m:g}, "
                             f"{self.max_opening_m:g}")
        if self.margin_m < 0.0:
            raise ValueError(f"gripper: margin_m must be >= 0, got {self.margin_m:g}")

    def opening(self, width_m: float) -> float:
        """The opening [m] to command for a grasp this wide: width + margin, clipped to the gripper's range."""
        if not (math.isfinite(width_m) and width_m >= 0.0):
            raise ValueError(f"grasp width {width_m!r} m is not a usable opening")
        return min(max(width_m + self.margin_m, self.min_opening_m), self.max_opening_m)

    def command(self, width_m: float) -> float:
        """The gripper command for a grasp this wide (raises ValueError for NaN/negative widths)."""
        fraction = (self.opening(width_m) - self.min_opening_m) / (self.max_opening_m - self.min_opening_m)
        return self.command_at_min + fraction * (self.command_at_max - self.command_at_min)


def stamp_age_s(stamp_s: float, now_s: float) -> float:
    """How old a stamp is [s] (negative: from the future, clocks disagree)."""
    return now_s - stamp_s


def is_stale(stamp_s: float, now_s: float, timeout_s: float) -> bool:
    """Older than ``timeout_s``, or further than that in the future (an unsynchronised clock: not trusted)."""
    return abs(stamp_age_s(stamp_s, now_s)) > timeout_s


def select_grasp(result: FrameResult, object_id: int) -> tuple[Grasp | None, str]:
    """The best grasp with a metric pose of object ``object_id`` (0: of any visible object), or (None, why).

    "Best" is the order of ``result.grasps`` (GraspArray's): each object's best grasp comes first, and with
    steady grasps that is the steady one, held against flips between near-equal grasps, not simply the
    highest-scoring; so the arm follows the grasp the tracker holds steady. Without a pose the next one with a
    pose is taken."""
    states = {state.id: state for state in result.objects}
    if object_id:
        state = states.get(object_id)
        if state is None:
            return None, f"object {object_id} is not tracked"
        if not state.visible:
            return None, f"object {object_id} is lost"
        candidates = [g for g in result.grasps if g.object_id == object_id]
    else:
        visible = {i for i, state in states.items() if state.visible}
        if not visible:
            return None, "no tracked object is visible" if states else "no object is tracked"
        candidates = [g for g in result.grasps if g.object_id in visible]
    with_pose = [g for g in candidates if g.pose is not None]
    if not with_pose:
        what = "grasp with a metric pose (no valid depth under its grasps)" if candidates else "grasp"
        return None, f"object {object_id} has no {what}" if object_id else f"no visible object has a {what}"
    return with_pose[0], ""


@dataclass(frozen=True)
class ArmTarget:
    """Where to send the arm (base frame) and how far to open the gripper, for one grasp."""

    object_id: int
    score: float
    position: tuple[float, float, float]  # [m] commanded end-effector position (the pre-grasp point)
    orientation: tuple[float, float, float, float]  # (x, y, z, w) commanded end-effector orientation (w >= 0)
    grasp_position: tuple[float, float, float]  # [m] the grasp point itself
    opening_m: float  # [m] the opening the gripper command stands for
    gripper_command: float  # in the gripper's command units

    def describe(self) -> str:
        """One line for logs."""
        x, y, z = self.position
        qx, qy, qz, qw = self.orientation
        return (f"object {self.object_id} (score {self.score:.2f}): position ({x:.3f}, {y:.3f}, {z:.3f}) m, "
                f"orientation ({qx:.3f}, {qy:.3f}, {qz:.3f}, {qw:.3f}), gripper {self.gripper_command:.1f} "
                f"(opening {self.opening_m * 1000:.0f} mm)")


@dataclass(frozen=True)
class TargetSettings:
    """How grasps become arm targets (every value a node parameter)."""

    pre_grasp_offset_m: float = -0.1  # along the grasp's approach axis; negative: backed off towards the camera
    workspace: Workspace = Workspace((0.2, -0.6, 0.3), (0.9, 0.6, 1.5))
    gripper: GripperRange = GripperRange()
    tool: Rotation = field(default_factory=Rotation.identity)  # grasp frame -> the arm's end-effector frame
    object_id: int = 0  # 0: the best-scoring visible object (then kept, see ArmTargetPlanner)
    max_rate_hz: float = 10.0  # commands per second at most
    stale_timeout_s: float = 0.5  # grasps older than this (by their stamp) are not sent

    def __post_init__(self) -> None:
        if not math.isfinite(self.pre_grasp_offset_m):
            raise ValueError(f"pre_grasp_offset_m must be finite, got {self.pre_grasp_offset_m!r}")
        if self.object_id < 0:
            raise ValueError(f"object_id must be >= 0, got {self.object_id}")
        if not (self.max_rate_hz > 0 and self.stale_timeout_s > 0):
            raise ValueError("max_rate_hz and stale_timeout_s must be > 0")


def arm_target(grasp: Grasp, camera_to_base: RigidTransform, settings: TargetSettings,
               reference: Rotation | None = None) -> ArmTarget:
    """The arm target for a grasp with a pose; raises ValueError when it may not be sent (says why).

    The commanded point is the grasp point moved ``pre_grasp_offset_m`` along the grasp's approach axis; both it
    and the grasp point must lie inside the workspace. Of the two orientations that are the same parallel-jaw
    grasp (turned by half a turn about the approach axis), the one nearer ``reference`` (the last command) is
    taken, so the wrist does not spin when the grasp angle wraps around.
    """
    pose: GraspPose = grasp.pose
    if pose is None:
        raise ValueError(f"grasp of object {grasp.object_id} has no metric pose")
    grasp_rotation = rotation_from_quaternion(pose.orientation, "grasp orientation")
    grasp_position, grasp_rotation = camera_to_base.apply_pose(pose.position, grasp_rotation)
    approach = grasp_rotation.apply([0.0, 0.0, 1.0])
    position = grasp_position + settings.pre_grasp_offset_m * approach
    orientation = grasp_rotation * settings.tool
    if reference is not None:
        turned = grasp_rotation * _HALF_TURN_Z * settings.tool
        if (reference.inv() * turned).magnitude() < (reference.inv() * orientation).magnitude():
            orientation = turned
    for name, point in (("grasp point", grasp_position), ("pre-grasp point", position)):
        if not settings.workspace.contains(point):
            raise ValueError(f"{name} ({', '.join(f'{v:.3f}' for v in point)}) m is outside the workspace "
                             f"({settings.workspace.describe()})")
    return ArmTarget(
        object_id=grasp.object_id, score=float(grasp.score),
        position=tuple(float(v) for v in position), orientation=quaternion_xyzw(orientation),
        grasp_position=tuple(float(v) for v in grasp_position),
        opening_m=settings.gripper.opening(pose.width_m), gripper_command=settings.gripper.command(pose.width_m))


@dataclass(frozen=True)
class Plan:
    """What to do with one frame's grasps: send ``target``, or nothing (``reason`` says why)."""

    target: ArmTarget | None
    reason: str = ""
    refused: bool = False  # nothing sent because of a problem (stale, outside the workspace, ...), not idleness
    held: bool = False  # a valid target held back by the rate limit


class ArmTargetPlanner:
    """Decides per frame whether and what to command; holds the little state that takes.

    - grasps older than ``stale_timeout_s`` are never sent;
    - with ``object_id`` 0 the first object commanded is kept (the arm does not jump to another object when
      scores change); when it is lost, nothing is sent until ``reset()`` (the bridge resets on enable);
    - at most ``max_rate_hz`` commands per second (time of ``sent``);
    - orientation continuity across the parallel-jaw symmetry (see ``arm_target``).
    """

    def __init__(self, settings: TargetSettings) -> None:
        self._settings = settings
        self.reset()

    @property
    def settings(self) -> TargetSettings:
        """The rules targets are made by."""
        return self._settings

    @settings.setter
    def settings(self, settings: TargetSettings) -> None:
        """Change the rules from the next plan on."""
        if settings.object_id != self._settings.object_id:
            self._locked = None
        self._settings = settings

    @property
    def locked_object(self) -> int | None:
        """The object the commands are for (object_id, or the one chosen with object_id 0), None before any."""
        return self._settings.object_id or self._locked

    def reset(self) -> None:
        """Forget the chosen object, the last command time and orientation."""
        self._locked: int | None = None
        self._last_sent_s: float | None = None
        self._last_orientation: Rotation | None = None

    def plan(self, result: FrameResult, stamp_s: float, now_s: float,
             camera_to_base: RigidTransform) -> Plan:
        """The arm target for the selected object's best posed grasp in ``result`` (stamped ``stamp_s``, now
        ``now_s``, both [s]), or why there is none."""
        settings = self._settings
        age = stamp_age_s(stamp_s, now_s)
        if is_stale(stamp_s, now_s, settings.stale_timeout_s):
            when = f"{age:.3f} s old" if age > 0 else f"{-age:.3f} s in the future (clocks not synchronised?)"
            return Plan(None, f"grasps are stale: stamp {when}, stale_timeout_s {settings.stale_timeout_s:g}",
                        refused=True)
        grasp, why = select_grasp(result, self.locked_object or 0)
        if grasp is None:
            if self._locked is not None and not settings.object_id:
                why += " (it was chosen by object_id 0; enable again to choose anew)"
            return Plan(None, why)
        try:
            target = arm_target(grasp, camera_to_base, settings, self._last_orientation)
        except ValueError as error:
            return Plan(None, str(error), refused=True)
        since = None if self._last_sent_s is None else now_s - self._last_sent_s
        if since is not None and 0.0 <= since < 1.0 / settings.max_rate_hz - 1e-6:  # (1e-6: float rounding)
            return Plan(target, "rate limit", held=True)
        return Plan(target)

    def sent(self, target: ArmTarget, now_s: float) -> None:
        """Record a target that went out: rate limit, object lock, orientation reference."""
        self._last_sent_s = now_s
        self._locked = target.object_id
        self._last_orientation = Rotation.from_quat(target.orientation)
