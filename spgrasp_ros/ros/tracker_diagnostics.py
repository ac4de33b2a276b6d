"""The tracker node's running statistics and their ``/diagnostics`` message."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import torch
from builtin_interfaces.msg import Time as TimeMsg
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.time import Time

from spgrasp_ros.results import FrameResult
from spgrasp_ros.timing import summarise
from spgrasp_ros.tracker.intake import SlotCounts
from spgrasp_ros.tracker.session import TrackerSession

WINDOW = 100  # frames the latency and rate statistics cover
_SNAPSHOTS = 1000  # at most this many counter snapshots are kept for the recent window (bounded memory)


@dataclass(frozen=True)
class HealthRules:
    """When /diagnostics says what (the node's parameters ``diagnostics_window_s``, ``stale_after_s``,
    ``diagnostics_warn_drop_ratio``)."""

    window_s: float = 5.0  # errors and drops count for the level while this recent [s]
    stale_after_s: float = 3.0  # no image for this long [s] while active: STALE
    warn_drop_ratio: float = 0.5  # WARN when more than this share of the recent frames was dropped

    @classmethod
    def from_settings(cls, settings: dict) -> "HealthRules":
        """From the tracker node's parameters."""
        return cls(settings["diagnostics_window_s"], settings["stale_after_s"],
                   settings["diagnostics_warn_drop_ratio"])


class RecentHealth:
    """The level of the tracker from recent windows, not from totals: one bad frame makes WARN for
    ``window_s``, then OK again; no image for ``stale_after_s`` makes STALE."""

    def __init__(self, rules: HealthRules | None = None) -> None:
        self.rules = rules or HealthRules()
        self._snapshots: collections.deque = collections.deque(maxlen=_SNAPSHOTS)

    def recent(self, now_s: float, totals: dict[str, int]) -> dict[str, int]:
        """Record the totals at ``now_s`` (monotonic s); how much each grew over the recent window."""
        self._snapshots.append((now_s, dict(totals)))
        while len(self._snapshots) > 1 and self._snapshots[1][0] <= now_s - self.rules.window_s:
            self._snapshots.popleft()
        start = self._snapshots[0][1]
        return {k: totals[k] - start.get(k, 0) for k in totals}

    def assess(self, recent: dict[str, int], image_age_s: float, lost_objects: int) -> tuple[int, str]:
        """(DiagnosticStatus level, message) of an active node with a model; ``image_age_s``: seconds since
        the last image arrived (since activation when none did)."""
        rules = self.rules
        if image_age_s > rules.stale_after_s:
            return DiagnosticStatus.STALE, f"no image for {image_age_s:.1f} s (stale after {rules.stale_after_s:g} s)"
        if recent["errors"] or recent["rejected"]:
            return DiagnosticStatus.WARN, (f"{recent['errors']} processing errors, {recent['rejected']} rejected "
                                           f"frames in the last {rules.window_s:g} s")
        if recent["received"] and recent["dropped"] > rules.warn_drop_ratio * recent["received"]:
            return DiagnosticStatus.WARN, (f"falling behind: {recent['dropped']} of {recent['received']} frames "
                                           f"dropped in the last {rules.window_s:g} s")
        if lost_objects:
            return DiagnosticStatus.WARN, f"{lost_objects} object(s) lost"
        return DiagnosticStatus.OK, "tracking" if recent["processed"] else "waiting for frames and a prompt"


@dataclass
class TrackerStats:
    """Counts since activation plus a bounded window of recent timings."""

    processed: int = 0  # frames processed and published (prompt re-runs of a published frame not counted)
    prompt_reruns: int = 0  # prompts applied to a frame that was already processed and published
    prompts_answered: int = 0  # set_prompt requests answered (applied or refused)
    errors: int = 0
    idle_frames: int = 0  # frames received while nothing is tracked
    frames_without_depth: int = 0  # depth expected (use_depth) but none paired with the frame
    processing_ms: collections.deque = field(default_factory=lambda: collections.deque(maxlen=WINDOW))
    end_to_end_ms: collections.deque = field(default_factory=lambda: collections.deque(maxlen=WINDOW))
    stage_ms: collections.deque = field(default_factory=lambda: collections.deque(maxlen=WINDOW))
    done_at: collections.deque = field(default_factory=lambda: collections.deque(maxlen=WINDOW))
    lost_objects: int = 0

    def record(self, result: FrameResult, processing_ms: float, stamp: TimeMsg, now: Time) -> None:
        """One published frame: its processing time and the delay from its image stamp to now."""
        self.processed += 1
        self.processing_ms.append(processing_ms)
        self.end_to_end_ms.append((now.nanoseconds - Time.from_msg(stamp).nanoseconds) / 1e6)
        self.stage_ms.append(dict(result.extra.get("stages_ms", {})))
        self.done_at.append(now.nanoseconds / 1e9)
        self.lost_objects = sum(not o.visible for o in result.objects)

    def fps(self) -> float:
        """Published frames per second over the window."""
        if len(self.done_at) < 2 or self.done_at[-1] <= self.done_at[0]:
            return 0.0
        return (len(self.done_at) - 1) / (self.done_at[-1] - self.done_at[0])


