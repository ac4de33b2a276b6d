"""The run of ``spgrasp soak`` (settings and report: ``soak_report``; what it injects: ``soak_faults``).

The tracker and the video source run in their own processes, as ``spgrasp demo`` starts them; this process is
the user and the viewer. Its node subscribes ``grasp_poses``, ``~/mask``, ``~/debug_image`` (so the overlay is
drawn) and ``/diagnostics``, re-prompts through ``set_prompt`` every ``reprompt_s`` and injects a fault every
``fault_s`` (SIGKILL and restart of the source, deactivate + activate of the tracker, malformed frames on the
tracker's image topic). It samples the tracker's RSS, threads and file descriptors, counts every request and
whether it was answered, and ends with deactivate, cleanup and shutdown, after which the tracker must exit 0.
"""

from __future__ import annotations

import collections
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from spgrasp_ros.data.recorded import read_sequence
from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic
from spgrasp_ros.msg import GraspArray
from spgrasp_ros.ros import soak_faults as faults
from spgrasp_ros.ros.demo import start_node_process, stop_process
from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError
from spgrasp_ros.ros.service_calls import ServiceCaller, ServiceCallError
from spgrasp_ros.ros.soak_report import FAULT_KINDS, MALFORMED_KINDS, PROMPT_KINDS, SoakConfig
from spgrasp_ros.srv import SetPrompt

# the tracker's /diagnostics keys (tracker_diagnostics.diagnostics_message) -> the report's names
FRAME_KEYS = {"received": "frames received", "processed": "frames processed",
              "dropped": "frames dropped (newer arrived)", "errored": "processing errors",
              "rejected": "frames rejected (unreadable)", "idle": "frames idle (nothing tracked)",
              "prompt_reruns": "prompts on an already published frame"}
_MAX_REFUSAL_TEXTS = 20  # distinct refusal messages kept


