"""What the tracker knows about each object beyond its memory: lost counter, usual size, motion (host side).

Per cohort of B objects, kept in numpy on the host (a few numbers per object):
- ``frames_lost``: consecutive frames the object was reported lost (0 while visible; ``ObjectState.frames_lost``);
- ``frames_missing``: consecutive frames the model did not find it at all (no object score or an empty mask):
  what the search window grows with (without motion);
- ``frames_unmeasured``: consecutive frames the box filter had no whole mask to correct it with: with motion,
  what the search window grows with and when the filter coasts (a sliver of mask does not shrink the search
  back around a prediction that may be wrong);
- ``reference_area``: the object's usual mask area [input px], set on its first found frame and followed with
  an exponential average over the frames where it is seen about whole (within ``AREA_FOLLOW_RATIO`` of it);
- ``motion``: its box filter (``motion.BoxFilter``; None while the object has never been found), corrected only
  with boxes of masks of about the usual size (``MOTION_AREA_GATE``).

Presence that means it (``TrackerConfig.min_area_ratio``): SAM 2 says an object is there when its object score
is positive; a small model also says so while the object is hidden, with a small mask on whatever covers it.
An object is visible only when, besides the score, its mask covers at least ``min_area_ratio`` of its reference
area (the ground truth of the synthetic scenes says "visible" at half the object seen, so 0.5 is that rule).
The calibration decides what is reported (and, with ``memory_gate``, what enters memory); the search keeps
following the model's own mask, so a track reported lost while its object shows only a sliver does not lose it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spgrasp_ros.tracker.motion import BoxFilter, BoxTracks

AREA_FOLLOW_RATIO = 0.8  # the reference area follows frames whose mask is within this factor of it (either way)
AREA_FOLLOW_RATE = 0.1  # ... with this weight per frame
MOTION_AREA_GATE = 0.5  # the box filter takes a mask's box only when the mask has at least this x the usual area
#                         (a mask cut down by an occluder or a window would shrink the box, and the window, to nothing)


@dataclass
class ObjectTracks:
    """Host-side state of the B objects of one cohort, in batch order (module notes)."""

    frames_lost: np.ndarray  # [B] int
    frames_missing: np.ndarray  # [B] int
    frames_unmeasured: np.ndarray  # [B] int
    reference_area: np.ndarray  # [B] float [input px], NaN until the object is found
    motion: BoxTracks | None  # rows of objects never found are meaningless (``found_once`` False)
    found_once: np.ndarray  # [B] bool

    @classmethod
    def new(cls, count: int) -> "ObjectTracks":
        """The state of ``count`` objects just prompted."""
        return cls(np.zeros(count, np.int64), np.zeros(count, np.int64), np.zeros(count, np.int64),
                   np.full(count, np.nan), None, np.zeros(count, bool))

    def select(self, index: list[int]) -> "ObjectTracks":
        """The state of the objects at batch positions ``index``."""
        motion = self.motion.select(index) if self.motion is not None else None
        return ObjectTracks(self.frames_lost[index].copy(), self.frames_missing[index].copy(),
                            self.frames_unmeasured[index].copy(), self.reference_area[index].copy(), motion,
                            self.found_once[index].copy())


def about_whole(found: np.ndarray, areas: np.ndarray, reference_area: np.ndarray) -> np.ndarray:
    """[B] bool: ``found`` objects whose mask ``areas`` is at least ``MOTION_AREA_GATE`` of their reference area
    (any area while they have none yet)."""
    return found & (areas >= MOTION_AREA_GATE * np.nan_to_num(reference_area))


def calibrated_presence(presence: np.ndarray, area: np.ndarray, reference_area: np.ndarray,
                        presence_threshold: float, min_area_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """([B] bool found, [B] bool visible): found = object score at least ``presence_threshold`` and a non-empty
    mask (the model's own rule); visible = found and (``min_area_ratio`` > 0, objects with a reference area) a
    mask of at least that fraction of the reference area."""
    found = (presence >= presence_threshold) & (area > 0)
    if min_area_ratio <= 0:
        return found, found
    known = np.isfinite(reference_area)
    return found, found & (~known | (area >= min_area_ratio * np.where(known, reference_area, 0.0)))


def predicted_boxes(tracks: ObjectTracks, motion: BoxFilter) -> tuple[BoxTracks | None, np.ndarray]:
    """This frame's prediction of every object's box: (the predicted filter state, [B, 4] boxes in input px
    with NaN rows for objects never found)."""
    count = len(tracks.frames_lost)
    if tracks.motion is None:
        return None, np.full((count, 4), np.nan)
    predicted = motion.predict(tracks.motion, lost=tracks.frames_unmeasured > 0)
    return predicted, np.where(tracks.found_once[:, None], predicted.boxes(), np.nan)


def commit_tracks(tracks: ObjectTracks, predicted: BoxTracks | None, motion: BoxFilter | None,
                  visible: np.ndarray, found: np.ndarray, areas: np.ndarray, boxes: np.ndarray) -> ObjectTracks:
    """The state after a frame where the objects were reported ``visible`` [B] bool and ``found`` [B] bool by
    the model (object score, non-empty mask), with mask ``areas`` [B] and mask ``boxes`` [B, 4] (input px).
    ``motion`` None: no box filter."""
    frames_lost = np.where(visible, 0, tracks.frames_lost + 1)
    frames_missing = np.where(found, 0, tracks.frames_missing + 1)
    reference = tracks.reference_area.copy()
    first = found & ~np.isfinite(reference)
    reference[first] = areas[first]
    known = np.nan_to_num(reference)
    follow = found & ~first & (areas >= AREA_FOLLOW_RATIO * known) & (AREA_FOLLOW_RATIO * areas <= known)
    reference[follow] += AREA_FOLLOW_RATE * (areas[follow] - reference[follow])
    state = None
    whole = about_whole(found, areas, tracks.reference_area)
    frames_unmeasured = np.where(whole, 0, tracks.frames_unmeasured + 1)
    if motion is not None:
        if predicted is None:
            state = motion.initiate(np.where(found[:, None], boxes, 0.0))
        else:
            state = motion.update(predicted, boxes, whole & tracks.found_once)
            new = found & ~tracks.found_once
            if new.any():  # found for the first time: start its filter at the box
                fresh = motion.initiate(boxes[new])
                state.mean[new], state.covariance[new] = fresh.mean, fresh.covariance
    return ObjectTracks(frames_lost, frames_missing, frames_unmeasured, reference, state,
                        tracks.found_once | found)
