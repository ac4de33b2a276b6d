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


@dataclass
class TrackerStats:
    """Counts since activation plus a bounded window of recent timings."""

    processed: int = 0
    errors: int = 0
    idle_frames: int = 0  # frames received while nothing is tracked
    rejected_frames: int = 0  # unsupported encodings
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
                        session: TrackerSession | None, *,
                        prompts_waiting: int = 0, prompt_applying: bool = False) -> DiagnosticArray:
    """A DiagnosticArray with one status: OK, WARN (errors, rejected frames or lost objects) or ERROR (no model).

    ``prompts_waiting``: prompts in line for the worker; ``prompt_applying``: whether it is applying one now.
    """
    values = {
        "frames received": counts.received,
        "frames processed": stats.processed,
        "frames dropped (newer arrived)": counts.dropped,
        "frames idle (nothing tracked)": stats.idle_frames,
        "frames rejected (encoding)": stats.rejected_frames,
        "processing errors": stats.errors,
        "frames without depth": stats.frames_without_depth,
        "fps": f"{stats.fps():.2f}",
        "processing ms p50 / p90": _percentiles(stats.processing_ms),
        "stamp to publish ms p50 / p90": _percentiles(stats.end_to_end_ms),
        "objects lost": stats.lost_objects,
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
        if session.tracker.device.type == "cuda":
            device = session.tracker.device
            values["gpu memory allocated MiB"] = f"{torch.cuda.memory_allocated(device) / 2**20:.0f}"
            values["gpu memory peak MiB"] = f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f}"
    if session is None:
        level, message = DiagnosticStatus.ERROR, "no model loaded"
    elif stats.errors or stats.rejected_frames:
        level = DiagnosticStatus.WARN
        message = f"{stats.errors} processing errors, {stats.rejected_frames} rejected frames"
    elif stats.lost_objects:
        level, message = DiagnosticStatus.WARN, f"{stats.lost_objects} object(s) lost"
    else:
        level, message = DiagnosticStatus.OK, "tracking" if stats.processed else "waiting for frames and a prompt"
    status = DiagnosticStatus(level=level, name=f"{name}: tracker", message=message,
                              hardware_id=values.get("device", ""),
                              values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array
