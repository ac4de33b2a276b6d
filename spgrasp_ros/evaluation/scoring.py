"""Scoring one tracked sequence frame by frame against its ground truth (the figures are defined in ``tally``).

A ``SequenceScorer`` holds what the figures need from earlier frames of the same sequence: when each object was
last hidden, its open reappearance, whether its track was on another object, its previous best grasp. The
caller keeps ``mapping`` (ground-truth object id -> tracker object id) up to date as it prompts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spgrasp_ros.data.types import Frame, ObjectLabel
from spgrasp_ros.evaluation.metrics import RectangleMetric
from spgrasp_ros.evaluation.tally import NEVER_OCCLUDED, Tally
from spgrasp_ros.grasps.rectangles import grasp_corners
from spgrasp_ros.results import FrameResult, Grasp, wrap_grasp_angle


def _finite(grasp: Grasp) -> bool:
    """Are the grasp's centre, angle, width and jaw size all finite?"""
    return bool(np.all(np.isfinite([*grasp.center, grasp.angle, grasp.width, grasp.jaw_size])))


@dataclass(frozen=True)
class ScoringConfig:
    """Thresholds of the tracking figures (``tally`` module notes)."""

    slow_speed_px: float = 1.5  # [px/frame] objects at most this fast count for best-grasp jitter
    switch_px: float = 5.0  # [px] a best grasp moving this much beyond its object's motion has switched
    switch_deg: float = 20.0  # [deg] ... or turning this much beyond the object's spin


@dataclass
class _Previous:
    """An object's ground-truth pose and best grasp in the previous frame."""

    centre: np.ndarray  # mean of its ground-truth grasp centres [px]
    angle: float  # its first ground-truth grasp angle [rad] (rotates with the object)
    best: Grasp | None