class Viewer:
    """What the soak's node receives from the tracker, counted; faults waiting for the next GraspArray."""

    def __init__(self, node, tracker_name: str) -> None:
        self.counts = collections.Counter()  # grasp_arrays, masks, debug_images, diagnostics, stamps_not_increasing
        self.diagnostics: dict[str, str] = {}  # the tracker's last status values
        self.recovery_s: dict[str, list[float]] = {kind: [] for kind in FAULT_KINDS}
        self._waiting: list[tuple[str, int, float]] = []  # (fault kind, ROS time ns, monotonic s) at its start
        self._last_stamp = 0
        self._status_name = f"{tracker_name}: tracker"
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        node.create_subscription(GraspArray, "grasp_poses", self._array_cb, qos)
        node.create_subscription(Image, "spgrasp_tracker/mask", lambda _: self.counts.update(["masks"]), qos)
        node.create_subscription(Image, "spgrasp_tracker/debug_image",
                                 lambda _: self.counts.update(["debug_images"]), qos)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._diagnostics_cb, qos)

    def _array_cb(self, msg: GraspArray) -> None:
        stamp = Time.from_msg(msg.header.stamp).nanoseconds
        self.counts["grasp_arrays"] += 1
        if stamp <= self._last_stamp:
            self.counts["stamps_not_increasing"] += 1
        self._last_stamp = max(stamp, self._last_stamp)
        still = []
        for kind, since_ns, since_s in self._waiting:  # a frame taken after the fault began: recovered
            if stamp > since_ns:
                self.recovery_s[kind].append(time.monotonic() - since_s)
            else:
                still.append((kind, since_ns, since_s))
        self._waiting = still

    def _diagnostics_cb(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == self._status_name:
                self.counts["diagnostics"] += 1
                self.diagnostics = {v.key: v.value for v in status.values}

    def fault_began(self, kind: str, now_ns: int) -> None:
        self._waiting.append((kind, now_ns, time.monotonic()))

    def unrecovered(self, older_than_s: float = 0.0) -> int:
        """Faults still without a GraspArray after them, begun more than ``older_than_s`` ago."""
        return sum(time.monotonic() - since > older_than_s for _, _, since in self._waiting)

    def frames(self) -> dict[str, int | None]:
        """The tracker's frame counters from its last diagnostics (None before any arrived)."""
        return {name: int(self.diagnostics[key]) if key in self.diagnostics else None
                for name, key in FRAME_KEYS.items()}


class Requests:
    """Every service request the soak sends, per kind: sent, answered, unanswered, refused (success false)."""

    def __init__(self, caller: ServiceCaller, prompt_client, timeout_s: float) -> None:
        self._caller, self._prompt_client, self._timeout_s = caller, prompt_client, timeout_s
        self.tally: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.refusals: collections.Counter = collections.Counter()  # message -> count

    def _refused(self, kind: str, message: str) -> None:
        self.tally[kind]["refused"] += 1
        text = f"{kind}: {message}"
        if text in self.refusals or len(self.refusals) < _MAX_REFUSAL_TEXTS:
            self.refusals[text] += 1

    def prompt(self, kind: str, request: SetPrompt.Request) -> SetPrompt.Response | None:
        """Send one prompt (once: prompts are not idempotent); its answer, or None when none came in time."""
        self.tally[kind]["sent"] += 1
        try:
            response = self._caller.call(self._prompt_client, request, self._timeout_s)
        except ServiceCallError as error:
            self.tally[kind]["unanswered"] += 1
            print(f"soak: prompt {kind} unanswered: {error}", flush=True)
            return None
        self.tally[kind]["answered"] += 1
        if not response.success:
            self._refused(kind, response.message)
        return response

    def lifecycle(self, kind: str, transition) -> bool:
        """One lifecycle transition through a LifecycleClient method; True when it succeeded."""
        self.tally[kind]["sent"] += 1
        try:
            transition()
        except LifecycleError as error:
            text = str(error)
            lost = "did not answer" in text or "is not available" in text
            self.tally[kind]["unanswered" if lost else "answered"] += 1
            if lost:
                print(f"soak: {kind} unanswered: {text}", flush=True)
            else:
                self._refused(kind, text)
            return False
        self.tally[kind]["answered"] += 1
        return True

    def figures(self) -> dict:
        total = sum(self.tally.values(), collections.Counter())
        return {"sent": total["sent"], "answered": total["answered"], "unanswered": total["unanswered"],
                "refused": total["refused"], "by_kind": {k: dict(v) for k, v in sorted(self.tally.items())},
                "refusals": dict(self.refusals)}


class Soak:
    """One soak run: the processes, the soak's node and the schedule (``run`` returns the figures)."""

    def __init__(self, config: SoakConfig, clip_dir: Path, boxes: list) -> None:
        self.config, self.out, self._boxes = config, Path(config.out), boxes
        self.node = rclpy.create_node("spgrasp_soak", namespace=config.namespace)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.tracker_name = f"{config.namespace}/spgrasp_tracker"
        self.viewer = Viewer(self.node, self.tracker_name)
        self.caller = ServiceCaller(self.executor)
        self.prompt_client = self.node.create_client(SetPrompt, "set_prompt")
        self.requests = Requests(self.caller, self.prompt_client, config.request_timeout_s)
        self.image_pub = self.node.create_publisher(Image, "image", QoSProfile(depth=1,
                                                                               reliability=ReliabilityPolicy.RELIABLE))
        self.source = faults.SourceProcess(config.namespace, {"source": str(clip_dir), "rate_hz": config.rate_hz,
                                                              "loop": "true", "reliability": "reliable"}, self.out)
        self.tracker: subprocess.Popen | None = None
        self.lifecycle: LifecycleClient | None = None
        self.exited_by_itself = False  # the tracker ended after the final shutdown transition, unprompted
        self.samples: list[dict] = []
        self.events: list[dict] = []
        self.injected = collections.Counter({kind: 0 for kind in FAULT_KINDS})
        self.malformed_sent = collections.Counter({kind: 0 for kind in MALFORMED_KINDS})
        self.tracked: list[int] = []
        self.died: dict | None = None
        self._start_s = time.monotonic()
        self.startup_s = self.shutdown_s = 0.0
        self._prompts = self._faults = 0

    # --- start and end ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Tracker configured and active, source publishing, the first prompt applied."""
        config, began = self.config, time.monotonic()
        self.tracker = start_node_process("spgrasp_ros.nodes.tracker_node", config.namespace,
                                          {"checkpoint": config.checkpoint, "device": config.device,
                                           "image_reliability": "reliable", "use_depth": "false"},
                                          self.out / "tracker.log")
        starting = LifecycleClient(self.node, self.executor, self.tracker_name, timeout_s=config.startup_timeout_s)
        self.lifecycle = LifecycleClient(self.node, self.executor, self.tracker_name,
                                         timeout_s=config.request_timeout_s)
        if not self.requests.lifecycle("configure", starting.configure):
            raise RuntimeError(f"the tracker did not configure; see {self.out / 'tracker.log'}")
        if not self.requests.lifecycle("activate", self.lifecycle.activate):
            raise RuntimeError(f"the tracker did not activate; see {self.out / 'tracker.log'}")
        self.source.start()
        self._spin_until(lambda: self.viewer.counts["grasp_arrays"] > 0, config.startup_timeout_s,
                         f"no GraspArray from the tracker; see {self.out}/tracker.log and video_source.log")
        self._reprompt()
        self._start_s = time.monotonic()
        self.startup_s = self._start_s - began
        print(f"soak: tracker active and tracking after {self.startup_s:.1f} s", flush=True)

    def finish(self, graceful: bool) -> None:
        """``graceful``: wait for recoveries still due, then deactivate, clean up and shut the tracker down (it
        then exits by itself); else only SIGINT it. Then stop the source."""
        began = time.monotonic()
        if graceful and self.died is None:
            self._spin_until(lambda: not self.viewer.unrecovered(), self.config.recovery_timeout_s, None)
            seen = self.viewer.counts["diagnostics"]  # the last fault's frames counted in the final figures
            self._spin_until(lambda: self.viewer.counts["diagnostics"] >= seen + 2, 10.0, None)
            self._sample()
            if all(self.requests.lifecycle(kind, getattr(self.lifecycle, kind))
                   for kind in ("deactivate", "cleanup", "shutdown")):
                try:  # a finalized tracker exits by itself
                    self.tracker.wait(timeout=30.0)
                    self.exited_by_itself = True
                except subprocess.TimeoutExpired:
                    pass
        stop_process(self.tracker)
        self.source.stop()
        self.shutdown_s = time.monotonic() - began

    def close(self) -> None:
        for process in (self.tracker, self.source.process):
            if process is not None and process.poll() is None:
                stop_process(process)
        self.executor.shutdown()
        self.node.destroy_node()

    # --- the schedule ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """The soak loop until ``minutes`` have passed or the tracker died."""
        config = self.config
        end = self._start_s + 60.0 * config.minutes
        next_sample = self._start_s
        next_prompt = self._start_s + config.reprompt_s if config.reprompt_s else float("inf")
        next_fault = self._start_s + config.fault_s if config.fault_s else float("inf")
        progress_s = min(30.0, max(5.0, 6.0 * config.minutes))
        next_progress = self._start_s + progress_s
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.05)
            if self.tracker.poll() is not None:
                self.died = {"at_s": round(self.elapsed(), 1), "exit_code": self.tracker.returncode}
                print(f"soak: the tracker died at {self.elapsed():.0f} s (exit code {self.tracker.returncode}); "
                      f"see {self.out / 'tracker.log'}", flush=True)
                return
            if self.source.restart_if_ended():
                print(f"soak: the video source ended by itself (exit {self.source.unexpected_exits[-1]}); "
                      "restarted", flush=True)
            now = time.monotonic()
            if now >= next_sample:
                self._sample()
                next_sample = _next(next_sample, config.sample_s)
            if now >= next_prompt:
                self._reprompt()
                next_prompt = _next(next_prompt, config.reprompt_s)
            if now >= next_fault:
                self._fault()
                next_fault = _next(next_fault, config.fault_s)
            if now >= next_progress:
                self._progress()
                next_progress = _next(next_progress, progress_s)

    def _reprompt(self) -> None:
        kind = PROMPT_KINDS[self._prompts % len(PROMPT_KINDS)]
        boxes = self._boxes[(7 * self._prompts) % len(self._boxes)]  # another frame's boxes each time
        self._prompts += 1
        response = self.requests.prompt(kind, faults.prompt_request(kind, boxes, self.tracked))
        if response is not None:
            self.tracked = list(response.tracked_ids)

    def _fault(self) -> None:
        kind = FAULT_KINDS[self._faults % len(FAULT_KINDS)]
        self._faults += 1
        began = time.monotonic()
        self.viewer.fault_began(kind, self.node.get_clock().now().nanoseconds)
        if kind == "kill_source":
            self.source.kill_and_restart()
        elif kind == "lifecycle_cycle":
            if self.requests.lifecycle("deactivate", self.lifecycle.deactivate):
                # while inactive a prompt is refused, never left unanswered
                self.requests.prompt("prompt_while_inactive", faults.prompt_request("replace", self._boxes[0], []))
                self.requests.lifecycle("activate", self.lifecycle.activate)
        else:
            self._malformed_frames()
        self.injected[kind] += 1
        self.events.append({"t_s": round(began - self._start_s, 2), "kind": kind,
                            "took_s": round(time.monotonic() - began, 2)})

    def _malformed_frames(self) -> None:
        """Each malformed kind ``malformed_copies`` times, each right after a GraspArray came (the tracker's
        worker is then free, so the frame is taken, not replaced by the next camera frame)."""
        for _ in range(self.config.malformed_copies):
            for kind in MALFORMED_KINDS:
                arrays = self.viewer.counts["grasp_arrays"]
                self._spin_until(lambda: self.viewer.counts["grasp_arrays"] > arrays, 2.0, None)
                header = Header(stamp=self.node.get_clock().now().to_msg(), frame_id="spgrasp_soak_malformed")
                self.image_pub.publish(faults.malformed_frame(kind, header, self.config.size))
                self.malformed_sent[kind] += 1

    # --- measurements ---------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self._start_s

    def _sample(self) -> None:
        sample = {"t_s": round(self.elapsed(), 2), **faults.process_figures(self.tracker.pid),
                  "frames": self.viewer.frames()}
        self.samples.append(sample)

    def _progress(self) -> None:
        last = self.samples[-1] if self.samples else {"rss_mib": None, "frames": {}}
        requests = self.requests.figures()
        rss = "-" if last["rss_mib"] is None else f"{last['rss_mib']:.0f}"
        print(f"soak {self.elapsed() / 60:4.1f}/{self.config.minutes:g} min: tracker RSS {rss} MiB, processed "
              f"{last['frames'].get('processed')}, errored {last['frames'].get('errored')}, rejected "
              f"{last['frames'].get('rejected')}; faults {sum(self.injected.values())}, requests "
              f"{requests['sent']} ({requests['unanswered']} unanswered)", flush=True)

    def _spin_until(self, done, timeout_s: float, error: str | None) -> bool:
        """Spin until ``done()``; after ``timeout_s`` raise RuntimeError(``error``), or return False if None."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                if error is not None:
                    raise RuntimeError(error)
                return False
            self.executor.spin_once(timeout_sec=0.02)
        return True

    def figures(self, duration_s: float, interrupted: bool) -> dict:
        """Everything measured, as the report's JSON tree (the RSS figures and verdict are added by ``soak_report``)."""
        recovery = {kind: {"count": len(v), "median": statistics.median(v), "max": max(v)} if v else
                    {"count": 0, "median": None, "max": None} for kind, v in self.viewer.recovery_s.items()}
        maxima = [v["max"] for v in recovery.values() if v["max"] is not None]
        alive = [s for s in self.samples if s["threads"] is not None]

        def span(key: str) -> dict:
            values = [s[key] for s in alive]
            return {"start": values[0], "end": values[-1], "max": max(values)} if values else {}

        return {
            "duration_s": round(duration_s, 1),
            "startup_s": round(self.startup_s, 1),
            "shutdown_s": round(self.shutdown_s, 1),
            "interrupted": interrupted,
            "frames": self.viewer.frames(),
            "viewer": {k: self.viewer.counts[k] for k in ("grasp_arrays", "masks", "debug_images", "diagnostics",
                                                          "stamps_not_increasing")},
            "requests": self.requests.figures(),
            "faults": {"injected": dict(self.injected), "malformed_sent": dict(self.malformed_sent),
                       "recovery_s": recovery, "max_recovery_s": max(maxima) if maxima else None,
                       "unrecovered": self.viewer.unrecovered(), "events": self.events},
            "tracker": {"alive_throughout": self.died is None, "died": self.died,
                        "exit_code": self.tracker.returncode if self.tracker is not None else None,
                        "exited_by_itself": self.exited_by_itself,
                        "threads": span("threads"), "fds": span("fds"), "log": str(self.out / "tracker.log")},
            "source": {"starts": self.source.starts, "killed": self.source.killed,
                       "unexpected_exits": self.source.unexpected_exits, "exit_code": self.source.exit_code},
            "samples": self.samples,
        }


