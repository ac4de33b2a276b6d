"""The box filter (tracker/motion.py) and the per-object state beside the memory (tracker/object_tracks.py), and
the tracker's use of them on real synthetic scenes with the bundled model."""

import numpy as np
import pytest
import torch

from spgrasp_ros.data.synth_suites import suite_sequences
from spgrasp_ros.data.types import object_box
from spgrasp_ros.model.checkpoints import load_checkpoint
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.motion import BoxFilter
from spgrasp_ros.tracker.object_tracks import ObjectTracks, calibrated_presence, commit_tracks, predicted_boxes
from spgrasp_ros.tracker.search_window import box_iou
from spgrasp_ros.weights import resolve_checkpoint


def test_the_filter_learns_a_constant_velocity_and_coasts_while_lost():
    motion = BoxFilter()
    box = np.array([[10.0, 20.0, 40.0, 50.0]])
    velocity = np.array([2.0, -1.0, 2.0, -1.0])
    tracks = motion.initiate(box)
    for t in range(1, 15):
        tracks = motion.update(motion.predict(tracks), box + t * velocity, np.array([True]))
    predicted = motion.predict(tracks).boxes()[0]
    assert np.abs(predicted - (box[0] + 15 * velocity)).max() < 0.5, "the next box is predicted"
    lost = np.array([True])
    for _ in range(10):
        tracks = motion.predict(tracks, lost=lost)  # hidden: no measurement
    coasted = tracks.boxes()[0]
    travelled = (coasted - (box[0] + 14 * velocity))[:2]
    assert 0 < travelled[0] < 10 * 2.0 and -10 < travelled[1] < 0, "it keeps going the same way, slowing down"
    assert np.allclose(coasted[2:] - coasted[:2], [30.0, 30.0], atol=0.5), "its size stays"


def test_a_shrinking_measurement_never_collapses_the_box():
    motion = BoxFilter()
    tracks = motion.initiate(np.array([[50.0, 50.0, 80.0, 80.0]]))
    for size in np.linspace(30, 0.5, 30):
        tracks = motion.update(motion.predict(tracks), np.array([[50, 50, 50 + size, 50 + size]]), np.array([True]))
    for _ in range(20):
        tracks = motion.predict(tracks, lost=np.array([True]))
    sides = tracks.boxes()[0, 2:] - tracks.boxes()[0, :2]
    assert (sides >= 1.0).all()


def test_box_iou():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    assert box_iou(a, a)[0] == 1.0 and box_iou(a, a + 20)[0] == 0.0
    assert float(box_iou(a, torch.tensor([[5.0, 0.0, 15.0, 10.0]]))[0]) == pytest.approx(1 / 3)


def test_presence_calibration_and_the_usual_area():
    presence, area = np.array([0.9, 0.9, 0.2, 0.9]), np.array([100.0, 10.0, 100.0, 0.0])
    reference = np.array([100.0, 100.0, 100.0, np.nan])
    found, visible = calibrated_presence(presence, area, reference, 0.5, 0.0)
    assert found.tolist() == visible.tolist() == [True, True, False, False]
    found, visible = calibrated_presence(presence, area, reference, 0.5, 0.5)
    assert found.tolist() == [True, True, False, False] and visible.tolist() == [True, False, False, False]
    tracks = ObjectTracks.new(2)
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 9.0, 9.0]])
    tracks = commit_tracks(tracks, None, BoxFilter(), np.array([True, False]), np.array([True, True]),
                           np.array([100.0, 16.0]), boxes)
    assert tracks.reference_area.tolist() == [100.0, 16.0] and tracks.found_once.all()
    assert tracks.frames_lost.tolist() == [0, 1] and tracks.frames_missing.tolist() == [0, 0]
    predicted, _ = predicted_boxes(tracks, BoxFilter())
    tracks = commit_tracks(tracks, predicted, BoxFilter(), np.array([True, False]), np.array([True, False]),
                           np.array([110.0, 0.0]), boxes)
    assert tracks.reference_area[0] == pytest.approx(101.0), "the usual area follows whole views slowly"
    assert tracks.frames_lost.tolist() == [0, 2] and tracks.frames_missing.tolist() == [0, 1]
    assert tracks.frames_unmeasured.tolist() == [0, 1], "no mask on the second frame: nothing corrected the filter"


@pytest.mark.timeout(300)
def test_while_hidden_the_prediction_follows_the_object():
    """Occlusion suite: during long occlusions the filter's box is nearer the hidden object than where it was
    last seen (the window searches where the object went, not where it vanished)."""
    torch.set_num_threads(1)
    model, config, _ = load_checkpoint(resolve_checkpoint("demo"))
    tracker = build_tracker(model, config, TrackerConfig(motion=True))
    nearer = farther = 0
    for sequence in suite_sequences("occlusion", 4):
        tracker.reset()
        first = sequence.frames[0]
        masks = first.load_masks()
        ids = [o.object_id for o in first.objects if o.visible]
        out = tracker.step(first.load_image(), Prompt.create(boxes=[object_box(first, i, masks, (160, 120)).tolist()
                                                                     for i in ids]))
        track_of = dict(zip(ids, out.created_ids))
        last_seen = {}
        for frame in sequence.frames[1:]:
            masks = frame.load_masks()
            out = tracker.step(frame.load_image())
            states = {s.id: s for s in out.result.objects}
            cohort = tracker._cohorts[0]
            for label in frame.objects:
                track = track_of.get(label.object_id)
                if track is None:
                    continue
                if label.visible and states[track].visible:
                    last_seen[track] = np.array(states[track].bbox)
                    continue
                truth = object_box(frame, label.object_id, None, (160, 120))  # around its grasps
                if truth is None or track not in last_seen or cohort.tracks.frames_missing[cohort.ids.index(track)] < 5:
                    continue
                predicted = cohort.tracks.motion.boxes()[cohort.ids.index(track)]
                centre = (truth[:2] + truth[2:]) / 2
                if np.linalg.norm((predicted[:2] + predicted[2:]) / 2 - centre) < \
                        np.linalg.norm((last_seen[track][:2] + last_seen[track][2:]) / 2 - centre):
                    nearer += 1
                else:
                    farther += 1
    assert nearer + farther > 20 and nearer > 2 * farther, (nearer, farther)
