"""The counts of one evaluation cell (a split and a prompt interval) and the figures reported from them.

``scoring.SequenceScorer`` fills a ``Tally`` frame by frame; ``Tally.summary`` turns it into the JSON figures of
``spgrasp eval``:

- ``grasp_accuracy``: top-1 grasp correct (``metrics.RectangleMetric``) over the object-frames where the object
  is visible in the ground truth and has grasps (``scored``); ``lost_rate``: of those, reported lost;
- ``false_presence_rate``: hidden in the ground truth (occluded, or out of view), reported visible;
- ``accuracy_by_frames_since_occlusion``: accuracy by frames since the object was last hidden (1 = the first
  frame it is visible again; -1 = never hidden so far);
- ``reacquisition``: per reappearance (hidden -> visible), the delay in frames from the last hidden frame to the
  first correct grasp (1 = correct on the first frame back); ``within_3`` is the share reacquired with a delay of
  at most 3 frames, ``never`` the share not reacquired before the object was hidden again or the clip ended;
- ``identity``: a track is *on another object* in a frame when its best grasp's centre lies on another object's
  ground-truth mask (or, without a grasp, when most of its mask lies on one other object); a switch is a frame
  where that starts; ``switches_per_1000`` per 1,000 tracked object-frames;
- ``best_grasp``: on slow objects (ground-truth motion at most ``ScoringConfig.slow_speed_px`` per frame), the
  best grasp's per-frame motion beyond the object's own (its centre's residual in px, its angle's in degrees);
  a residual above the switch thresholds is a best-grasp switch (``switches_per_100`` frame pairs), the others
  give the jitter figures;
- ``unreadable_frames``: frames skipped because their files could not be loaded during the run, each with the
  reason (``{"frame", "reason"}``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from spgrasp_ros.timing import summarise

NEVER_OCCLUDED = -1  # key of the "frames since occlusion" histogram for objects never hidden so far
SINGLE_IMAGE = "single_image"  # the one cell of a split of single images (prompt intervals apply to videos)
REACQUIRE_WITHIN = 3  # [frames] the delay reported as "reacquired within" (issue target: 3 frames)


def _rate(a: float, b: float) -> float | None:
    return a / b if b else None


def _spread(values: list[float]) -> dict:
    return {"mean": float(np.mean(values)) if values else None,
            "median": float(np.median(values)) if values else None}


@dataclass
class Tally:
    """Counts of one evaluation cell; see the module notes for what each figure means."""

    scored: int = 0
    correct: int = 0
    lost: int = 0
    hidden: int = 0
    false_presence: int = 0
    mask_ious: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    since_occlusion: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    reacquisition_delays: list[int | None] = field(default_factory=list)  # None: never reacquired
    identity_frames: int = 0
    on_other_frames: int = 0
    identity_switches: int = 0
    jitter_px: list[float] = field(default_factory=list)
    jitter_deg: list[float] = field(default_factory=list)
    best_grasp_pairs: int = 0
    best_grasp_switches: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (frame name, reason) of skipped frames

    def summary(self) -> dict:
        """JSON-ready figures."""
        latency = summarise(self.latencies_ms or [0.0])
        delays = [d for d in self.reacquisition_delays if d is not None]
        events = len(self.reacquisition_delays)
        return {
            "grasp_accuracy": _rate(self.correct, self.scored), "scored": self.scored,
            "unreadable_frames": [{"frame": name, "reason": reason} for name, reason in self.unreadable],
            "mask_iou": float(np.mean(self.mask_ious)) if self.mask_ious else None,
            "lost_rate": _rate(self.lost, self.scored),
            "false_presence_rate": _rate(self.false_presence, self.hidden), "hidden": self.hidden,
            "latency_ms": {k: latency[k] for k in ("median", "p90")},
            "accuracy_by_frames_since_occlusion": {
                str(k): {"accuracy": v[1] / v[0], "scored": v[0]} for k, v in sorted(self.since_occlusion.items())},
            "reacquisition": {
                "events": events, f"within_{REACQUIRE_WITHIN}": _rate(sum(d <= REACQUIRE_WITHIN for d in delays),
                                                                        events),
                "never": _rate(events - len(delays), events),
                "median_delay": float(np.median(delays)) if delays else None},
            "identity": {"object_frames": self.identity_frames,
                         "switches_per_1000": _rate(1000 * self.identity_switches, self.identity_frames),
                         "on_other_rate": _rate(self.on_other_frames, self.identity_frames)},
            "best_grasp": {"pairs": self.best_grasp_pairs, "jitter_px": _spread(self.jitter_px),
                           "jitter_deg": _spread(self.jitter_deg),
                           "switches_per_100": _rate(100 * self.best_grasp_switches, self.best_grasp_pairs)},
        }
