"""Grasps from a mask's geometry: across the object's local width, centred, sized, bounded by the gripper."""

import math

import cv2
import numpy as np
import pytest

from spgrasp_ros.grasps.mask_geometry import GeometryConfig, clean_mask, mask_grasps
from spgrasp_ros.grasps.rectangles import angle_difference

EXACT = GeometryConfig(grow_px=0)  # exact masks: no growth, so widths are the shapes' own


def _bar(angle_deg: float, length: int = 80, thickness: int = 20, size=(200, 160)) -> np.ndarray:
    mask = np.zeros(size[::-1], np.uint8)
    box = cv2.boxPoints(((size[0] / 2, size[1] / 2), (length, thickness), angle_deg))
    cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1)
    return mask.astype(bool)


@pytest.mark.parametrize("angle_deg", [0.0, 30.0, 75.0, 90.0, -50.0])
def test_a_bar_is_grasped_across_its_width_at_its_middle(angle_deg):
    grasps = mask_grasps(4, _bar(angle_deg), EXACT)
    assert grasps and all(g.object_id == 4 for g in grasps)
    best = grasps[0]
    across = math.radians(angle_deg + 90.0)  # the bar's long axis is at angle_deg
    assert angle_difference(best.angle, across) < math.radians(6)
    assert best.center == pytest.approx((100.0, 80.0), abs=2.0)
    assert best.width == pytest.approx(20 * 1.2, abs=3.0)  # the thickness plus the 20 % margin
    grown = mask_grasps(4, _bar(angle_deg))[0]  # the default grows the mask by 3 px: 6 px wider, x 1.2
    assert grown.width == pytest.approx(best.width + 2 * 3 * 1.2, abs=1.5)
    assert best.jaw_size == pytest.approx(0.5 * best.width)
    scores = [g.score for g in grasps]
    assert scores == sorted(scores, reverse=True) and 0.0 < scores[-1] <= scores[0] <= 1.0
    assert len(grasps) == GeometryConfig().top_k


def test_a_ring_is_grasped_on_its_rim_not_at_its_empty_centre():
    mask = np.zeros((160, 160), np.uint8)
    cv2.circle(mask, (80, 80), 50, 1, thickness=12)
    grasps = mask_grasps(1, mask.astype(bool), EXACT)
    assert grasps
    for grasp in grasps:
        x, y = grasp.center
        assert 38 <= math.hypot(x - 80, y - 80) <= 62  # on the rim
        assert grasp.width < 30  # across the rim, not across the hole


def test_the_gripper_limits_the_opening():
    disc = np.zeros((200, 200), np.uint8)
    cv2.circle(disc, (100, 100), 40, 1, -1)
    disc = disc.astype(bool)
    assert mask_grasps(1, disc, EXACT)  # about 96 px open: no limit by default without depth
    assert mask_grasps(1, disc, GeometryConfig(max_opening_px=50.0, grow_px=0)) == ()
    depth = np.full(disc.shape, 0.5, np.float32)  # 96 px at 0.5 m with fx 500: 0.096 m
    assert mask_grasps(1, disc, GeometryConfig(max_opening_m=0.08, grow_px=0), depth, fx=500.0) == ()
    assert mask_grasps(1, disc, GeometryConfig(max_opening_m=0.12, grow_px=0), depth, fx=500.0)


def test_flat_contacts_score_higher_than_a_sloping_rim():
    bar = _bar(0.0)  # grasped across y
    flat = np.full(bar.shape, 0.6, np.float32)
    steep = flat + np.linspace(0, 0.2, bar.shape[0], dtype=np.float32)[:, None]  # 0.2 m over 160 rows
    on_flat = mask_grasps(1, bar, EXACT, depth_m=flat, fx=500.0)[0]
    on_steep = mask_grasps(1, bar, EXACT, depth_m=steep, fx=500.0)[0]
    assert on_flat.score > on_steep.score
    no_depth = mask_grasps(1, bar, EXACT, depth_m=np.full(bar.shape, np.nan, np.float32), fx=500.0)[0]
    assert no_depth.score == pytest.approx(mask_grasps(1, bar, EXACT)[0].score)  # no depth: no planarity term


def test_tiny_or_empty_masks_get_no_grasp():
    assert mask_grasps(1, np.zeros((50, 50), bool)) == ()
    speck = np.zeros((50, 50), bool)
    speck[10:12, 10:12] = True
    assert mask_grasps(1, speck) == ()


def test_a_noisy_segmentation_is_cleaned_before_its_chords_are_measured():
    bar = _bar(0.0)
    noisy = bar.copy()
    noisy[78:82, 95:105] = False  # a pinhole inside the bar
    noisy[70:74, 90:100] = False  # a notch in its top edge
    noisy[5:8, 5:8] = True  # a speck far away
    cleaned = clean_mask(noisy, 0.05, 0.5)
    assert not cleaned[5:8, 5:8].any()  # the speck is gone
    assert cleaned[78:82, 95:105].all() and cleaned[71:74, 90:100].all()  # hole filled, notch closed (hull)
    assert mask_grasps(1, noisy, EXACT)[0].width == pytest.approx(mask_grasps(1, bar, EXACT)[0].width, abs=1.5)
    ring = np.zeros((160, 160), np.uint8)
    cv2.circle(ring, (80, 80), 50, 1, thickness=12)
    assert not clean_mask(ring.astype(bool), 0.05, 0.5)[80, 80]  # a ring's hole is no noise: it stays


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="positions >= 1"):
        GeometryConfig(positions=0)
    with pytest.raises(ValueError, match="axis_span"):
        GeometryConfig(axis_span=1.5)


def test_ground_truth_masks_of_synthetic_scenes_give_correct_grasps():
    from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
    from spgrasp_ros.evaluation.metrics import RectangleMetric
    from spgrasp_ros.grasps.rectangles import grasp_corners

    metric, correct, scored = RectangleMetric(), 0, 0
    for seed in range(300_000, 300_008):  # held out
        for frame in generate_clip(SynthConfig(frames=3), seed).to_sequence().frames:
            masks = frame.load_masks()
            for label in frame.objects:
                if not label.visible or not len(label.grasps):
                    continue
                scored += 1
                grasps = mask_grasps(label.object_id, masks == label.object_id)
                if not grasps:
                    continue
                best = grasps[0]
                corners = grasp_corners(np.array([best.center]), np.array([best.angle]), np.array([best.width]),
                                        np.array([best.jaw_size]))
                truth = label.grasps
                correct += bool(metric.is_correct(corners, np.array([best.angle]),
                                                  grasp_corners(truth.centers, truth.angles, truth.widths,
                                                                truth.jaws), truth.angles)[0])
    assert scored >= 20 and correct / scored >= 0.85
