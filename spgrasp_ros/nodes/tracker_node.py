"""``spgrasp_tracker``: the lifecycle node that tracks prompted objects and publishes their grasps every frame.

Transitions (each owns one concern, paired with its inverse):
- configure: read and validate parameters, load the checkpoint onto the device, warm up, create publishers;
  cleanup: drop the model (and CUDA memory) and the publishers.
- activate: subscriptions, the ``set_prompt`` service, the processing thread and the diagnostics timer;
  deactivate: stop them (the model and its tracking state are kept; waiting prompts are refused).
One worker thread does everything that touches the model (frames, prompts, parameter changes), so the model
stays single-threaded. The image callback only drops the message into a one-frame slot
(``tracker.intake.LatestSlot``): frames that arrive while the model works are dropped and counted, never
queued. Prompts wait for the worker in a bounded FIFO (``tracker.intake.PromptQueue``): each one is answered
in order, or refused at once when ``max_pending_prompts`` already wait; a prompt is applied to the newest
received frame (see ``_apply_prompt``; a prompt that would track more than ``max_objects`` is refused at once).
The ``set_prompt`` service has its own callback group and the node spins on a MultiThreadedExecutor, so a long
prompt (a text detection) does not hold up images, parameters, lifecycle requests or diagnostics. Every frame
gets one GraspArray (empty while nothing is tracked), stamped as the image; /diagnostics runs on the steady
clock and its level comes from a recent window (``ros.tracker_diagnostics.RecentHealth``).
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from spgrasp_ros.msg import GraspArray
from spgrasp_ros.prompts import PromptError
from spgrasp_ros.ros import conversions, image_messages
from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.conversions import fail_prompt_response
from spgrasp_ros.ros.depth_pairing import DepthPairing, DepthWarnings
from spgrasp_ros.ros.frame_gate import FrameGate
from spgrasp_ros.ros.lifecycle_guard import GuardedLifecycleNode
from spgrasp_ros.ros.reply_resend import resend_lost_replies
from spgrasp_ros.ros.sim_time_watch import SimTimeWatch
from spgrasp_ros.ros.spin import failed_transition, run_node
from spgrasp_ros.ros.tracker_diagnostics import HealthRules, RecentHealth, TrackerStats, diagnostics_message
from spgrasp_ros.ros.tracker_parameters import EXECUTOR_THREADS, PARAMETERS, PROMPT_REQUESTS_HELD, RUNTIME_TUNABLE
from spgrasp_ros.srv import SetPrompt
from spgrasp_ros.text.settings import load_text_detector, resolve_text_prompt, tune_text_detector
from spgrasp_ros.tracker.intake import LatestSlot, PromptQueue, Ticket
from spgrasp_ros.tracker.session import TrackerSession, load_session
from spgrasp_ros.visualize import draw_result

try:  # optional: vision_msgs is not among the PyPI wheels
    from vision_msgs.msg import Detection2DArray

    from spgrasp_ros.ros.detections import detections_message
except ImportError:
    Detection2DArray = None
try:  # in every ROS install and among the pinned wheels; optional all the same (a minimal robot image)
    from visualization_msgs.msg import MarkerArray

    from spgrasp_ros.ros.markers import grasp_markers
except ImportError:
    MarkerArray = None

PromptJob = tuple[SetPrompt.Request, SetPrompt.Response]  # what waits in the prompt queue


class TrackerNode(GuardedLifecycleNode):
    """SPGrasp tracking as a ROS 2 lifecycle node (see the module docstring)."""

    def __init__(self, node_name: str = "spgrasp_tracker", **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        params.declare(self, PARAMETERS)
        self.add_on_set_parameters_callback(params.validator(PARAMETERS, frozen=lambda: self._session is not None))
        self.add_post_set_parameters_callback(self._parameters_changed_cb)
        self._session: TrackerSession | None = None
        self._detector = None  # the Grounding DINO text detector, when text_model is set
        self._settings: dict = {}
        self._frames: LatestSlot[Image | CompressedImage] = LatestSlot()
        self._tuning: LatestSlot[dict] = LatestSlot()  # changed settings, applied by the worker
        self._depth = DepthPairing()
        self._prompts: PromptQueue[PromptJob] | None = None
        self._applying: Ticket[PromptJob] | None = None  # the prompt the worker is applying
        self._stats = TrackerStats()
        self._health = RecentHealth()
        self._last_image_at = time.monotonic()  # when the last image arrived (activation, before any did)
        self._published = 0  # GraspArrays published since activation: the next one's frame_index
        self._depth_words = DepthWarnings(self.resolve_topic_name)
        self._sim_time = SimTimeWatch(self)
        self._gate = FrameGate()  # malformed and unreadable frames: dropped, counted, said once
        self._worker: threading.Thread | None = None
        self._running = threading.Event()
        self._lifecycle_pubs, self._subscriptions_live, self._service, self._timer = [], [], None, None
        self._prompt_calls, self._calls_lock = 0, threading.Lock()  # prompt callbacks in flight
        self.finished = False  # set by on_shutdown; run_node then exits

    # --- lifecycle -----------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read and check the parameters, load the model and text detector, make the publishers and service."""
        try:
            self._settings = params.read(self, PARAMETERS)
            self._depth = DepthPairing(self._settings["depth_buffer"])
            self._health = RecentHealth(HealthRules.from_settings(self._settings))
            self._session = load_session(self._settings, self.get_logger())
            self._detector = load_text_detector(self._settings, self._session.tracker.device)
            self._session.detector = self._detector  # lost text-prompted objects are looked for again
        except Exception as error:
            self._release_model()
            return failed_transition(self, "configure", error)
        self._tuning.clear()
        self._prompts = PromptQueue(self._settings["max_pending_prompts"])
        self._prompts.close("not applied: the tracker is not active")  # until activate
        # the service lives as long as the configuration: prompts that arrive while inactive are refused, and
        # a deactivation never destroys it under a prompt callback still answering; its own group: a prompt
        # callback waits for the worker while the default group's callbacks go on
        self._service = resend_lost_replies(self.create_service(
            SetPrompt, "set_prompt", self._set_prompt_cb, qos_profile=QoSProfile(depth=PROMPT_REQUESTS_HELD),
            callback_group=ReentrantCallbackGroup()))
        self._grasp_pub = self.create_lifecycle_publisher(GraspArray, "grasp_poses", 10)
        self._mask_pub = self.create_lifecycle_publisher(Image, "~/mask", 2)
        self._debug_pub = self.create_lifecycle_publisher(Image, "~/debug_image", 2)
        self._diag_pub = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        self._lifecycle_pubs = [self._grasp_pub, self._mask_pub, self._debug_pub, self._diag_pub]
        self._detection_pub = self._marker_pub = None
        if Detection2DArray is not None:
            self._detection_pub = self.create_lifecycle_publisher(Detection2DArray, "~/detections", 10)
            self._lifecycle_pubs.append(self._detection_pub)
        if MarkerArray is not None:
            self._marker_pub = self.create_lifecycle_publisher(MarkerArray, "~/markers", 2)
            self._lifecycle_pubs.append(self._marker_pub)
        self.get_logger().info(f"configured: {self._session.describe()}")
        params.set_configure_time_read_only(self, PARAMETERS, True)
        return super().on_configure(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Undo configure: the service, the publishers, the model (CUDA memory back to the device)."""
        self._destroy_service()
        for publisher in self._lifecycle_pubs:
            self.destroy_lifecycle_publisher(publisher)
        self._lifecycle_pubs = []
        self._prompts = None
        self._release_model()
        self._frames.clear()
        params.set_configure_time_read_only(self, PARAMETERS, False)
        return super().on_cleanup(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscriptions, the worker thread and the diagnostics timer go live; prompts are accepted."""
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                         reliability=ReliabilityPolicy.RELIABLE if self._settings["image_reliability"] == "reliable"
                         else ReliabilityPolicy.BEST_EFFORT)
        if self._settings["image_transport"] == "compressed":
            self._subscriptions_live = [self.create_subscription(CompressedImage, "image/compressed",
                                                                 self._image_cb, qos)]
        else:
            self._subscriptions_live = [self.create_subscription(Image, "image", self._image_cb, qos)]
        if self._settings["use_depth"]:
            self._subscriptions_live += [
                self.create_subscription(Image, "depth", self._depth_cb, qos),
                self.create_subscription(CameraInfo, "camera_info", self._camera_info_cb, qos)]
        self._frames.reopen()
        self._prompts.reopen()
        self._published, self._last_image_at = 0, time.monotonic()
        self._running.set()
        self._worker = threading.Thread(target=self._work, name="spgrasp_tracker_worker", daemon=True)
        self._worker.start()
        # on the steady clock: diagnostics go on (and say STALE) with use_sim_time and no /clock
        self._timer = self.create_timer(self._settings["diagnostics_period_s"], self._diagnostics_cb,
                                        clock=Clock(clock_type=ClockType.STEADY_TIME))
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop processing (the model and its tracking state are kept; waiting prompts are refused)."""
        self._stop_processing()
        return super().on_deactivate(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop processing, free the model; the process then exits."""
        self._stop_processing()
        self._release_model()
        self.finished = True
        return super().on_shutdown(state)

    def destroy_node(self) -> None:
        """Also on Ctrl-C without transitions: stop the worker (refusing waiting prompts), free the model."""
        self._stop_processing()
        self._release_model()
        super().destroy_node()

    def _destroy_service(self) -> None:
        """After the prompt callbacks in flight have answered (they answer at once while inactive)."""
        deadline = time.monotonic() + 2.0
        while self._prompt_calls and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._service is not None:
            self.destroy_service(self._service)
            self._service = None

    def _release_model(self) -> None:
        if self._session is not None:
            self._session.release()
        self._session = self._detector = None
        self._tuning.clear()

    def _stop_processing(self) -> None:
        self._running.clear()
        self._frames.close()
        if self._prompts is not None:
            self._prompts.close("not applied: the tracker is deactivating")
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        for subscription in self._subscriptions_live:
            self.destroy_subscription(subscription)
        self._subscriptions_live = []
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    # --- callbacks (executor threads): hand over, never process -----------------------------------------------
    def _image_cb(self, msg: Image | CompressedImage) -> None:
        self._last_image_at = time.monotonic()
        if self._gate.admit(msg, self.get_logger()):  # a malformed one never becomes the newest frame
            self._frames.put(msg)

    def _depth_cb(self, msg: Image) -> None:
        self._depth.put_depth(msg)

    def _camera_info_cb(self, msg: CameraInfo) -> None:
        self._depth.put_info(msg)

    def _set_prompt_cb(self, request: SetPrompt.Request, response: SetPrompt.Response) -> SetPrompt.Response:
        """Queue the prompt for the worker and wait for its answer (or its refusal)."""
        with self._calls_lock:
            self._prompt_calls += 1
        try:
            return self._answer_prompt(request, response)
        finally:
            with self._calls_lock:
                self._prompt_calls -= 1
                self._stats.prompts_answered += 1

    def _answer_prompt(self, request: SetPrompt.Request, response: SetPrompt.Response) -> SetPrompt.Response:
        queue = self._prompts
        if queue is None:
            return fail_prompt_response(response, "not applied: the tracker is not configured", self._tracked())
        too_many = conversions.too_many_objects(request, self._settings["max_objects"])
        if too_many:  # at once: such a prompt would hold the worker for long
            return fail_prompt_response(response, too_many, self._tracked())
        ticket = queue.submit((request, response), closed_reason="not applied: the tracker is not active")
        timeout = self._settings["prompt_timeout_s"]
        deadline = time.monotonic() + timeout
        while not ticket.wait(timeout=0.1):
            if not self.context.ok():
                queue.cancel(ticket, "not applied: the node is shutting down")
                return fail_prompt_response(SetPrompt.Response(), "not applied: the node is shutting down",
                                            self._tracked())
            if time.monotonic() > deadline:  # still in line: never applied; being applied: wait for it
                queue.cancel(ticket, f"not applied: it waited {timeout:g} s behind earlier prompts "
                                     "(prompt_timeout_s)")
        if ticket.refusal is not None:
            return fail_prompt_response(SetPrompt.Response(), ticket.refusal, self._tracked())
        return ticket.answer

    def _tracked(self) -> list[int]:
        return list(session.tracker.object_ids) if (session := self._session) is not None else []  # one read

    def _parameters_changed_cb(self, parameters) -> None:
        if self._session is not None and any(p.name in RUNTIME_TUNABLE for p in parameters):
            self._settings = params.read(self, PARAMETERS)
            self._health.rules = HealthRules.from_settings(self._settings)
            self._tuning.put(self._settings)  # the worker applies it before its next frame or prompt

    def _diagnostics_cb(self) -> None:
        queue = self._prompts
        now = time.monotonic()
        self._diag_pub.publish(diagnostics_message(
            self.get_fully_qualified_name(), self.get_clock().now().to_msg(), self._stats, self._frames.counts,
            self._session, self._health, now, now - self._last_image_at, rejected_frames=self._gate.rejected,
            prompts_waiting=len(queue) if queue is not None else 0, prompt_applying=self._applying is not None))

    # --- the worker thread: the only one that touches the model ------------------------------------------------
    def _work(self) -> None:
        while self._running.is_set():
            try:
                self._work_once()
            except Exception as error:  # a publish raced the end of rclpy's context, or a bug: never die
                if not self.context.ok():
                    return
                self._stats.errors += 1
                self.get_logger().error(f"worker: {error!r}",
                                        throttle_duration_sec=self._settings["error_log_period_s"])

    def _work_once(self) -> None:
        """One prompt, else one frame; changed settings apply right before the model runs for either (for a
        prompt in ``_apply_prompt``, so that it is answered whatever happens)."""
        ticket = self._prompts.take(timeout=0.0)
        if ticket is not None:
            self._applying = ticket
            try:
                self._apply_prompt(ticket)
            finally:
                self._applying = None
            return
        msg = self._frames.take(timeout=0.05)
        if msg is not None and self._session.tracker.object_ids:
            self._retune()
            self._process(msg)
        elif msg is not None:
            self._publish_idle(msg)

    def _retune(self) -> None:
        """Apply changed settings (if any) before the model runs again."""
        settings = self._tuning.take(timeout=0.0)
        if settings is not None:
            self._session.tune(settings)
            if self._detector is not None:
                tune_text_detector(self._detector, settings)

    def _decode(self, msg: Image | CompressedImage) -> np.ndarray | None:
        """The message as HxWx3 RGB, or None (counted; said once per kind) when it cannot be read."""
        return self._gate.decode(msg, self.get_logger())

    def _process(self, msg: Image | CompressedImage, prompt=None, rgb: np.ndarray | None = None,
                 publish: bool = True):
        """Step the tracker on one message (``rgb``: the message already decoded) and publish (unless not
        ``publish``: a prompt applied to a frame already published); returns the TrackerOutput or None."""
        received = time.perf_counter()
        try:
            rgb = self._decode(msg) if rgb is None else rgb
            if rgb is None:
                return None
            output = self._session.step(rgb, prompt, self._depth_for(msg))
        except PromptError:
            raise
        except Exception as error:
            self._stats.errors += 1
            self.get_logger().error(f"frame {self._stats.processed + 1} failed: {error}",
                                    throttle_duration_sec=self._settings["error_log_period_s"])
            return None
        if not publish:
            self._stats.prompt_reruns += 1
            return output
        self._publish(msg.header, rgb, output)
        self._stats.record(output.result, (time.perf_counter() - received) * 1000.0, msg.header.stamp,
                           self.get_clock().now())
        return output

    def _apply_prompt(self, ticket: Ticket[PromptJob]) -> None:
        """Apply one prompt and answer it; a refused or failed prompt changes nothing. Clearing and removing
        need no frame; new objects start on the newest frame, which is published with them unless it was
        published already (each stamp once: they appear from the next frame on)."""
        request, response = ticket.item
        tracker = self._session.tracker
        try:
            self._retune()  # inside: a failure here is answered like any other
            prompt = conversions.prompt_from_request(request)
            if prompt.creates_nothing:
                self._session.apply_without_frame(prompt)
                latest = self._frames.latest()
                conversions.fill_prompt_response(response, latest.header if latest is not None else Header(), [],
                                                 tracker.object_ids, self._tracking_line(tracker))
                ticket.finish(response)
                return
            msg, fresh = self._frames.take_newest()
            if msg is None:
                raise PromptError("no image received yet: a prompt applies to the newest frame")
            rgb = None
            if prompt.text:  # the detector's boxes on the newest frame
                rgb = self._decode(msg)
                prompt = resolve_text_prompt(self._detector, prompt, rgb)
            total, limit = prompt.tracked_after(tracker.object_ids), self._settings["max_objects"]
            if total > limit:
                raise PromptError(f"refused: it would track {total} objects, at most max_objects={limit} may be "
                                  "tracked at once")
            output = self._process(msg, prompt, rgb, publish=fresh)
            if output is None:
                raise PromptError("the newest frame could not be processed (see the node's log)")
            states = {s.id: s for s in output.result.objects}
            # a box prompt uses its box; clicks use the box of the mask they produced
            created = [(i, p, tuple(p.box) if p.box is not None else states[i].bbox)
                       for i, p in zip(output.created_ids, prompt.objects())]
            conversions.fill_prompt_response(response, msg.header, created, tracker.object_ids,
                                             self._tracking_line(tracker))
        except PromptError as error:
            fail_prompt_response(response, str(error), tracker.object_ids)
        except Exception as error:  # a bug must not leave the caller waiting or end the worker
            self.get_logger().error(f"prompt failed: {error!r}")
            fail_prompt_response(response, f"prompt failed: {error!r} (see the node's log)", tracker.object_ids)
        ticket.finish(response)

    @staticmethod
    def _tracking_line(tracker) -> str:
        return f"tracking {len(tracker.object_ids)} object(s)" if tracker.object_ids else "tracking cleared"

    def _publish_idle(self, msg: Image | CompressedImage) -> None:
        """Nothing is tracked: an empty GraspArray for the frame ("tracking nothing", not "tracker dead")."""
        received = time.perf_counter()
        rgb = self._decode(msg)
        if rgb is None:
            return
        self._stats.idle_frames += 1
        self._publish_array(conversions.empty_grasp_array(msg.header, rgb.shape[1], rgb.shape[0], 0,
                                                          (time.perf_counter() - received) * 1000.0))

    def _depth_for(self, msg) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
        """(depth [m], intrinsics) matching the frame, or None (no depth, no intrinsics, or too far in time)."""
        if not self._settings["use_depth"]:
            return None
        paired = self._depth.pair(msg.header, self._settings["depth_sync_tolerance_s"])
        self._stats.frames_without_depth += bool(paired.missing)
        self._depth_words.say(paired, msg.header, self.get_logger(), self._settings)
        return paired.depth

    def _publish_array(self, array: GraspArray) -> None:
        """A frame's GraspArray, numbered since activation, and its rviz markers while someone subscribes."""
        array.frame_index, self._published = self._published, self._published + 1
        self._grasp_pub.publish(array)
        if self._marker_pub is not None and self._marker_pub.get_subscription_count():
            self._marker_pub.publish(grasp_markers(array, self._settings["markers_per_object"]))

    def _publish(self, header: Header, rgb: np.ndarray, output) -> None:
        self._publish_array(conversions.frame_result_to_msg(output.result, header))
        if self._mask_pub.get_subscription_count():
            self._mask_pub.publish(image_messages.labels_to_mono16(output.label_image(), header))
        if self._settings["publish_debug_image"] and self._debug_pub.get_subscription_count():
            overlay = draw_result(rgb, output.result, output.masks)
            self._debug_pub.publish(image_messages.rgb_to_image(overlay, header))
        if self._detection_pub is not None:
            self._detection_pub.publish(detections_message(output.result, header))


def main(args: list[str] | None = None) -> int:
    """``ros2 run spgrasp_ros spgrasp_tracker``: the node, unconfigured until a launch file or client drives it."""
    return run_node(TrackerNode, args, executor=lambda: MultiThreadedExecutor(num_threads=EXECUTOR_THREADS))


if __name__ == "__main__":
    sys.exit(main())
