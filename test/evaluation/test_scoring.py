"""The tracking figures of spgrasp eval (evaluation/scoring.py, tally.py) on real synthetic clips, scored
against results built from the clip's own ground truth: a perfect track, one that jumps to another object, one
whose best grasp alternates between two places, one that never finds its object again, one with a NaN grasp."""

import dataclasses

import numpy as np

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.evaluation.metrics import RectangleMetric
from spgrasp_ros.evaluation.scoring import SequenceScorer
from spgrasp_ros.evaluation.tally import Tally
from spgrasp_ros.grasps.rectangles import grasp_corners
from spgrasp_ros.results import FrameResult, Grasp, ObjectState

CONFIG = SynthConfig(frames=20, min_objects=2, max_objects=2, occlusion_probability=1.0, occlusion_frames=(3, 5),
                     max_speed=1.0)


def _clip():
    for seed in range(50):
        clip = generate_clip(CONFIG, seed)
        hidden = [o.object_id for objects in clip.objects[1:-6] for o in objects if not o.visible]
        if hidden and all(o.visible for o in clip.objects[0]):
            return clip, hidden[0]
    raise AssertionError("no clip with an occlusion")


def _grasp(object_id, label, index=0):
    g = label.grasps
    return Grasp(object_id, 0.9, tuple(g.centers[index]), float(g.angles[index]), float(g.widths[index]),
                 float(g.jaws[index]))


def _score(clip, choose):
    """Score the clip with, per frame and object, the grasp ``choose(t, label, labels)`` returns (None: lost)."""
    tally = Tally()
    scorer = SequenceScorer(tally, {o.object_id: o.object_id for o in clip.objects[0]})
    for t, (mask, labels) in enumerate(zip(clip.masks, clip.objects)):
        states, grasps = [], []
        for label in labels:
            grasp = choose(t, label, labels)
            states.append(ObjectState(label.object_id, grasp is not None, 0.9 if grasp else 0.1, 0, (0, 0, 0, 0), t,
                                      0))
            grasps += [grasp] if grasp is not None else []
        result = FrameResult(clip.images[0].shape[1::-1], t, tuple(states), tuple(grasps))
        predicted = np.stack([mask == label.object_id for label in labels])
        scorer.score(t, clip.to_sequence().frames[t], mask, result, predicted)
    scorer.finish()
    return tally.summary()


def test_a_perfect_track_scores_perfectly():
    clip, _ = _clip()
    summary = _score(clip, lambda t, label, _: _grasp(label.object_id, label) if label.visible else None)
    assert summary["grasp_accuracy"] == 1.0 and summary["false_presence_rate"] == 0.0
    assert summary["reacquisition"]["events"] >= 1 and summary["reacquisition"]["within_3"] == 1.0
    assert summary["reacquisition"]["median_delay"] == 1.0  # correct on the first frame back
    assert summary["identity"]["switches_per_1000"] == 0.0 and summary["identity"]["object_frames"] == 40
    assert summary["best_grasp"]["pairs"] > 20 and summary["best_grasp"]["switches_per_100"] == 0.0
    assert summary["best_grasp"]["jitter_px"]["mean"] < 1e-3 and summary["best_grasp"]["jitter_deg"]["mean"] < 1e-3


def test_a_grasp_on_the_other_object_is_an_identity_switch():
    clip, _ = _clip()

    def choose(t, label, labels):
        other = next(o for o in labels if o.object_id != label.object_id)
        if label.object_id == 1 and 5 <= t < 9 and other.visible:  # object 1's track strays onto object 2
            return _grasp(1, other)
        return _grasp(label.object_id, label) if label.visible else None

    summary = _score(clip, choose)
    assert summary["identity"]["switches_per_1000"] == 1000 / 40  # one switch onto the other object
    assert summary["identity"]["on_other_rate"] > 0 and summary["grasp_accuracy"] < 1.0


def test_alternating_best_grasps_are_switches_not_jitter():
    clip, _ = _clip()
    far = {}
    for label in clip.objects[0]:
        distances = np.linalg.norm(label.grasps.centers - label.grasps.centers[0], axis=1)
        far[label.object_id] = int(np.argmax(distances))
        assert distances.max() > 5 or label.grasps.angles.ptp() > np.deg2rad(20)

    def choose(t, label, _):
        if not label.visible:
            return None
        index = far[label.object_id] if t % 2 else 0
        grasp = _grasp(label.object_id, label, index)
        return grasp if np.linalg.norm(np.subtract(grasp.center, label.grasps.centers[0])) > 5 else \
            _grasp(label.object_id, label, 0)  # a disc: all its grasps share the centre; keep it steady

    summary = _score(clip, choose)
    assert summary["best_grasp"]["switches_per_100"] > 30


def test_a_track_that_never_comes_back_is_never_reacquired():
    clip, hidden = _clip()
    gone = {}

    def choose(t, label, _):
        if label.object_id == hidden and (not label.visible or gone.get(hidden)):
            gone[hidden] = True
            return None
        return _grasp(label.object_id, label) if label.visible else None

    summary = _score(clip, choose)
    assert summary["reacquisition"]["never"] > 0 and summary["lost_rate"] > 0


def test_a_nan_predicted_grasp_counts_as_wrong():
    clip, _ = _clip()
    label = clip.objects[0][0]
    truth = grasp_corners(label.grasps.centers, label.grasps.angles, label.grasps.widths, label.grasps.jaws)
    good = _grasp(label.object_id, label)
    nan_angle = dataclasses.replace(good, angle=float("nan"))
    corners = grasp_corners(np.array([good.center, good.center]), np.array([good.angle, np.nan]),
                            np.array([good.width] * 2), np.array([good.jaw_size] * 2))
    correct = RectangleMetric().is_correct(corners, [good.angle, np.nan], truth, label.grasps.angles)
    assert correct.tolist() == [True, False]  # the NaN row is wrong, the other is still judged

    summary = _score(clip, lambda t, lab, _: nan_angle if t == 0 and lab.object_id == label.object_id else
                     _grasp(lab.object_id, lab) if lab.visible else None)
    visible = sum(o.visible and len(o.grasps) > 0 for objects in clip.objects for o in objects)
    assert summary["scored"] == visible and summary["grasp_accuracy"] == (visible - 1) / visible
