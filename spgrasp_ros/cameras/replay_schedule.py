"""When a replayed recording's frames are due, which stamps they carry, and what the replay's clock reads.

A replay keeps the recorded time line, scaled by ``rate`` (1.0 = as recorded, 2.0 = twice as fast): frame k
is due ``(stamp_k - stamp_0) / rate`` after the first frame went out, on the caller's steady clock, so late
frames do not push later ones back (a replay that fell behind catches up). The clock (``clock_ns``) runs from
the first recorded stamp at the same rate and never goes back. Each loop shifts the stamps by the recording's
length plus one mean frame period (``next_loop``), so stamps and clock keep rising across loops and no stamp
is repeated. Times are seconds (steady clock) and stamps integer nanoseconds. ``BagReplaySettings`` holds the
defaults of ``bag_source_node``'s parameters (the one source: the node's parameter specs and the launch plan
read them).
"""

from __future__ import annotations

from dataclasses import dataclass

_DEFAULT_PERIOD_NS = 33_333_333  # the gap after a one-frame recording (30 Hz)


@dataclass(frozen=True)
class BagReplaySettings:
    """What a bag replay plays and how (``bag_source_node``'s parameters; descriptions there)."""

    bag: str = ""  # the rosbag2 folder, or a storage file in it (required)
    image_topic: str = "/image"  # what `spgrasp record` and `spgrasp bag from-sequence` write in the root namespace
    depth_topic: str = "/depth"  # '' = none
    camera_info_topic: str = "/camera_info"  # '' = none
    rate: float = 1.0  # x recorded speed
    loop: bool = False
    publish_clock: bool = True  # /clock from the recorded stamps (use_sim_time for the other nodes)
    clock_hz: float = 40.0  # as `ros2 bag play --clock`
    frame_id: str = ""  # '' = as recorded
    max_frames: int = 0  # 0 = all
    reliability: str = "reliable"
    history_depth: int = 20  # VGA colour + depth at 30 Hz into a reliable recorder: 5 of 150 depth lost at 5, 0 at 20
    wait_for_subscribers: int = 0


class ReplaySchedule:
    """The replay time line of one recording, loop after loop."""

    def __init__(self, rate: float = 1.0) -> None:
        if not rate > 0:
            raise ValueError(f"replay rate must be > 0, got {rate!r}")
        self.rate = rate
        self.offset_ns = 0  # added to every recorded stamp (one recording's length per loop)
        self.loops = 0  # loops completed
        self._origin_ns: int | None = None  # the first published stamp
        self._origin_s = 0.0  # when the first frame went out [s, steady]
        self._first_ns: int | None = None  # first and last recorded stamps of this loop, frames seen
        self._last_ns = 0
        self._frames = 0
        self._clock_ns = 0  # the last clock value handed out

    @property
    def started(self) -> bool:
        """True once the first frame went out (``start``)."""
        return self._origin_ns is not None

    def start(self, now_s: float, first_stamp_ns: int) -> None:
        """The first frame (recorded at ``first_stamp_ns``) goes out at ``now_s``."""
        self._origin_ns, self._origin_s = first_stamp_ns + self.offset_ns, now_s

    def stamp(self, recorded_ns: int) -> int:
        """The stamp a frame recorded at ``recorded_ns`` goes out with (in this loop); records it as seen."""
        if self._first_ns is None:
            self._first_ns = recorded_ns
        self._last_ns = max(self._last_ns, recorded_ns)
        self._frames += 1
        return recorded_ns + self.offset_ns

    def due_s(self, recorded_ns: int) -> float:
        """When the frame recorded at ``recorded_ns`` is due (steady clock, s); ``start`` must have been called."""
        return self._origin_s + (recorded_ns + self.offset_ns - self._origin_ns) / 1e9 / self.rate

    def clock_ns(self, now_s: float, at_least_ns: int = 0) -> int:
        """The replay's clock at ``now_s``: the first stamp before the start, then the scaled time line; never
        less than ``at_least_ns`` (a frame's stamp about to go out) or than any value handed out before."""
        if self._origin_ns is None:
            value = at_least_ns
        else:
            value = self._origin_ns + int((now_s - self._origin_s) * self.rate * 1e9)
        self._clock_ns = max(self._clock_ns, value, at_least_ns)
        return self._clock_ns

    def next_loop(self) -> None:
        """The recording starts over: shift stamps by its length plus one mean frame period."""
        if self._first_ns is None:
            return  # nothing was replayed: nothing to shift by
        span = self._last_ns - self._first_ns
        period = span // (self._frames - 1) if self._frames > 1 and span > 0 else _DEFAULT_PERIOD_NS
        self.offset_ns += span + period
        self.loops += 1
        self._first_ns, self._last_ns, self._frames = None, 0, 0
