"""The gripper drawn at a grasp pose: fingers either side along the closing direction, palm behind."""

import numpy as np
from scipy.spatial.transform import Rotation

from spgrasp_ros.grasps.gripper_model import GripperShape, gripper_parts


def test_an_upright_grasp_puts_the_fingers_across_x_and_the_palm_towards_the_camera():
    shape = GripperShape(finger_length=0.04, finger_thickness=0.01, finger_depth=0.02)
    parts = {p.name: p for p in gripper_parts((0.1, 0.2, 1.0), (0, 0, 0, 1), 0.06, shape)}
    np.testing.assert_allclose(parts["left_finger"].centre, (0.1 - 0.035, 0.2, 1.0))
    np.testing.assert_allclose(parts["right_finger"].centre, (0.1 + 0.035, 0.2, 1.0))
    np.testing.assert_allclose(parts["palm"].centre, (0.1, 0.2, 1.0 - 0.025))
    assert parts["left_finger"].size == (0.01, 0.02, 0.04)
    np.testing.assert_allclose(parts["palm"].size, (0.08, 0.02, 0.01))
    gap = parts["right_finger"].centre[0] - parts["left_finger"].centre[0] - 0.01
    assert abs(gap - 0.06) < 1e-12, "the fingers' inner faces are the opening width apart"


def test_the_parts_turn_with_the_grasp_and_keep_its_orientation():
    rotation = Rotation.from_euler("xyz", [0.3, -0.2, 1.1])
    quat = tuple(rotation.as_quat())
    centre = np.array([0.0, -0.1, 0.8])
    parts = {p.name: p for p in gripper_parts(centre, quat, 0.05)}
    middle = (np.array(parts["left_finger"].centre) + np.array(parts["right_finger"].centre)) / 2
    np.testing.assert_allclose(middle, centre, atol=1e-12)
    across = np.array(parts["right_finger"].centre) - np.array(parts["left_finger"].centre)
    np.testing.assert_allclose(across / np.linalg.norm(across), rotation.apply([1, 0, 0]), atol=1e-12)
    behind = np.array(parts["palm"].centre) - centre
    np.testing.assert_allclose(behind / np.linalg.norm(behind), rotation.apply([0, 0, -1]), atol=1e-12)
    assert all(np.allclose(p.orientation, quat) for p in parts.values())
