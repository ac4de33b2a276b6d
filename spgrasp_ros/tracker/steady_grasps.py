"""Steady grasps: each object's grasps tracked across frames, smoothed, and a best grasp that does not flip.

Per frame the decoder's best grasp of an object can jump between near-equal peaks, and every peak's centre and
angle jitter. ``SteadyGrasps.update`` takes the tracker's ``FrameResult`` and returns one whose grasps carry a
``track_id`` and a ``stability``, are smoothed over time, and are ordered so that each object's *steady* best
grasp comes first among its grasps (``FrameResult.grasps`` documents the overall order).

How, per object and frame:

- **Object frame.** Grasps are tracked and smoothed in the object's frame, not in image coordinates: as an
  offset from the object's reference point and an angle relative to its orientation. The reference point is
  the mask box centre (``ObjectState.bbox``) through an alpha-beta filter (position and velocity;
  ``reference_gain``, ``reference_velocity_gain``). The orientation turns by the object's spin each frame; the
  spin is learnt from the matched grasps' turns (their median angle residual, gain ``spin_gain``: the rate half
  of an alpha-beta pair whose other half is each grasp's angle smoothing). So an object translating or
  spinning at a constant rate gets no systematic lag in its grasps' positions or angles. An object without a
  state or a box (area 0) is smoothed about a still point (in image coordinates, up to its spin).
- **Association.** A candidate continues a track when its centre lies within the track's gate radius
  (``match_distance`` x the track's width, at least ``min_match_px``) of the track's predicted centre and its
  angle within ``match_angle_deg`` (modulo pi); one-to-one at least total cost
  (``scipy.optimize.linear_sum_assignment`` on the summed squared normalised distances). An unmatched
  candidate starts a new track.
- **Smoothing.** Exponential, each factor the weight of the new frame (1 = none): offset (``center_smoothing``),
  angle as the mean of doubled-angle unit vectors (``angle_smoothing``; angles are modulo pi, so -89 and +89
  degrees average to -90, not 0), width (``width_smoothing``; the jaw size keeps the grasp's jaw/width ratio)
  and score (``score_smoothing``; an unmatched frame counts as score 0, and so do the frames before a track
  began, so a newcomer builds its smoothed score up). The output score of a matched grasp is the frame's own;
  the smoothed score chooses the best.
- **Best grasp with hysteresis.** The object's best track stays best unless, on ``switch_frames`` consecutive
  frames, a track matched on that frame has a smoothed score above the best's by more than ``hysteresis``
  (then the highest-scoring of that frame takes over), or the best track is dropped. While the best goes
  unmatched it is *held*: output at its place in the moving object frame, with its smoothed score and no pose,
  so an object can carry one grasp more than the decoder's top-k; held for more than ``max_held`` frames
  while the object has other grasps, it gives way to the best of those at once.
- **Losses.** A track unmatched on more than ``max_missed`` frames on which its object was visible is dropped.
  Frames on which the object is lost (not visible and no grasps) do not age its tracks (its orientation keeps
  turning at its spin, its reference point jumps to the box where it reappears), so a briefly hidden object's
  grasp resumes its track id where it reappears on the object. An object lost for more than
  ``max_lost_frames`` consecutive frames, or absent from the result, is forgotten.
- **Bounded.** At most ``max_tracks`` tracks per object (this frame's grasps and the best always keep theirs):
  the unmatched beyond it go, longest-missed first.

``track_id``: unique per ``SteadyGrasps`` instance, increasing, never reused (not even after ``reset``); 0 = not
associated. ``stability``: the share of the last ``stability_window`` frames on which the object was visible
on which this track was matched (frames before the track began count as unmatched): 1 / window for a new
track, 1.0 after ``stability_window`` consecutive matches.

Poses (``Grasp.pose``) of matched grasps pass through unchanged: they belong to the raw grasp, so lift to 3-D
after this step. With ``enabled=False``, ``update`` returns its input unchanged (track_id and stability stay 0).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
from scipy.optimize import linear_sum_assignment

from spgrasp_ros.results import FrameResult, Grasp, ObjectState, wrap_grasp_angle

_INFEASIBLE = 1e6  # cost of a pair outside the gate (never chosen over a feasible one: feasible costs <= 2)


@dataclass(frozen=True)
class SteadyGraspConfig:
    """Thresholds of ``SteadyGrasps`` (module notes). Smoothing factors are the new frame's weight in (0, 1]."""

    enabled: bool = True  # False: update() returns its input unchanged
    match_distance: float = 0.5  # gate radius as a fraction of the track's grasp width
    min_match_px: float = 3.0  # [px] smallest gate radius (thin grasps)
    match_angle_deg: float = 25.0  # [deg] largest angle difference (modulo 180) of a continuation
    center_smoothing: float = 0.25  # offset in the object frame
    angle_smoothing: float = 0.3  # doubled-angle unit vector in the object frame
    width_smoothing: float = 0.3  # opening width (the jaw size keeps the grasp's jaw/width ratio)
    score_smoothing: float = 0.2  # smoothed score that chooses the best (an unmatched frame counts as 0)
    reference_gain: float = 1.0  # alpha-beta filter of the box centre: position gain (1: the measured centre,
    #                              no lag; with 0.3 the fast-motion suite scored 18.7 % and the 1-3 frames after
    #                              reappearing 87.1 %, against 25.1 and 94.2 % with 1.0; issue 14)
    reference_velocity_gain: float = 0.05  # ... velocity gain (0: a constant-position filter, which lags)
    spin_gain: float = 0.03  # gain of the object's spin from its matched grasps' turns (0: no rotation)
    hysteresis: float = 0.15  # smoothed-score margin another track needs over the best
    switch_frames: int = 10  # consecutive frames some track must keep that margin to take over
    max_missed: int = 15  # frames a track survives unmatched while its object is visible
    max_held: int = 1  # frames the best is held while unmatched; then the best grasp present takes over (an
    #                    object that moved fast or came back elsewhere is not given a grasp at its old place)
    max_lost_frames: int = 30  # consecutive frames an object may be lost before its tracks are forgotten
    max_tracks: int = 12  # tracks kept per object
    stability_window: int = 10  # frames of ``Grasp.stability``'s window (at most 62)

    def __post_init__(self) -> None:
        for name in ("center_smoothing", "angle_smoothing", "width_smoothing", "score_smoothing",
                     "reference_gain"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"SteadyGraspConfig.{name} must lie in (0, 1], got {getattr(self, name)}")
        for name in ("reference_velocity_gain", "spin_gain"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SteadyGraspConfig.{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("match_distance", "min_match_px", "match_angle_deg", "hysteresis"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"SteadyGraspConfig.{name} must be >= 0, got {getattr(self, name)}")
        for name, low in (("switch_frames", 1), ("max_missed", 0), ("max_held", 0), ("max_lost_frames", 0),
                          ("max_tracks", 1),
                          ("stability_window", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"SteadyGraspConfig.{name} must be >= {low}, got {getattr(self, name)}")
        if self.stability_window > 62:
            raise ValueError(f"SteadyGraspConfig.stability_window must be <= 62, got {self.stability_window}")


@dataclass
class _Track:
    """One grasp followed across frames, in its object's frame (plain floats: a few per object, every frame)."""

    track_id: int
    x: float  # [px] smoothed offset from the object's reference point, object axes
    y: float
    dx: float  # smoothed (cos 2a, sin 2a) of its angle a in the object frame; shorter than 1 when a is noisy
    dy: float
    width: float  # [px] smoothed
    score: float  # smoothed; an unmatched frame counts as 0
    jaw_ratio: float  # jaw size / width of its last grasp
    missed: int = 0  # consecutive visible frames unmatched
    history: int = 1  # bit i: matched i frames ago (of the frames the object was visible)
    source: str = "model"  # Grasp.source of its last grasp

    @property
    def angle(self) -> float:
        """[rad] its angle in the object frame."""
        return math.atan2(self.dy, self.dx) / 2


@dataclass
class _Object:
    """The grasp tracks of one object and its frame: reference point (translation) and orientation."""

    x: float | None = None  # [px] filtered box centre; None until the first box
    y: float = 0.0
    vx: float = 0.0  # [px/frame]
    vy: float = 0.0
    orientation: float = 0.0  # [rad] of the object frame (0 on its first frame), wrapped to [-pi, pi)
    spin: float = 0.0  # [rad/frame]
    lost_frames: int = 0
    tracks: list[_Track] = field(default_factory=list)
    best: int = 0  # track id of the steady best, 0 = none
    challenge_frames: int = 0  # consecutive frames some other track outscored the best by the hysteresis


def _turn(angle: float) -> float:
    """``angle`` wrapped to [-pi, pi) (a full turn: the object frame's orientation)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _median(values: list[float]) -> float:
    ordered, half = sorted(values), len(values) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


class SteadyGrasps:
    """Tracks, smooths and steadies the grasps of every object across the frames of one stream."""

    def __init__(self, config: SteadyGraspConfig | None = None) -> None:
        self.config = config or SteadyGraspConfig()
        self._objects: dict[int, _Object] = {}
        self._next_id = 1
        self._stability_mask = (1 << self.config.stability_window) - 1

    # --- public ------------------------------------------------------------------------------------------------
    def update(self, result: FrameResult) -> FrameResult:
        """The frame's result with tracked, smoothed, steadily ordered grasps (module notes)."""
        if not self.config.enabled:
            return result
        states = {s.id: s for s in result.objects}
        grouped: dict[int, list[Grasp]] = {}
        for grasp in result.grasps:
            grouped.setdefault(grasp.object_id, []).append(grasp)
        for object_id in [i for i in self._objects if i not in states and i not in grouped]:
            del self._objects[object_id]
        steady: dict[int, list[Grasp]] = {}
        for object_id in sorted(set(states) | set(grouped)):
            state, grasps = states.get(object_id), grouped.get(object_id, [])
            if grasps or state.visible:
                steady[object_id] = self._object_update(object_id, state, grasps)
            else:
                self._lost(object_id)
        return dataclasses.replace(result, grasps=_ordered(steady))

    def forget(self, object_ids: Iterable[int]) -> None:
        """Drop the tracks of these objects (e.g. removed by a prompt)."""
        for object_id in object_ids:
            self._objects.pop(object_id, None)

    def reset(self) -> None:
        """Drop every track (a new stream or a resetting prompt); track ids continue, never reused."""
        self._objects.clear()

    @property
    def num_tracks(self) -> int:
        """Tracks held over all objects."""
        return sum(len(o.tracks) for o in self._objects.values())

    # --- one object --------------------------------------------------------------------------------------------
    def _lost(self, object_id: int) -> None:
        """A frame on which the object is lost: its tracks wait (its orientation keeps turning at its spin)."""
        tracked = self._objects.get(object_id)
        if tracked is None:
            return
        tracked.lost_frames += 1
        tracked.orientation = _turn(tracked.orientation + tracked.spin)
        if tracked.lost_frames > self.config.max_lost_frames:
            del self._objects[object_id]

    def _object_update(self, object_id: int, state: ObjectState | None, grasps: list[Grasp]) -> list[Grasp]:
        """This frame's grasps of one object, steadied, its best first (the best held when unmatched)."""
        cfg, tracked = self.config, self._objects.setdefault(object_id, _Object())
        self._update_reference(tracked, state)
        tracked.orientation = _turn(tracked.orientation + tracked.spin)  # predicted
        offsets = [(g.center[0] - tracked.x, g.center[1] - tracked.y) for g in grasps]  # image axes
        pairs = dict(self._associate(tracked, offsets, [g.angle for g in grasps]))
        if pairs:  # the spin from the matched grasps' turns (the rate half of an alpha-beta pair)
            turns = [float(wrap_grasp_angle(grasps[col].angle - tracked.orientation - tracked.tracks[row].angle))
                     for row, col in pairs.items()]
            tracked.spin += cfg.spin_gain * _median(turns)
        c, s = math.cos(tracked.orientation), math.sin(tracked.orientation)
        local = [(c * ox + s * oy, -s * ox + c * oy) for ox, oy in offsets]  # into object axes
        doubled = [2 * (g.angle - tracked.orientation) for g in grasps]
        by_column, survivors, mask = {}, [], self._stability_mask
        for row, track in enumerate(tracked.tracks):
            col = pairs.get(row)
            if col is None:  # unmatched: ages, and its score decays as if it had scored 0
                track.missed, track.history = track.missed + 1, (track.history << 1) & mask
                track.score -= cfg.score_smoothing * track.score
                if track.missed <= cfg.max_missed:
                    survivors.append(track)
                continue
            grasp, (x, y), a = grasps[col], local[col], doubled[col]
            track.x += cfg.center_smoothing * (x - track.x)
            track.y += cfg.center_smoothing * (y - track.y)
            track.dx += cfg.angle_smoothing * (math.cos(a) - track.dx)
            track.dy += cfg.angle_smoothing * (math.sin(a) - track.dy)
            track.width += cfg.width_smoothing * (grasp.width - track.width)
            track.score += cfg.score_smoothing * (grasp.score - track.score)
            track.jaw_ratio = grasp.jaw_size / grasp.width if grasp.width > 0 else track.jaw_ratio
            track.missed, track.history = 0, ((track.history << 1) | 1) & mask
            track.source = grasp.source
            by_column[col] = track
            survivors.append(track)
        for col, grasp in enumerate(grasps):
            if col not in by_column:
                (x, y), a = local[col], doubled[col]
                by_column[col] = _Track(self._next_id, x, y, math.cos(a), math.sin(a), grasp.width,
                                        cfg.score_smoothing * grasp.score,  # the frames before count as 0
                                        grasp.jaw_size / grasp.width if grasp.width > 0 else 0.0,
                                        source=grasp.source)
                self._next_id += 1
                survivors.append(by_column[col])
        tracked.tracks = self._capped(survivors, len(grasps), tracked.best)
        best = self._choose_best(tracked, [by_column[col] for col in range(len(grasps))])
        out = [self._steadied(object_id, tracked, by_column[col], grasp) for col, grasp in enumerate(grasps)]
        if best is not None and best.missed > 0:  # the steady best went unseen this frame: hold it
            out.append(self._steadied(object_id, tracked, best, None))
        return sorted(out, key=lambda g: (g.track_id != tracked.best, -g.score))

    def _update_reference(self, tracked: _Object, state: ObjectState | None) -> None:
        """The object's reference point this frame (alpha-beta filtered box centre; module notes)."""
        cfg = self.config
        if state is None or state.mask_area <= 0:  # no box: about a still point
            if tracked.x is None:
                tracked.x = 0.0
            tracked.vx = tracked.vy = 0.0
        else:
            box = state.bbox
            mx, my = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            if tracked.x is None or tracked.lost_frames > 0:  # first box, or back after a loss: jump there
                tracked.x, tracked.y = mx, my  # (the velocity is kept)
            else:
                px, py = tracked.x + tracked.vx, tracked.y + tracked.vy
                ex, ey = mx - px, my - py
                tracked.x, tracked.y = px + cfg.reference_gain * ex, py + cfg.reference_gain * ey
                tracked.vx += cfg.reference_velocity_gain * ex
                tracked.vy += cfg.reference_velocity_gain * ey
        tracked.lost_frames = 0

    def _associate(self, tracked: _Object, offsets: list[tuple[float, float]],
                   angles: list[float]) -> list[tuple[int, int]]:
        """(track row, candidate column) pairs inside the gates, one-to-one at least total cost. ``offsets``:
        the candidates' centres minus the reference point (image axes)."""
        tracks = tracked.tracks
        if not tracks or not offsets:
            return []
        cfg = self.config
        c, s = math.cos(tracked.orientation), math.sin(tracked.orientation)
        state = np.array([(t.x, t.y, t.angle, t.width) for t in tracks])
        predicted = np.column_stack([c * state[:, 0] - s * state[:, 1], s * state[:, 0] + c * state[:, 1]])
        radii = np.maximum(cfg.match_distance * state[:, 3], cfg.min_match_px)
        distance = np.linalg.norm(np.asarray(offsets)[None, :, :] - predicted[:, None, :], axis=2) / radii[:, None]
        turn = np.abs(wrap_grasp_angle(np.asarray(angles)[None, :] - tracked.orientation - state[:, 2:3]))
        turn = turn / max(math.radians(cfg.match_angle_deg), 1e-9)
        feasible = (distance <= 1.0) & (turn <= 1.0)
        if not feasible.any():
            return []
        cost = np.where(feasible, distance ** 2 + turn ** 2, _INFEASIBLE)
        rows, cols = linear_sum_assignment(cost)
        return [(int(r), int(k)) for r, k in zip(rows, cols) if feasible[r, k]]

    def _capped(self, tracks: list[_Track], current: int, best: int) -> list[_Track]:
        """At most ``max_tracks`` (the ``current`` grasps' tracks and the best always kept): unmatched tracks go,
        longest-missed first."""
        excess = len(tracks) - max(self.config.max_tracks, current + 1)
        if excess <= 0:
            return tracks
        unmatched = sorted((t for t in tracks if t.missed > 0 and t.track_id != best),
                           key=lambda t: (-t.missed, t.score))
        dropped = {id(t) for t in unmatched[:excess]}
        return [t for t in tracks if id(t) not in dropped]

    def _choose_best(self, tracked: _Object, present: list[_Track]) -> _Track | None:
        """The steady best track after this frame (hysteresis on smoothed scores; module notes), or None."""
        current = next((t for t in tracked.tracks if t.track_id == tracked.best), None)
        others = [t for t in present if t is not current]
        challenger = max(others, key=lambda t: t.score) if others else None
        if current is not None and current.missed > self.config.max_held and challenger is not None:
            current = None  # held too long while other grasps are there: the best of those takes over
        if current is not None:
            if challenger is None or challenger.score <= current.score + self.config.hysteresis:
                tracked.challenge_frames = 0
                return current
            tracked.challenge_frames += 1
            if tracked.challenge_frames < self.config.switch_frames:
                return current
        tracked.challenge_frames = 0  # none yet, the best was dropped, or it was outscored long enough
        tracked.best = challenger.track_id if challenger is not None else 0
        return challenger

    def _steadied(self, object_id: int, tracked: _Object, track: _Track, grasp: Grasp | None) -> Grasp:
        """The track's smoothed grasp in the image with its id and stability: ``grasp``'s score and pose when
        matched to it this frame, else (the held best) the track's smoothed score and no pose."""
        c, s = math.cos(tracked.orientation), math.sin(tracked.orientation)
        centre = (tracked.x + c * track.x - s * track.y, tracked.y + s * track.x + c * track.y)
        geometry = dict(center=centre, angle=float(wrap_grasp_angle(tracked.orientation + track.angle)),
                        width=track.width, jaw_size=track.width * track.jaw_ratio, track_id=track.track_id,
                        stability=bin(track.history).count("1") / self.config.stability_window)
        if grasp is None:
            return Grasp(object_id, track.score, **geometry, source=track.source)
        return dataclasses.replace(grasp, **geometry)


def _ordered(steady: dict[int, list[Grasp]]) -> tuple[Grasp, ...]:
    """Every object's steady list (best first) placed into the slots of a descending-score order: the slots an
    object's grasps occupy follow their scores, and within them its best comes first."""
    everything = sorted((g for grasps in steady.values() for g in grasps), key=lambda g: -g.score)
    queues = {object_id: iter(grasps) for object_id, grasps in steady.items()}
    return tuple(next(queues[g.object_id]) for g in everything)
