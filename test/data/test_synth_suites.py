"""Named synthetic suites: the file loads, each suite is what its name says, and every suite's scenes have
ground truth that agrees with their label images."""

import numpy as np
import pytest

from spgrasp_ros.data.synth_suites import load_suite, suite_names, suite_sequences
from spgrasp_ros.data.synthetic import SynthConfig

SUITES = ["standard", "twins", "twins_unprompted", "occlusion", "reentry", "fast", "camera", "clutter",
          "backgrounds"]


def test_the_suites_and_their_held_out_seeds():
    assert suite_names() == SUITES
    suites = [load_suite(name) for name in SUITES]
    assert load_suite("standard").config == SynthConfig()
    starts = sorted(s.seed for s in suites)
    assert starts[0] >= 100000, "above the training seeds (0..4999)"
    assert all(b - a >= 20000 for a, b in zip(starts, starts[1:])), "each suite has a range of its own"
    for suite in suites:
        assert suite.description and suite.sequences >= 10
        assert suite.config.size == (160, 120) and suite.config.object_size == SynthConfig().object_size
        assert suite.config.frames >= 24
    assert load_suite("twins").config.twins >= 1 and not load_suite("twins_unprompted").config.twins_prompted
    assert load_suite("occlusion").config.occlusion_frames == (10, 30) and load_suite("occlusion").config.frames >= 48
    assert load_suite("reentry").config.reentry and load_suite("reentry").config.frames >= 48
    fast = load_suite("fast").config
    assert fast.max_speed == 15 and fast.min_speed_fraction * fast.max_speed == pytest.approx(8)
    assert load_suite("camera").config.moving_camera and load_suite("camera").config.lighting == "moving"
    clutter = load_suite("clutter").config
    assert (clutter.min_objects, clutter.max_objects, clutter.layout) == (5, 6, "cluster")
    assert load_suite("backgrounds").config.background == "any"


def test_unknown_suite_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown synthetic suite 'nope'.*standard.*backgrounds"):
        load_suite("nope")
    with pytest.raises(ValueError):
        suite_sequences("nope")


def test_suite_sequences_count_and_seeds():
    sequences = suite_sequences("standard", sequences=2, seed=7)
    assert [s.name for s in sequences] == ["standard_000007", "standard_000008"]
    assert len(sequences[0].frames) == 24


@pytest.mark.parametrize("name", SUITES)
def test_every_suite_generates_scenes_whose_labels_agree_with_the_label_image(name):
    sequence, = suite_sequences(name, sequences=1)
    suite = load_suite(name)
    assert sequence.name == f"{name}_{suite.seed:06d}" and len(sequence.frames) == suite.config.frames
    ids = sequence.object_ids()
    unprompted = sequence.meta.get("unprompted_ids", [])
    assert set(unprompted) <= set(ids) and bool(unprompted) == (name == "twins_unprompted")
    assert any(o.visible and o.object_id not in unprompted for o in sequence.frames[0].objects), "a prompt target"
    for frame in sequence.frames:
        image, label = frame.load_image(), frame.load_masks()
        assert image.shape == (120, 160, 3) and image.dtype == np.uint8 and label.shape == (120, 160)
        assert set(np.unique(label)) - {0} <= {o.object_id for o in frame.objects}
        for obj in frame.objects:
            assert len(obj.grasps) > 0
            if obj.visible:
                assert (label == obj.object_id).sum() > 0, f"{frame.name}: object {obj.object_id} visible, no pixels"