@dataclass
class SequenceScorer:
    """Adds the frames of one sequence to ``tally``. ``mapping``: ground-truth id -> tracker id of the prompted
    objects (the caller adds to it when it prompts)."""

    tally: Tally
    mapping: dict[int, int] = field(default_factory=dict)
    metric: RectangleMetric = field(default_factory=RectangleMetric)
    config: ScoringConfig = field(default_factory=ScoringConfig)
    _last_hidden: dict[int, int] = field(default_factory=dict)
    _reappeared: dict[int, int] = field(default_factory=dict)  # open reappearances: id -> last hidden frame
    _on_other: dict[int, bool] = field(default_factory=dict)
    _previous: dict[int, _Previous] = field(default_factory=dict)

    def score(self, t: int, frame: Frame, masks: np.ndarray | None, result: FrameResult,
              predicted_masks: np.ndarray | None) -> None:
        """Add frame ``t``: ``masks`` its [H, W] ground-truth label image (or None), ``predicted_masks``
        [N, H, W] in the order of ``result.objects`` (or None)."""
        states = {s.id: (s, predicted_masks[k] if predicted_masks is not None else None)
                  for k, s in enumerate(result.objects)}
        for label in frame.objects:
            if label.object_id not in self.mapping or self.mapping[label.object_id] not in states:
                continue
            state, predicted_mask = states[self.mapping[label.object_id]]
            best = result.best_grasp(state.id)
            if best is not None and not _finite(best):
                best = None  # a NaN grasp is no grasp: wrong, and it cannot be on an object or move
            self._identity(label.object_id, masks, best, predicted_mask)
            if not label.visible:
                self._hidden(label.object_id, t, state.visible)
                continue
            if not len(label.grasps):
                continue
            correct = self._grasp_correct(best, label)
            self._visible(label, t, state.visible, correct)
            self._jitter(label, best)
            if masks is not None and predicted_mask is not None:
                truth_mask = masks == label.object_id
                union = np.logical_or(truth_mask, predicted_mask).sum()
                self.tally.mask_ious.append(float(np.logical_and(truth_mask, predicted_mask).sum() / union)
                                            if union else 1.0)

    def finish(self) -> None:
        """End of the sequence: reappearances never reacquired count as such."""
        self.tally.reacquisition_delays.extend([None] * len(self._reappeared))
        self._reappeared.clear()

    # --- the pieces ---------------------------------------------------------------------------------------------
    def _grasp_correct(self, best: Grasp | None, label: ObjectLabel) -> bool:
        if best is None:
            return False
        predicted = grasp_corners(np.array([best.center]), best.angle, best.width, best.jaw_size)
        grasps = label.grasps
        truth = grasp_corners(grasps.centers, grasps.angles, grasps.widths, grasps.jaws)
        return bool(self.metric.is_correct(predicted, [best.angle], truth, grasps.angles)[0])

    def _hidden(self, object_id: int, t: int, reported_visible: bool) -> None:
        self.tally.hidden += 1
        self.tally.false_presence += int(reported_visible)
        self._last_hidden[object_id] = t
        if object_id in self._reappeared:  # hidden again before it was reacquired
            self.tally.reacquisition_delays.append(None)
            del self._reappeared[object_id]
        self._previous.pop(object_id, None)

    def _visible(self, label: ObjectLabel, t: int, reported_visible: bool, correct: bool) -> None:
        tally, object_id = self.tally, label.object_id
        tally.scored += 1
        tally.lost += int(not reported_visible)
        tally.correct += int(correct)
        last = self._last_hidden.get(object_id)
        cell = tally.since_occlusion[t - last if last is not None else NEVER_OCCLUDED]
        cell[0] += 1
        cell[1] += int(correct)
        if last == t - 1:
            self._reappeared[object_id] = last
        if object_id in self._reappeared and correct:
            tally.reacquisition_delays.append(t - self._reappeared.pop(object_id))

    def _identity(self, object_id: int, masks: np.ndarray | None, best: Grasp | None,
                  predicted_mask: np.ndarray | None) -> None:
        """Is the track on another ground-truth object this frame? Count the frame and a switch onto one."""
        if masks is None:
            return
        other = False
        if best is not None:
            height, width = masks.shape
            x, y = int(math.floor(best.center[0])), int(math.floor(best.center[1]))
            under = int(masks[y, x]) if 0 <= x < width and 0 <= y < height else 0
            other = under not in (0, object_id)
        elif predicted_mask is not None and predicted_mask.any():
            labels, counts = np.unique(masks[predicted_mask], return_counts=True)
            own = counts[labels == object_id].sum()
            others = counts[(labels != object_id) & (labels != 0)]
            other = bool(len(others)) and others.max() > own
        self.tally.identity_frames += 1
        self.tally.on_other_frames += int(other)
        self.tally.identity_switches += int(other and not self._on_other.get(object_id, False))
        self._on_other[object_id] = other

    def _jitter(self, label: ObjectLabel, best: Grasp | None) -> None:
        """The best grasp's motion beyond its object's, against the previous frame (slow objects only)."""
        centre, angle = label.grasps.centers.mean(axis=0), float(label.grasps.angles[0])
        previous = self._previous.get(label.object_id)
        self._previous[label.object_id] = _Previous(centre, angle, best)
        if previous is None or previous.best is None or best is None or self._on_other.get(label.object_id):
            return
        if np.linalg.norm(centre - previous.centre) > self.config.slow_speed_px:
            return
        spin = float(wrap_grasp_angle(angle - previous.angle))
        c, s = math.cos(spin), math.sin(spin)
        expected = np.array([[c, -s], [s, c]]) @ (np.asarray(previous.best.center) - previous.centre) + centre
        residual_px = float(np.linalg.norm(np.asarray(best.center) - expected))
        residual_deg = abs(math.degrees(float(wrap_grasp_angle(best.angle - previous.best.angle - spin))))
        self.tally.best_grasp_pairs += 1
        if residual_px > self.config.switch_px or residual_deg > self.config.switch_deg:
            self.tally.best_grasp_switches += 1
        else:
            self.tally.jitter_px.append(residual_px)
            self.tally.jitter_deg.append(residual_deg)
