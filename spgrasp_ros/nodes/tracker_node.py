"""``spgrasp_tracker``: the lifecycle node that tracks prompted objects and publishes their grasps every frame.

Transitions (each owns one concern, paired with its inverse):
- configure: read and validate parameters, load the checkpoint onto the device, warm up, create publishers;
  cleanup: drop the model (and CUDA memory) and the publishers.
- activate: subscriptions, the ``set_prompt`` service, the processing thread and the diagnostics timer;
  deactivate: stop them (the model and its tracking state are kept).
The image callback only drops the message into a one-frame slot (``frame_slot.LatestSlot``); a worker thread
takes the newest frame, steps the tracker and publishes, so frames that arrive while the model works are
dropped and counted, never queued. Prompts are applied by the same thread, to the newest received frame.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from spgrasp_ros.msg import GraspArray
from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.conversions import (fail_prompt_response, fill_prompt_response, frame_result_to_msg,
                                           prompt_from_request)
from spgrasp_ros.tracker.intake import LatestSlot
from spgrasp_ros.cameras.stamp_pairing import StampBuffer
from spgrasp_ros.ros.image_messages import (UnsupportedEncoding, compressed_to_rgb, depth_to_metres, image_to_rgb,
                                              intrinsics_from_camera_info, labels_to_mono8, rgb_to_image)
from spgrasp_ros.ros.tracker_diagnostics import TrackerStats, diagnostics_message
from spgrasp_ros.tracker.session import TrackerSession, load_session, load_text_detector, tune_text_detector
from spgrasp_ros.prompts import PromptError
from spgrasp_ros.srv import SetPrompt
from spgrasp_ros.visualize import draw_result

try:  # optional: vision_msgs is not among the PyPI wheels
    from vision_msgs.msg import Detection2DArray

    from spgrasp_ros.ros.detections import detections_message
except ImportError:
    Detection2DArray = None

PARAMETERS = (
    params.ParamSpec("checkpoint", "demo", "bundled model name or checkpoint file path"),
    params.ParamSpec("model_config", "", "model preset or YAML the checkpoint must match ('' = the checkpoint's)"),
    params.ParamSpec("device", "auto", "auto, cpu, cuda or cuda:N"),
    params.ParamSpec("preprocess", "resize", "resize or letterbox", params.one_of("resize", "letterbox")),
    params.ParamSpec("warmup_frames", 2, "frames run through the model at configure", params.in_range(0, 100)),
    params.ParamSpec("image_transport", "raw", "raw (image) or compressed (image/compressed)",
                     params.one_of("raw", "compressed")),
    params.ParamSpec("image_reliability", "best_effort", "QoS reliability of the input subscriptions",
                     params.one_of("best_effort", "reliable")),
    params.ParamSpec("use_depth", True, "subscribe depth + camera_info and add metric poses"),
    params.ParamSpec("depth_sync_tolerance_s", 0.05, "depth with the colour frame's stamp, else the nearest within "
                     "this [s]; none: no metric pose", params.in_range(0.0, 1.0)),
    params.ParamSpec("depth_buffer", 8, "recent depth images kept for pairing by stamp", params.in_range(1, 100)),
    params.ParamSpec("text_model", "", "Grounding DINO folder or cached Hugging Face id for text prompts ('' = off)"),
    params.ParamSpec("text_device", "", "device of the text detector ('' = the tracker's)"),
    params.ParamSpec("text_box_threshold", 0.35, "text prompts: box confidence threshold",
                     params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("text_threshold", 0.25, "text prompts: phrase-token threshold", params.in_range(0.0, 1.0),
                     runtime=True),
    params.ParamSpec("text_max_objects", 1, "text prompts: objects kept per request (best first)",
                     params.in_range(1, 50), runtime=True),
    params.ParamSpec("presence_threshold", 0.5, "visible when presence probability >= this",
                     params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("search_window", 0.1, "masks and grasps only within the last box grown by this x the object's "
                     "size (0 = anywhere)", params.in_range(0.0, 10.0), runtime=True),
    params.ParamSpec("exclusive_masks", True, "each pixel belongs to at most one tracked object (the highest mask "
                     "logit), so no object's grasp or search window lands on another tracked object", runtime=True),
    params.ParamSpec("search_growth", 0.25, "the window grows by this x the object's size per lost frame",
                     params.in_range(0.0, 10.0), runtime=True),
    params.ParamSpec("position_threshold", 0.2, "a grasp peak must exceed this position value",
                     params.in_range(0.0, 1.0), runtime=True),
    params.ParamSpec("mask_threshold", 0.5, "object-mask probability threshold", params.in_range(0.0, 1.0),
                     runtime=True),
    params.ParamSpec("top_k", 5, "grasps per object at most", params.in_range(1, 100), runtime=True),
    params.ParamSpec("readout_window", 5, "a grasp's angle and width: position-weighted means over this odd "
                     "window of map pixels around its peak (1 = the peak pixel)", params.odd_in_range(1, 31),
                     runtime=True),
    params.ParamSpec("stage_timing", False, "time each model stage for /diagnostics (syncs the GPU per stage)",
                     runtime=True),
    params.ParamSpec("publish_debug_image", True, "draw ~/debug_image while someone subscribes", runtime=True),
    params.ParamSpec("diagnostics_period_s", 1.0, "period of /diagnostics [s]", params.in_range(0.05, 60.0)),
    params.ParamSpec("error_log_period_s", 5.0, "at most one log line per this many seconds for repeated errors",
                     params.in_range(0.0, 3600.0), runtime=True),
)
RUNTIME_TUNABLE = tuple(s.name for s in PARAMETERS if s.runtime)


@dataclass
class _PromptJob:
    """A prompt handed from the service callback to the worker, and its answer."""

    request: SetPrompt.Request
    response: SetPrompt.Response
    done: threading.Event


class TrackerNode(LifecycleNode):
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
        self._depths: StampBuffer[Image] = StampBuffer()
        self._camera_info: CameraInfo | None = None
        self._prompt_jobs: LatestSlot[_PromptJob] = LatestSlot()
        self._stats = TrackerStats()
        self._rejected_encodings: set[str] = set()
        self._worker: threading.Thread | None = None
        self._running = threading.Event()
        self._lifecycle_pubs, self._subscriptions_live, self._service, self._timer = [], [], None, None
        self.finalized = False  # set by on_shutdown; main() then exits

    # --- lifecycle -----------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._settings = params.read(self, PARAMETERS)
            self._depths = StampBuffer(self._settings["depth_buffer"])
            self._session = load_session(self._settings, self.get_logger())
            self._detector = load_text_detector(self._settings, self._session.tracker.device)
        except Exception as error:  # rclpy swallows exceptions raised in transitions: report them ourselves
            self.get_logger().error(f"configure failed: {error}")
            self.get_logger().debug(traceback.format_exc())
            self._session = None
            return TransitionCallbackReturn.FAILURE
        self._grasp_pub = self.create_lifecycle_publisher(GraspArray, "grasp_poses", 10)
        self._mask_pub = self.create_lifecycle_publisher(Image, "~/mask", 2)
        self._debug_pub = self.create_lifecycle_publisher(Image, "~/debug_image", 2)
        self._diag_pub = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        self._lifecycle_pubs = [self._grasp_pub, self._mask_pub, self._debug_pub, self._diag_pub]
        self._detection_pub = None
        if Detection2DArray is not None:
            self._detection_pub = self.create_lifecycle_publisher(Detection2DArray, "~/detections", 10)
            self._lifecycle_pubs.append(self._detection_pub)
        self.get_logger().info(f"configured: {self._session.describe()}")
        return super().on_configure(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        for publisher in self._lifecycle_pubs:
            self.destroy_lifecycle_publisher(publisher)
        self._lifecycle_pubs = []
        self._session.release()
        self._session = None
        self._detector = None
        self._frames.clear()
        return super().on_cleanup(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                         reliability=ReliabilityPolicy.RELIABLE if self._settings["image_reliability"] == "reliable"
                         else ReliabilityPolicy.BEST_EFFORT)
        if self._settings["image_transport"] == "compressed":
            self._subscriptions_live = [self.create_subscription(CompressedImage, "image/compressed", self._image_cb, qos)]
        else:
            self._subscriptions_live = [self.create_subscription(Image, "image", self._image_cb, qos)]
        if self._settings["use_depth"]:
            self._subscriptions_live += [self.create_subscription(Image, "depth", self._depth_cb, qos),
                                         self.create_subscription(CameraInfo, "camera_info", self._camera_info_cb, qos)]
        self._service = self.create_service(SetPrompt, "set_prompt", self._set_prompt_cb)
        self._frames.reopen()
        self._prompt_jobs.reopen()
        self._running.set()
        self._worker = threading.Thread(target=self._work, name="spgrasp_tracker_worker", daemon=True)
        self._worker.start()
        self._timer = self.create_timer(self._settings["diagnostics_period_s"], self._diagnostics_cb)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_processing()
        return super().on_deactivate(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_processing()
        if self._session is not None:
            self._session.release()
            self._session = None
        self.finalized = True
        return super().on_shutdown(state)

    def _stop_processing(self) -> None:
        self._running.clear()
        self._frames.close()
        self._prompt_jobs.close()
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        for subscription in self._subscriptions_live:
            self.destroy_subscription(subscription)
        self._subscriptions_live = []
        if self._service is not None:
            self.destroy_service(self._service)
            self._service = None
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    # --- callbacks (executor thread): hand over, never process ------------------------------------------------
    def _image_cb(self, msg: Image | CompressedImage) -> None:
        self._frames.put(msg)

    def _depth_cb(self, msg: Image) -> None:
        self._depths.put(Time.from_msg(msg.header.stamp).nanoseconds, msg)

    def _camera_info_cb(self, msg: CameraInfo) -> None:
        self._camera_info = msg

    def _set_prompt_cb(self, request: SetPrompt.Request, response: SetPrompt.Response) -> SetPrompt.Response:
        session = self._session
        tracked = session.tracker.object_ids if session else []
        job = _PromptJob(request, response, threading.Event())
        self._prompt_jobs.put(job)
        if not job.done.wait(timeout=30.0):
            return fail_prompt_response(response, "the tracker did not answer within 30 s", tracked)
        return job.response

    def _parameters_changed_cb(self, parameters) -> None:
        if self._session is not None and any(p.name in RUNTIME_TUNABLE for p in parameters):
            self._settings = params.read(self, PARAMETERS)
            self._session.tune(self._settings)
            if self._detector is not None:
                tune_text_detector(self._detector, self._settings)

    def _diagnostics_cb(self) -> None:
        session = self._session
        self._diag_pub.publish(diagnostics_message(self.get_name(), self.get_clock().now().to_msg(), self._stats,
                                                   self._frames.counts, session))

    # --- the worker thread ------------------------------------------------------------------------------------
    def _work(self) -> None:
        while self._running.is_set():
            job = self._prompt_jobs.take(timeout=0.0)
            if job is not None:
                self._apply_prompt(job)
                continue
            msg = self._frames.take(timeout=0.05)
            if msg is not None and self._session.tracker.object_ids:
                self._process(msg)
            elif msg is not None:
                self._stats.idle_frames += 1

    def _decode(self, msg: Image | CompressedImage) -> np.ndarray | None:
        """The message as HxWx3 RGB, or None (warned once per encoding) when it cannot be read."""
        if isinstance(msg, CompressedImage):
            return compressed_to_rgb(msg)
        try:
            return image_to_rgb(msg)
        except UnsupportedEncoding as error:
            converted = _convert_with_cv_bridge(msg)
            if converted is None:
                self._stats.rejected_frames += 1
                if msg.encoding not in self._rejected_encodings:
                    self._rejected_encodings.add(msg.encoding)
                    self.get_logger().warning(f"{error}; frames in this encoding are dropped (cv_bridge is not "
                                              "installed to convert them)")
            return converted

    def _process(self, msg: Image | CompressedImage, prompt=None, rgb: np.ndarray | None = None):
        """Step the tracker on one message (``rgb``: the message already decoded) and publish; returns the
        TrackerOutput or None."""
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
        self._publish(msg.header, rgb, output)
        self._stats.record(output.result, (time.perf_counter() - received) * 1000.0, msg.header.stamp,
                           self.get_clock().now())
        return output

    def _apply_prompt(self, job: _PromptJob) -> None:
        tracker = self._session.tracker
        msg = self._frames.latest()
        try:
            if msg is None:
                raise PromptError("no image received yet: a prompt applies to the newest frame")
            prompt, rgb = prompt_from_request(job.request), None
            if prompt.text:
                prompt, rgb = self._resolve_text(prompt, msg)
            output = self._process(msg, prompt, rgb)
            if output is None:
                raise PromptError("the newest frame could not be processed (see the node's log)")
            states = {s.id: s for s in output.result.objects}
            # a box prompt uses its box; clicks use the box of the mask they produced
            created = [(i, p, tuple(p.box) if p.box is not None else states[i].bbox)
                       for i, p in zip(output.created_ids, prompt.objects())]
            what = f"tracking {len(tracker.object_ids)} object(s)" if tracker.object_ids else "tracking cleared"
            fill_prompt_response(job.response, msg.header, created, tracker.object_ids, what)
        except PromptError as error:
            fail_prompt_response(job.response, str(error), tracker.object_ids)
        job.done.set()

    def _resolve_text(self, prompt, msg):
        """(the prompt with its text replaced by the detector's boxes on ``msg``, ``msg`` decoded);
        PromptError when impossible."""
        if self._detector is None:
            raise PromptError("text prompts need a Grounding DINO model: set the text_model parameter "
                              "(a folder or a cached Hugging Face id) and configure again")
        try:
            rgb = self._decode(msg)
        except ValueError as error:
            raise PromptError(f"the newest frame cannot be read: {error}") from error
        if rgb is None:
            raise PromptError("the newest frame cannot be read (unsupported encoding)")
        try:
            detections = self._detector.detect(rgb, prompt.text)
        except ValueError as error:
            raise PromptError(f"text prompt {prompt.text!r}: {error}") from error
        return prompt.resolve_text(detections), rgb

    def _depth_for(self, msg) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
        """(depth [m], intrinsics) matching the frame, or None (no depth, no intrinsics, or too far in time)."""
        if not self._settings["use_depth"]:
            return None
        info = self._camera_info
        tolerance_ns = int(self._settings["depth_sync_tolerance_s"] * 1e9)
        depth = self._depths.match(Time.from_msg(msg.header.stamp).nanoseconds, tolerance_ns)
        if depth is None or info is None:
            self._stats.frames_without_depth += 1
            if len(self._depths) or info is not None:  # depth flows but did not pair: worth a word
                self.get_logger().warning(
                    f"no {'camera_info' if info is None else 'depth image'} for the frame stamped "
                    f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d} (tolerance "
                    f"{self._settings['depth_sync_tolerance_s']} s): grasps without metric pose",
                    throttle_duration_sec=self._settings["error_log_period_s"])
            return None
        try:
            return depth_to_metres(depth), intrinsics_from_camera_info(info)
        except ValueError as error:
            self.get_logger().warning(f"depth not used: {error}", throttle_duration_sec=30.0)
            return None

    def _publish(self, header: Header, rgb: np.ndarray, output) -> None:
        self._grasp_pub.publish(frame_result_to_msg(output.result, header))
        if self._mask_pub.get_subscription_count():
            self._mask_pub.publish(labels_to_mono8(output.label_image(), header))
        if self._settings["publish_debug_image"] and self._debug_pub.get_subscription_count():
            self._debug_pub.publish(rgb_to_image(draw_result(rgb, output.result, output.masks), header))
        if self._detection_pub is not None:
            self._detection_pub.publish(detections_message(output.result, header))


def _convert_with_cv_bridge(msg: Image) -> np.ndarray | None:
    """Other encodings through cv_bridge where it is installed (never for the supported ones)."""
    try:
        from cv_bridge import CvBridge
    except ImportError:
        return None
    try:
        return np.ascontiguousarray(CvBridge().imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except Exception:
        return None


def main(args: list[str] | None = None) -> None:
    """``ros2 run spgrasp_ros spgrasp_tracker``: the node, unconfigured until a launch file or client drives it."""
    rclpy.init(args=args)
    from spgrasp_ros.ros.spin import spin_until_shutdown
    node = TrackerNode()
    spin_until_shutdown(node, until=lambda: node.finalized)


if __name__ == "__main__":
    main()
