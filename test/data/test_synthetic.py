"""Synthetic scenes: deterministic, ground truth consistent with what is drawn, occlusions as configured."""

import math

import numpy as np
import pytest

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip


def test_same_seed_same_clip_other_seed_other_clip():
    config = SynthConfig(frames=6)
    a, b, c = generate_clip(config, 3), generate_clip(config, 3), generate_clip(config, 4)
    assert all(np.array_equal(x, y) for x, y in zip(a.images, b.images))
    assert all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks))
    assert not np.array_equal(a.images[0], c.images[0])
    assert a.images[0].shape == (120, 160, 3) and a.images[0].dtype == np.uint8


@pytest.mark.parametrize("seed", range(12))
def test_grasps_sit_on_the_drawn_object_and_close_across_it(seed):
    clip = generate_clip(SynthConfig(frames=1, occlusion_probability=0.0), seed)
    label, height, width = clip.masks[0], *clip.masks[0].shape
    for obj in clip.objects[0]:
        if not obj.visible:
            continue
        own = label == obj.object_id
        for (x, y), angle, opening in zip(obj.grasps.centers, obj.grasps.angles, obj.grasps.widths):
            direction = np.array([math.cos(angle), math.sin(angle)])
            inside = [np.array([x, y]) + s * opening / 2 * direction for s in (-0.5, 0.0, 0.5)]
            outside = [np.array([x, y]) + s * opening / 2 * direction for s in (-1.1, 1.1)]
            for px, py in inside:  # the middle of the closing segment is on the object
                assert own[int(py), int(px)] or not (0 <= px < width and 0 <= py < height) or \
                    label[int(py), int(px)] not in (0, obj.object_id), "grasp centre region off the object"
            for px, py in outside:  # just beyond the open jaws: no longer this object
                if 0 <= px < width and 0 <= py < height:
                    assert not own[int(py), int(px)], "the opening does not span the object"


def test_occlusions_hide_an_object_for_1_to_8_frames():
    durations = []
    for seed in range(20):
        clip = generate_clip(SynthConfig(frames=20, occlusion_probability=1.0), seed)
        hidden = [t for t, objects in enumerate(clip.objects) if not all(o.visible for o in objects)]
        assert hidden, f"seed {seed}: no occluded frame"
        durations.append(len(hidden))
        for t in hidden:
            for obj in clip.objects[t]:
                if not obj.visible:
                    before = (clip.masks[0] == obj.object_id).sum()
                    assert (clip.masks[t] == obj.object_id).sum() < 0.5 * max(before, 1) + 1
    assert min(durations) >= 1 and max(durations) <= 8 + 2  # objects may also hide each other briefly
    assert len(set(durations)) > 2, "durations vary"
