"""Re-detection of text-prompted objects lost for long: the stored phrase is looked up again and matched back.

An object prompted by words ("red mug") keeps the phrase the detector matched it with. When it has been lost
for ``after_frames`` frames (longer than the memory holds it, for the default), the session runs the text
detector with that phrase on the newest frame, at most once every ``every_frames`` frames per object, and
matches the detections back to the lost objects:
- a detection whose box overlaps a *visible* tracked object's box by IoU > ``max_overlap`` is that object,
  not a lost one (a look-alike already tracked is never taken for the lost one);
- the remaining detections are assigned to the lost objects of that phrase by one optimal assignment
  (scipy's ``linear_sum_assignment``) on the distance from the object's last seen box centre, in units of its
  last seen size, minus the detector's score; a detection farther than ``max_distance`` sizes is not taken.
A match becomes a re-seeding prompt (``ObjectPrompt.object_id``): the object keeps its id, its memory
restarts from this frame with the detected box (``GraspTracker``), and it is reported ``reacquired``.

ROS-free and detector-agnostic: ``detect(rgb, phrase, max_objects)`` returns (box xyxy px, phrase, score)
tuples (``text.grounding_dino.TextDetector.detect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from spgrasp_ros.prompts import ObjectPrompt, Prompt
from spgrasp_ros.results import FrameResult
from spgrasp_ros.tracker.search_window import box_iou

Detect = Callable[[np.ndarray, str, int], Sequence[tuple[Sequence[float], str, float]]]


@dataclass(frozen=True)
class TextReacquireConfig:
    """When and how a lost text-prompted object is looked for again (tracker node parameters
    ``text_reacquire_after``, ``text_reacquire_every``)."""

    after_frames: int = 15  # lost this many consecutive frames -> re-detect (0: never)
    every_frames: int = 15  # at most one detection per object per this many frames
    max_overlap: float = 0.5  # IoU above which a detection belongs to a visible tracked object
    max_distance: float = 6.0  # [last seen sizes] farthest a detection may be from where the object was

    def __post_init__(self) -> None:
        if self.after_frames < 0 or self.every_frames < 1:
            raise ValueError(f"after_frames must be >= 0 and every_frames >= 1, got {self.after_frames}, "
                             f"{self.every_frames}")


class TextReacquisition:
    """The phrases of text-prompted objects, where each was last seen, and when each was last looked for."""

    def __init__(self, config: TextReacquireConfig | None = None) -> None:
        self.config = config or TextReacquireConfig()
        self._phrases: dict[int, str] = {}
        self._last_box: dict[int, np.ndarray] = {}  # [4] xyxy px of the last visible frame
        self._last_try: dict[int, int] = {}  # frame index of the last detection for the object
        self.reacquired = 0  # objects re-seeded from a detection so far

    @property
    def phrases(self) -> dict[int, str]:
        """Object id -> the phrase it was found with (text-prompted objects only)."""
        return dict(self._phrases)

    def remember(self, created: Iterable[tuple[int, ObjectPrompt]], fallback: str = "") -> None:
        """Note the phrases of newly created objects: (id, the prompt that made it); text ones only."""
        for object_id, made in created:
            if made.source == "text" and made.object_id is None:
                phrase = (made.label or fallback).strip()
                if phrase:
                    self._phrases[object_id] = phrase

    def retain(self, tracked_ids: Iterable[int]) -> None:
        """Forget objects no longer tracked."""
        keep = set(tracked_ids)
        for table in (self._phrases, self._last_box, self._last_try):
            for object_id in [i for i in table if i not in keep]:
                del table[object_id]

    def observe(self, result: FrameResult) -> None:
        """Follow a processed frame: where each remembered object was last seen."""
        for state in result.objects:
            if state.id in self._phrases and state.visible:
                self._last_box[state.id] = np.asarray(state.bbox, dtype=np.float64)

    def due(self, result: FrameResult) -> dict[str, list[int]]:
        """Phrase -> ids of the objects to look for on the next frame (lost long enough, not tried lately)."""
        config, wanted = self.config, {}
        if config.after_frames <= 0:
            return wanted
        for state in result.objects:
            phrase = self._phrases.get(state.id)
            if phrase is None or state.visible or state.frames_lost < config.after_frames:
                continue
            if result.frame_index + 1 - self._last_try.get(state.id, -config.every_frames) < config.every_frames:
                continue
            wanted.setdefault(phrase, []).append(state.id)
        return wanted

    def reseed_prompt(self, rgb: np.ndarray, last: FrameResult, detect: Detect) -> Prompt | None:
        """Look for the due objects of ``last`` (the previous frame's result) in ``rgb`` (the frame about to be
        processed): an appending prompt that re-seeds each found one under its own id, or None."""
        wanted = self.due(last)
        if not wanted:
            return None
        visible = np.array([s.bbox for s in last.objects if s.visible], dtype=np.float64).reshape(-1, 4)
        height, width = rgb.shape[:2]
        reseeds: list[ObjectPrompt] = []
        for phrase, ids in wanted.items():
            for object_id in ids:
                self._last_try[object_id] = last.frame_index + 1
            found = detect(rgb, phrase, len(ids) + len(visible))
            boxes, scores = [], []
            for box, _, score in found:
                box = np.clip(np.asarray(box, dtype=np.float64), 0, [width, height, width, height])
                if box[2] <= box[0] or box[3] <= box[1]:
                    continue
                if len(visible) and float(box_iou(torch.from_numpy(box)[None], torch.from_numpy(visible)).max()) > \
                        self.config.max_overlap:
                    continue
                boxes.append(box)
                scores.append(float(score))
            for object_id, k in self._assign(ids, boxes, scores):
                reseeds.append(ObjectPrompt(boxes[k].astype(np.float32), np.zeros((0, 2), np.float32),
                                            np.zeros((0,), np.int64), "text", label=phrase, score=scores[k],
                                            object_id=object_id))
        if not reseeds:
            return None
        self.reacquired += len(reseeds)
        return Prompt.create(append=True).with_detections(tuple(reseeds))

    def _assign(self, ids: list[int], boxes: list[np.ndarray], scores: list[float]) -> list[tuple[int, int]]:
        """(object id, detection index) pairs: nearest to where each object was last seen, best score first."""
        if not boxes:
            return []
        centres = np.array([(b[:2] + b[2:]) / 2 for b in boxes])
        cost = np.zeros((len(ids), len(boxes)))
        for row, object_id in enumerate(ids):
            last = self._last_box.get(object_id)
            if last is None:  # never seen: any place is as good
                continue
            size = max(float(np.hypot(last[2] - last[0], last[3] - last[1])), 1.0)
            cost[row] = np.linalg.norm(centres - (last[:2] + last[2:]) / 2, axis=1) / size
        allowed = cost <= self.config.max_distance
        cost = cost - np.asarray(scores)[None, :] + np.where(allowed, 0.0, 1e6)
        rows, cols = linear_sum_assignment(cost)
        return [(ids[r], int(c)) for r, c in zip(rows, cols) if allowed[r, c]]
