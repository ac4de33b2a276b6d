"""Model <-> input mapping: exact round trips on non-square images, agreement with OpenCV's resize."""

import math

import numpy as np
import pytest

from spgrasp_ros.grasps.frame_geometry import LETTERBOX, RESIZE, FrameGeometry
from spgrasp_ros.grasps.rectangles import angle_difference

SIZES = [(640, 480), (1280, 720), (480, 640), (333, 101)]


@pytest.mark.parametrize("mode", [RESIZE, LETTERBOX])
@pytest.mark.parametrize("size", SIZES)
def test_points_and_grasps_round_trip(mode, size):
    geometry = FrameGeometry(size, 512, mode)
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 1, (20, 2)) * size
    np.testing.assert_allclose(geometry.points_to_input(geometry.points_to_model(points)), points, atol=1e-9)
    angle = rng.uniform(-math.pi / 2, math.pi / 2, 20)
    width = rng.uniform(5, 100, 20)
    c, a, w = geometry.grasps_to_input(*geometry.grasps_to_model(points, angle, width))
    np.testing.assert_allclose(c, points, atol=1e-9)
    np.testing.assert_allclose(angle_difference(a, angle), 0, atol=1e-9)
    np.testing.assert_allclose(w, width, atol=1e-9)


@pytest.mark.parametrize("mode", [RESIZE, LETTERBOX])
def test_grasp_mapping_equals_mapping_the_jaw_endpoints(mode):
    geometry = FrameGeometry((1280, 720), 512, mode)
    center, angle, width = np.array([[300.0, 200.0]]), np.array([0.6]), np.array([80.0])
    tip = np.array([np.cos(0.6), np.sin(0.6)]) * 40
    jaws = geometry.points_to_model(np.stack([center[0] - tip, center[0] + tip]))
    c, a, w = geometry.grasps_to_model(center, angle, width)
    np.testing.assert_allclose(c[0], jaws.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(w[0], np.linalg.norm(jaws[1] - jaws[0]), atol=1e-9)
    delta = jaws[1] - jaws[0]
    assert angle_difference(a[0], math.atan2(delta[1], delta[0])) == pytest.approx(0, abs=1e-9)
    if mode == RESIZE:  # 1280x720 -> 512x512 stretches y more than x: the angle steepens
        assert a[0] > 0.6


@pytest.mark.parametrize("mode", [RESIZE, LETTERBOX])
@pytest.mark.parametrize("size", [(640, 480), (200, 300), (1280, 720)])
def test_mapping_matches_the_preprocessed_pixels(mode, size):
    """A ramp image x -> x after preprocess: each model pixel holds the input x the mapping gives."""
    width, height = size
    ramp = np.tile(np.arange(width, dtype=np.float32), (height, 1))
    geometry = FrameGeometry(size, 256, mode)
    model = geometry.preprocess(ramp)
    assert model.shape == (256, 256)
    x0, y0, x1, y1 = geometry.content_box
    columns = np.arange(x0 + 2, x1 - 2)  # away from the border clamp
    centers = np.stack([columns + 0.5, np.full(len(columns), (y0 + y1) / 2)], axis=1)
    expected = geometry.points_to_input(centers)[:, 0] - 0.5  # input pixel-index coordinate
    np.testing.assert_allclose(model[(y0 + y1) // 2, columns], expected, atol=1e-3)
    if mode == LETTERBOX:
        assert model[:y0].sum() == 0 and model[y1:].sum() == 0  # padding


def test_letterbox_keeps_aspect_and_centres_the_content():
    geometry = FrameGeometry((1280, 720), 512, LETTERBOX)
    assert geometry.resized_size == (512, 288)
    assert geometry.content_box == (0, 112, 512, 400)
    assert FrameGeometry((640, 480), 512, RESIZE).content_box == (0, 0, 512, 512)


def test_bad_geometry_and_wrong_image_size_raise():
    with pytest.raises(ValueError, match="positive"):
        FrameGeometry((0, 480), 512)
    with pytest.raises(ValueError, match="unknown mode"):
        FrameGeometry((640, 480), 512, "crop")
    with pytest.raises(ValueError, match="image is 640x480, this geometry is for 320x240"):
        FrameGeometry((320, 240), 512).preprocess(np.zeros((480, 640, 3), np.uint8))


def test_content_mask_marks_the_image_inside_the_letterbox():
    geometry = FrameGeometry((1280, 720), 512, LETTERBOX)  # content rows 112..400 of 512
    mask = geometry.content_mask(128, 128)  # a quarter-resolution map: rows 28..100
    assert mask.shape == (128, 128) and mask[:, 0].sum() == 72
    assert not mask[27].any() and mask[28].all() and mask[99].all() and not mask[100].any()
    assert FrameGeometry((640, 480), 512, RESIZE).content_mask(128, 128).all()
