"""Lifting image grasps to metric poses with depth and pinhole intrinsics."""

import math

import numpy as np
import pytest

from spgrasp_ros.grasps.lift import Intrinsics, lift_grasp, lift_grasps
from spgrasp_ros.results import Grasp

K = Intrinsics(fx=500.0, fy=400.0, cx=320.0, cy=240.0)


def _grasp(x=400.0, y=300.0, angle=0.0, width=50.0, jaw=20.0) -> Grasp:
    return Grasp(object_id=1, score=0.9, center=(x, y), angle=angle, width=width, jaw_size=jaw)


def test_plane_back_projects_to_the_pinhole_position_and_metric_width():
    depth = np.full((480, 640), 2.0, np.float32)
    lifted = lift_grasp(_grasp(), depth, K)
    assert lifted.pose.position == pytest.approx(((400 - 320) * 2 / 500, (300 - 240) * 2 / 400, 2.0))
    assert lifted.pose.width_m == pytest.approx(50 * 2 / 500)  # horizontal opening: fx applies
    vertical = lift_grasp(_grasp(angle=-math.pi / 2), depth, K)
    assert vertical.pose.width_m == pytest.approx(50 * 2 / 400)  # vertical opening: fy applies
    assert lifted.pose.depth_m == pytest.approx(2.0)


def test_orientation_rotates_about_the_optical_axis_by_the_grasp_angle():
    depth = np.full((480, 640), 1.0, np.float32)
    q = lift_grasp(_grasp(angle=0.6), depth, K).pose.orientation
    x_axis = np.array([1 - 2 * (q[1] ** 2 + q[2] ** 2), 2 * (q[0] * q[1] + q[2] * q[3]),
                       2 * (q[0] * q[2] - q[1] * q[3])])
    assert x_axis == pytest.approx([math.cos(0.6), math.sin(0.6), 0.0], abs=1e-6)
    assert np.linalg.norm(q) == pytest.approx(1.0)


def test_near_surface_wins_over_background_and_invalid_depth_gives_no_pose():
    depth = np.full((480, 640), 3.0, np.float32)
    depth[290:311, 380:421] = 1.0  # the object under the grasp centre
    assert lift_grasp(_grasp(), depth, K).pose.depth_m == pytest.approx(1.0)
    holes = np.full((480, 640), np.nan, np.float32)
    assert lift_grasp(_grasp(), holes, K).pose is None
    zeros = np.zeros((480, 640), np.float32)
    assert lift_grasp(_grasp(), zeros, K).pose is None
    outside = lift_grasp(_grasp(x=5000.0), np.full((480, 640), 1.0, np.float32), K)
    assert outside.pose is None


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="intrinsics"):
        Intrinsics(0.0, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="HxW"):
        lift_grasps((_grasp(),), np.zeros((4, 4, 1), np.float32), K)


def test_depth_is_taken_only_on_the_object_mask():
    depth = np.full((480, 640), 3.0, np.float32)
    depth[300:, :] = 0.8  # something nearer than the object right beside it (another object, a hand)
    mask = np.zeros((480, 640), bool)
    mask[280:300, 380:421] = True  # the object: the upper half of the grasp region
    depth[mask] = 1.2
    assert lift_grasp(_grasp(), depth, K).pose.depth_m == pytest.approx(0.8), "without the mask the nearer thing wins"
    assert lift_grasp(_grasp(), depth, K, mask=mask).pose.depth_m == pytest.approx(1.2)
    assert lift_grasp(_grasp(), depth, K, mask=np.zeros_like(mask)).pose is None, "no valid sample on the object"
    lifted = lift_grasps((_grasp(),), depth, K, masks={1: mask})
    assert lifted[0].pose.depth_m == pytest.approx(1.2)
