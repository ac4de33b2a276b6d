"""The overlay drawn on the debug image and the demo video."""

import numpy as np

from spgrasp_ros.results import FrameResult, Grasp, ObjectState
from spgrasp_ros.visualize import draw_result, object_colour


def _result() -> FrameResult:
    objects = (ObjectState(1, True, 0.9, 100, (10, 10, 30, 30), 3, 0),
               ObjectState(2, False, 0.1, 0, (0, 0, 0, 0), 3, 2))
    grasps = (Grasp(1, 0.8, (20.0, 20.0), 0.3, 12.0, 6.0),)
    return FrameResult((64, 48), 3, objects, grasps)


def test_masks_grasps_and_labels_are_drawn_without_touching_the_input():
    rgb = np.zeros((48, 64, 3), np.uint8)
    masks = np.zeros((2, 48, 64), bool)
    masks[0, 10:30, 10:30] = True
    out = draw_result(rgb, _result(), masks)
    assert not rgb.any(), "the input image is not modified"
    tinted = out[12, 28]  # inside the mask, away from the grasp
    assert tinted.any() and np.argmax(tinted) == np.argmax(object_colour(1))
    assert out[40:, 50:].sum() == 0, "far from everything nothing is drawn"
    assert out[20, 20].any(), "the grasp centre is marked"


def test_colours_are_stable_and_distinct():
    assert object_colour(3) == object_colour(3)
    assert len({object_colour(i) for i in range(1, 9)}) == 8


def test_upscaled_drawing_matches_the_enlarged_frame():
    rgb = np.zeros((48, 64, 3), np.uint8)
    masks = np.zeros((2, 48, 64), bool)
    masks[0, 10:30, 10:30] = True
    out = draw_result(rgb, _result(), masks, upscale=4)
    assert out.shape == (192, 256, 3)
    assert out[4 * 12, 4 * 28].any() and out[4 * 20, 4 * 20].any()
    assert out[160:, 200:].sum() == 0
