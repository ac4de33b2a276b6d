"""A parallel-jaw gripper drawn at a metric grasp pose: two fingers and a palm as boxes (for rviz2 markers).

Grasp frame (``msg/Grasp.msg``): origin at the grasp centre on the object surface, +z the approach direction
(into the scene), +x the closing direction (jaw to jaw), +y = z cross x. The fingers stand either side of the
centre along x, opened to the grasp width, reaching ``finger_length`` along z centred on the surface point; the
palm joins them behind (towards the camera).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class GripperShape:
    """Sizes of the drawn gripper [m]."""

    finger_length: float = 0.04  # along the approach (z)
    finger_thickness: float = 0.008  # along the closing direction (x)
    finger_depth: float = 0.015  # along the jaws (y)


@dataclass(frozen=True)
class GripperPart:
    """One box: its centre [3] and orientation (x, y, z, w) in the camera frame, and its size [3] (x, y, z)."""

    name: str  # "left_finger", "right_finger" or "palm"
    centre: tuple[float, float, float]
    orientation: tuple[float, float, float, float]
    size: tuple[float, float, float]


def gripper_parts(position, orientation, width_m: float, shape: GripperShape = GripperShape()) -> list[GripperPart]:
    """The fingers and palm of a gripper opened to ``width_m`` at the grasp pose ``position`` [3] (m) and
    ``orientation`` (x, y, z, w), in the pose's frame."""
    rotation = Rotation.from_quat(np.asarray(orientation, dtype=float))
    centre = np.asarray(position, dtype=float)
    t, length, depth = shape.finger_thickness, shape.finger_length, shape.finger_depth
    half = max(float(width_m), 0.0) / 2 + t / 2
    local = {  # part -> (centre in the grasp frame, size)
        "left_finger": ((-half, 0.0, 0.0), (t, depth, length)),
        "right_finger": ((half, 0.0, 0.0), (t, depth, length)),
        "palm": ((0.0, 0.0, -length / 2 - t / 2), (2 * half + t, depth, t)),
    }
    quat = tuple(float(v) for v in rotation.as_quat())
    return [GripperPart(name, tuple(float(v) for v in centre + rotation.apply(offset)), quat, size)
            for name, (offset, size) in local.items()]