def _next(due: float, period: float) -> float:
    """The next due time on the ``period`` grid after ``due``, skipping what a long step overran."""
    due += period
    now = time.monotonic()
    return due if due > now else now + period


def run_soak(config: SoakConfig) -> dict:
    """Run the soak; the measured figures (``soak_report.write_report`` adds the verdict and writes the files)."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spgrasp-soak-") as scratch:
        clip_dir = write_synthetic(scratch, 1, SynthConfig(size=config.size, frames=config.frames), config.seed,
                                   progress=False)[0]
        boxes = faults.clip_boxes(read_sequence(clip_dir), config.size)
        print(f"soak: {config.minutes:g} min, clip of {config.frames} frames at {config.rate_hz:g} Hz (looped), "
              f"re-prompt every {config.reprompt_s:g} s, fault every {config.fault_s:g} s; logs in {out}",
              flush=True)
        rclpy.init()
        soak = Soak(config, clip_dir, boxes)
        interrupted = False
        try:
            soak.start()
            try:
                soak.run()
            except (KeyboardInterrupt, ExternalShutdownException):
                interrupted = True
            duration = soak.elapsed()
            soak.finish(graceful=not interrupted)
            return soak.figures(duration, interrupted)
        finally:
            soak.close()
            rclpy.try_shutdown()

