"""What the operator page shows besides the frames: the tracker's health and the arm bridge's state.

``TrackerStatus`` keeps the tracker's latest ``/diagnostics`` entry (the status named ``<node>: tracker``);
``ArmStatus`` keeps the bridge's lifecycle state and its target, read from the bridge's ``~/markers`` (the
target gripper at the pre-grasp and grasp points, green while commanding, grey while it only would send;
``ros.markers.target_markers``). Both take ROS messages and give JSON-ready dicts; times are monotonic seconds.
"""

from __future__ import annotations

from spgrasp_ros.ros.markers import COMMANDING, TARGET_NS

# diagnostics keys the page shows (tracker_diagnostics.diagnostics_message), by the page's name for them
TRACKER_KEYS = {"fps": "fps", "latency_ms": "stamp to publish ms p50 / p90", "processing_ms": "processing ms p50 / p90",
                "dropped": "frames dropped (newer arrived)", "tracked_ids": "tracked ids", "device": "device"}
LEVELS = {0: "ok", 1: "warn", 2: "error", 3: "stale"}
_ARROW = 0  # visualization_msgs/Marker.ARROW
_DELETEALL = 3


class TrackerStatus:
    """The newest diagnostics of one tracker node (``name``: its fully qualified name)."""

    def __init__(self, node_name: str) -> None:
        self.status_name = f"{node_name}: tracker"
        self._latest: dict | None = None
        self._at: float | None = None

    def update(self, array, now_s: float) -> None:
        """Take a DiagnosticArray; entries of other nodes are ignored."""
        for status in array.status:
            if status.name == self.status_name:
                values = {kv.key: kv.value for kv in status.values}
                level = status.level[0] if isinstance(status.level, bytes) else int(status.level)  # byte field
                self._latest = {"level": LEVELS.get(level, "unknown"), "message": status.message,
                                **{page: values[key] for page, key in TRACKER_KEYS.items() if key in values}}
                self._at = now_s

    def summary(self, now_s: float) -> dict | None:
        """The latest entry with its age [s], or None before the first."""
        if self._latest is None:
            return None
        return {**self._latest, "age_s": round(now_s - self._at, 1)}


class ArmStatus:
    """The arm bridge as the page shows it: running or not, its lifecycle state, its target, its last command."""

    def __init__(self, bridge_name: str) -> None:
        self.bridge_name = bridge_name
        self.available = False  # its enable service exists
        self.state = "unknown"  # lifecycle label: unconfigured, inactive, active, ...
        self.last_reply = ""  # the bridge's answer to the page's last enable/stop
        self._target: dict | None = None
        self._last_command: dict | None = None

    def update_markers(self, array, now_s: float) -> None:
        """Take the bridge's MarkerArray: a target when it holds the target arrow, none when it only deletes."""
        arrow = next((m for m in array.markers if m.ns == TARGET_NS and m.type == _ARROW and len(m.points) == 2),
                     None)
        if arrow is None:
            if any(m.action == _DELETEALL for m in array.markers):
                self._target = None
            return
        pre, grasp = ([round(p.x, 4), round(p.y, 4), round(p.z, 4)] for p in arrow.points)
        commanding = abs(arrow.color.g - COMMANDING.g) < 1e-3 and abs(arrow.color.r - COMMANDING.r) < 1e-3
        self._target = {"frame_id": arrow.header.frame_id, "pre_grasp": pre, "grasp": grasp,
                        "commanding": commanding, "at_s": now_s}
        if commanding:
            self._last_command = dict(self._target)

    def summary(self, now_s: float) -> dict:
        """JSON-ready: available, state, target and last command (each with its age [s]), last reply."""
        def aged(entry: dict | None) -> dict | None:
            if entry is None:
                return None
            return {**{k: v for k, v in entry.items() if k != "at_s"}, "age_s": round(now_s - entry["at_s"], 1)}

        return {"name": self.bridge_name, "available": self.available, "state": self.state,
                "target": aged(self._target), "last_command": aged(self._last_command),
                "last_reply": self.last_reply}
