"""Label rasterisation is the inverse of grasp decoding: draw, decode, map back, and the metric agrees."""

import numpy as np
import pytest
import torch

from spgrasp_ros.data.labels import ALT_COS2, ALT_SIN2, LABEL_CHANNELS, LabelConfig, rasterize_object
from spgrasp_ros.data.types import GraspSet
from spgrasp_ros.evaluation.metrics import RectangleMetric
from spgrasp_ros.grasps.decode import DecodeConfig, decode_grasps
from spgrasp_ros.grasps.frame_geometry import LETTERBOX, RESIZE, FrameGeometry
from spgrasp_ros.grasps.rectangles import grasp_corners
from spgrasp_ros.model.channels import COS2, NUM_CHANNELS, OBJECT, POSITION, SIN2, WIDTH


@pytest.mark.parametrize("mode", [RESIZE, LETTERBOX])
def test_draw_decode_round_trip_on_a_non_square_image(mode):
    geometry = FrameGeometry((320, 180), 256, mode)
    truth = GraspSet.create([[100, 60], [220, 120]], [0.4, -1.1], [40, 30], [20, 15])
    mask = np.zeros((180, 320), dtype=bool)
    mask[40:140, 80:250] = True
    targets = rasterize_object(truth, mask, geometry)
    assert targets.shape == (LABEL_CHANNELS, 64, 64)
    assert set(np.unique(targets[POSITION])) == {0.0, 1.0} and targets[OBJECT].any()
    decoded = decode_grasps(torch.from_numpy(targets[:NUM_CHANNELS])[None], 256, DecodeConfig(top_k=2, min_distance=3))
    assert decoded.valid[0].all()
    centres, angles, widths = geometry.grasps_to_input(decoded.centers[0].numpy(), decoded.angles[0].numpy(),
                                                       decoded.widths[0].numpy())
    predicted = grasp_corners(centres, angles, widths, widths * 0.5)
    correct = RectangleMetric().is_correct(predicted, angles, grasp_corners(truth.centers, truth.angles, truth.widths,
                                                                           truth.jaws), truth.angles)
    assert correct.all()
    order = np.argsort(centres[:, 0])
    np.testing.assert_allclose(widths[order], [40, 30], rtol=0.03)  # exact up to the disc's pixel grid


def test_targets_values_and_empty_objects():
    geometry = FrameGeometry((128, 128), 128, RESIZE)
    corner = rasterize_object(GraspSet.create([[64, 64]], [0.0], [50], [25]), None, geometry)
    assert (corner[POSITION] > 0).sum() == 4  # centre on a pixel corner (map 16.0): the 2x2 block around it
    targets = rasterize_object(GraspSet.create([[66, 66]], [np.pi / 6], [50], [25]), None, geometry,
                               LabelConfig(position_radius=1.5, width_scale=100))
    on = targets[POSITION] > 0
    assert on.sum() == 9  # centre on map pixel (16, 16)'s centre: its 3x3 block lies within 1.5 px
    assert np.allclose(targets[COS2][on], np.cos(np.pi / 3)) and np.allclose(targets[SIN2][on], np.sin(np.pi / 3))
    assert np.allclose(targets[WIDTH][on], 0.5) and not targets[OBJECT].any()
    assert not rasterize_object(GraspSet.empty(), None, geometry).any()


def test_centre_bias_ranks_central_grasps_first():
    geometry = FrameGeometry((128, 128), 128, RESIZE)
    grasps = GraspSet.create([[30, 64], [66, 64], [102, 64]], [0.0, 0.0, 0.0], [20, 20, 20], [10, 10, 10])
    flat = rasterize_object(grasps, None, geometry)
    graded = rasterize_object(grasps, np.ones((128, 128), bool), geometry, LabelConfig(centre_bias=0.5))
    assert set(np.unique(flat[POSITION])) == {0.0, 1.0}
    row = graded[POSITION, 16]  # the map row through the three centres
    assert row[16] == pytest.approx(1.0) and row[7] == pytest.approx(0.5) and row[25] == pytest.approx(0.5)
    decoded = decode_grasps(torch.from_numpy(graded[:NUM_CHANNELS])[None], 128, DecodeConfig(top_k=1))
    assert decoded.valid[0, 0]
    assert decoded.centers[0, 0].tolist() == pytest.approx([66.0, 66.0], abs=4.0)


def test_alternative_angle_where_valid_grasps_cross():
    """A square's centre: both closing directions valid, so the alternative channels hold the other one;
    where every covering grasp agrees (a bar) they repeat the primary angle."""
    geometry = FrameGeometry((128, 128), 128, RESIZE)
    square = GraspSet.create([[66, 66], [66, 66], [66, 60]], [0.3, 0.3 + np.pi / 2, 0.3 + np.pi / 2],
                             [40, 40, 40], [20, 20, 20])
    targets = rasterize_object(square, None, geometry)
    centre = (16, 16)
    assert targets[COS2][centre] == pytest.approx(np.cos(0.6))  # ties go to the first listed grasp
    assert targets[ALT_COS2][centre] == pytest.approx(np.cos(0.6 + np.pi))
    assert targets[ALT_SIN2][centre] == pytest.approx(np.sin(0.6 + np.pi))
    bar = rasterize_object(GraspSet.create([[40, 66], [66, 66], [92, 66]], [1.0] * 3, [20] * 3, [10] * 3), None,
                           geometry)
    np.testing.assert_array_equal(bar[ALT_COS2], bar[COS2])
    np.testing.assert_array_equal(bar[ALT_SIN2], bar[SIN2])
