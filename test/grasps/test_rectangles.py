"""Grasp rectangles and the rectangle metric on hand-computed cases."""

import math

import numpy as np
import pytest

from spgrasp_ros.evaluation.metrics import RectangleMetric
from spgrasp_ros.grasps.rectangles import angle_difference, grasp_corners, grasp_from_corners, rectangle_iou


def test_corners_of_an_axis_aligned_and_a_rotated_grasp():
    np.testing.assert_allclose(grasp_corners([[10, 20]], 0.0, 8, 4)[0],
                               [[6, 18], [14, 18], [14, 22], [6, 22]])
    # closing direction along +y (angle pi/2 points down the image): width spans y, jaws span x
    np.testing.assert_allclose(grasp_corners([[0, 0]], math.pi / 2, 8, 4)[0],
                               [[2, -4], [2, 4], [-2, 4], [-2, -4]], atol=1e-12)


def test_corners_round_trip():
    rng = np.random.default_rng(0)
    center = rng.uniform(0, 500, (50, 2))
    angle = rng.uniform(-math.pi / 2, math.pi / 2, 50)
    width, jaw = rng.uniform(5, 80, 50), rng.uniform(2, 40, 50)
    c, a, w, j = grasp_from_corners(grasp_corners(center, angle, width, jaw))
    np.testing.assert_allclose(c, center, atol=1e-9)
    np.testing.assert_allclose(angle_difference(a, angle), 0, atol=1e-9)
    np.testing.assert_allclose(w, width, atol=1e-9)
    np.testing.assert_allclose(j, jaw, atol=1e-9)


def test_iou_hand_computed():
    a = grasp_corners([[0, 0]], 0.0, 10, 4)
    assert rectangle_iou(a, a)[0, 0] == pytest.approx(1.0)
    shifted = grasp_corners([[5, 0]], 0.0, 10, 4)  # overlap 5x4 = 20, union 40 + 40 - 20 = 60
    assert rectangle_iou(a, shifted)[0, 0] == pytest.approx(1 / 3)
    crossed = grasp_corners([[0, 0]], math.pi / 2, 10, 4)  # overlap 4x4 = 16, union 64
    assert rectangle_iou(a, crossed)[0, 0] == pytest.approx(0.25)
    square = grasp_corners([[0, 0]], 0.0, 2, 2)
    diamond = grasp_corners([[0, 0]], math.pi / 4, 2, 2)  # octagon 8(sqrt2 - 1); union 8 - that
    assert rectangle_iou(square, diamond)[0, 0] == pytest.approx(1 / math.sqrt(2))
    far = grasp_corners([[100, 0]], 0.0, 10, 4)
    assert rectangle_iou(a, far)[0, 0] == 0.0
    assert rectangle_iou(a, np.concatenate([a, shifted, far])).shape == (1, 3)


def test_angle_difference_is_modulo_half_turn():
    deg = np.deg2rad
    assert angle_difference(deg(170), deg(-5)) == pytest.approx(deg(5))
    assert angle_difference(deg(89), deg(-89)) == pytest.approx(deg(2))
    assert angle_difference(deg(0), deg(90)) == pytest.approx(deg(90))
    assert angle_difference(deg(10), deg(190)) == pytest.approx(0, abs=1e-12)


def test_metric_needs_both_angle_and_iou():
    metric = RectangleMetric()
    gt = grasp_corners([[50, 50], [200, 200]], [0.0, 1.0], 40, 20)
    gt_angles = np.array([0.0, 1.0])
    preds = [
        ((50, 50), 0.0, True),                    # identical to gt 0
        ((50, 50), np.deg2rad(29), True),         # angle 29 deg, IoU still > 0.25
        ((50, 50), np.deg2rad(31), False),        # angle 31 deg
        ((75, 50), 0.0, False),                   # shifted 25 px along the width: IoU 300 / 1300 = 0.23
        ((200, 200), 1.0 + math.pi, True),       # gt 1, angle equal modulo pi
        ((120, 120), 0.0, False),                 # no overlap with any
    ]
    # a 40x20 rectangle shifted 25 px along its width: overlap 15x20 = 300, union 800 + 800 - 300 = 1300
    shifted = grasp_corners([[75, 50]], 0.0, 40, 20)
    assert rectangle_iou(gt[:1], shifted)[0, 0] == pytest.approx(300 / 1300)
    corners = grasp_corners(np.array([p[0] for p in preds], dtype=float), [p[1] for p in preds], 40, 20)
    result = metric.is_correct(corners, [p[1] for p in preds], gt, gt_angles)
    assert result.tolist() == [p[2] for p in preds]
    assert metric.is_correct(corners[:1], [0.0], np.zeros((0, 4, 2)), []).tolist() == [False]