def _percentiles(values) -> str:
    if not values:
        return "n/a"
    summary = summarise(list(values))
    return f"{summary['median']:.1f} / {summary['p90']:.1f}"


def diagnostics_message(name: str, stamp: TimeMsg, stats: TrackerStats, counts: SlotCounts,
                        session: TrackerSession | None, health: RecentHealth, now_s: float, image_age_s: float, *,
                        rejected_frames: int = 0, prompts_waiting: int = 0,
                        prompt_applying: bool = False) -> DiagnosticArray:
    """A DiagnosticArray with one status named ``<name>: tracker`` (``name``: the node's fully qualified name).
    Totals are since the node was made; the level comes from the recent window (``RecentHealth``): ERROR
    without a model, STALE without images, WARN on recent errors, rejected frames, drops or lost objects.

    ``now_s``: monotonic seconds; ``image_age_s``: seconds since the last image arrived; ``rejected_frames``:
    frames turned away or rejected as unreadable (``ros.frame_gate``);
    ``prompts_waiting``: prompts in line for the worker; ``prompt_applying``: whether it is applying one now.
    """
    values = {
        "frames received": counts.received,
        "frames processed": stats.processed,
        "prompts on an already published frame": stats.prompt_reruns,
        "frames dropped (newer arrived)": counts.dropped,
        "frames idle (nothing tracked)": stats.idle_frames,
        "frames rejected (unreadable)": rejected_frames,
        "processing errors": stats.errors,
        "frames without depth": stats.frames_without_depth,
        "fps": f"{stats.fps():.2f}",
        "processing ms p50 / p90": _percentiles(stats.processing_ms),
        "stamp to publish ms p50 / p90": _percentiles(stats.end_to_end_ms),
        "objects lost": stats.lost_objects,
        "prompts answered": stats.prompts_answered,
        "prompts waiting": prompts_waiting,
        "prompt being applied": "yes" if prompt_applying else "no",
    }
    frames = list(stats.stage_ms)  # a snapshot: the worker thread appends meanwhile
    for stage in sorted({k for frame in frames for k in frame}):
        values[f"stage {stage} ms p50 / p90"] = _percentiles([f[stage] for f in frames if stage in f])
    if session is not None:
        values["tracked ids"] = " ".join(str(i) for i in session.tracker.object_ids) or "none"
        values["device"] = str(session.tracker.device)
        choice = session.tracker.precision_choice
        values["precision"] = choice.describe() if choice is not None else session.tracker.precision
        values["text re-detections"] = session.reacquire.reacquired
        values["grasp source"] = f"{session.tracker.grasp_source} ({session.grasp_source_note()})"
        if session.tracker.device.type == "cuda":
            device = session.tracker.device
            values["gpu memory allocated MiB"] = f"{torch.cuda.memory_allocated(device) / 2**20:.0f}"
            values["gpu memory peak MiB"] = f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f}"
    recent = health.recent(now_s, {"received": counts.received, "processed": stats.processed,
                                   "dropped": counts.dropped, "errors": stats.errors,
                                   "rejected": rejected_frames})
    values["seconds since the last image"] = f"{image_age_s:.1f}"
    if session is None:
        level, message = DiagnosticStatus.ERROR, "no model loaded"
    else:
        level, message = health.assess(recent, image_age_s, stats.lost_objects)
    status = DiagnosticStatus(level=level, name=f"{name}: tracker", message=message,
                              hardware_id=values.get("device", ""),
                              values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array
