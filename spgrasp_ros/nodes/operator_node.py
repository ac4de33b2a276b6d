"""``operator_node``: the operator's web page, to point at objects in a browser and watch the grasps live.

A lifecycle node. configure: read the parameters and start serving the page (``spgrasp_ros.operator``) on
``host:port``; an address that cannot be bound fails the transition, naming it. activate: subscribe the camera
``image`` (or ``image/compressed``), ``grasp_poses``, the tracker's ``<tracker_node>/mask``, ``/diagnostics``
and the bridge's ``<bridge_node>/markers``; the page's requests are acted on. deactivate: the page stays up
and says so; its requests are refused. cleanup: the page goes.

Each camera frame whose GraspArray has come goes to the pages as a JPEG with that GraspArray (and then the
mask overlay of the same stamp), at most ``max_image_rate_hz`` and ``max_image_width`` px wide, only while a
page is open; without GraspArrays for ``raw_image_fallback_s`` the bare images go instead. A page's prompts
become ``set_prompt`` calls, its arm buttons ``<bridge_node>/enable`` calls; every request gets one reply
(the service's answer, its refusal, or why it was not sent). On an address other than loopback a token is
required (generated unless ``token`` is set) and the URL to open is logged. Parameters: ``config/operator.yaml``.
"""

from __future__ import annotations

import collections
import secrets
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.srv import GetState
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import SetBool
from visualization_msgs.msg import MarkerArray

from spgrasp_ros.msg import GraspArray
from spgrasp_ros.operator.frame_packets import frame_packet, grasp_summary, mask_packet, stamp_ns
from spgrasp_ros.operator.page_requests import ArmAction, PageLimits, PageRequest
from spgrasp_ros.operator.web_server import OperatorServer, ServerSettings, is_loopback
from spgrasp_ros.ros import image_messages
from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.lifecycle_guard import GuardedLifecycleNode
from spgrasp_ros.ros.operator_calls import PendingCalls, prompt_reply, set_prompt_request
from spgrasp_ros.ros.operator_status import ArmStatus, TrackerStatus
from spgrasp_ros.ros.parameters import ParamSpec, in_range, one_of
from spgrasp_ros.ros.spin import failed_transition, run_node
from spgrasp_ros.srv import SetPrompt

NODE_NAME = "operator_node"
_DEFAULTS = ServerSettings()
PARAMETERS = (
    ParamSpec("host", _DEFAULTS.host, "address to serve the page on; any other than loopback (127.0.0.1, ::1) "
              "requires a token", params.not_blank),
    ParamSpec("port", _DEFAULTS.port, "TCP port of the page (0 = any free port, logged)", in_range(0, 65535)),
    ParamSpec("token", "", "the token every request must carry; '' = none on loopback, generated (and logged "
              "in the URL) on other addresses"),
    ParamSpec("max_clients", _DEFAULTS.max_clients, "pages open at once, at most", in_range(1, 64)),
    ParamSpec("requests_per_s", _DEFAULTS.requests_per_s, "requests a page may make per second (after a burst)",
              in_range(0.1, 100.0)),
    ParamSpec("request_burst", _DEFAULTS.request_burst, "requests a page may make at once", in_range(1, 100)),
    ParamSpec("max_pending_requests", 16, "requests waiting for an answer, all pages together; more are refused",
              in_range(1, 256)),
    ParamSpec("request_timeout_s", 30.0, "a request unanswered this long is answered 'timed out' [s]",
              in_range(0.5, 600.0)),
    ParamSpec("image_transport", "raw", "subscribe `image` (raw) or `image/compressed`", one_of("raw", "compressed")),
    ParamSpec("image_reliability", "best_effort", "QoS reliability of the image subscription",
              one_of("reliable", "best_effort")),
    ParamSpec("max_image_rate_hz", 15.0, "frames sent to the pages per second, at most", in_range(0.5, 60.0)),
    ParamSpec("max_image_width", 960, "frames are shrunk to at most this width [px] for the page",
              in_range(64, 4096)),
    ParamSpec("jpeg_quality", 80, "JPEG quality of the frames sent to the page", in_range(10, 100)),
    ParamSpec("raw_image_fallback_s", 1.0, "with no GraspArray for this long, frames go without grasps [s]",
              in_range(0.1, 60.0)),
    ParamSpec("tracker_node", "spgrasp_tracker", "the tracker's node name (its ~/mask and diagnostics)",
              params.not_blank),
    ParamSpec("bridge_node", "r1_grasp_bridge", "the arm bridge's node name (its ~/enable, get_state, ~/markers)",
              params.not_blank),
    ParamSpec("state_period_s", 0.5, "how often the pages get the tracker's and the arm's state [s]",
              in_range(0.05, 10.0)),
)
IMAGES_KEPT = 8  # images waiting for their GraspArray, by stamp


class OperatorNode(GuardedLifecycleNode):
    """The operator page as a ROS 2 lifecycle node (see the module docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        params.declare(self, PARAMETERS)
        self.add_on_set_parameters_callback(params.validator(PARAMETERS, frozen=lambda: self._server is not None))
        self._server: OperatorServer | None = None
        self._settings: dict = {}
        self._inbox: collections.deque[tuple[int, PageRequest]] = collections.deque()
        self._images: collections.OrderedDict[int, Image | CompressedImage] = collections.OrderedDict()
        self._live, self._timers = [], []
        self._active = False
        self._sent_stamp, self._sent_at, self._grasps_at = None, 0.0, 0.0
        self._state_call = None  # (future, sent at) of the bridge's get_state in flight
        self._clients, self._wake = [], None
        self.finished = False
        self.url = ""

    # --- lifecycle -----------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read the parameters, make the service clients, start serving the page."""
        try:
            self._settings = s = params.read(self, PARAMETERS)
            token = s["token"] or ("" if is_loopback(s["host"]) else secrets.token_urlsafe(18))
            settings = ServerSettings(host=s["host"], port=s["port"], token=token, max_clients=s["max_clients"],
                                      requests_per_s=s["requests_per_s"], request_burst=s["request_burst"],
                                      limits=PageLimits())
            tracker = self.resolve_topic_name(s["tracker_node"])
            bridge = self.resolve_topic_name(s["bridge_node"])
            self._tracker_name, self._tracker_status, self._arm = tracker, TrackerStatus(tracker), ArmStatus(bridge)
            self._prompt_client = self.create_client(SetPrompt, "set_prompt")
            self._enable_client = self.create_client(SetBool, f"{bridge}/enable")
            self._state_client = self.create_client(GetState, f"{bridge}/get_state")
            self._pending = PendingCalls(s["max_pending_requests"], s["request_timeout_s"])
            self._clients = [self._prompt_client, self._enable_client, self._state_client]
            self._wake = self.create_guard_condition(self._drain_inbox)
            self._server = OperatorServer(settings, self._hand_over, self.get_logger().warning)
            self._server.start()
        except Exception as error:  # noqa: BLE001 - a bad parameter or a taken port fails the transition
            self._server = None
            return failed_transition(self, "configure", error)
        self.url = self._server.url()
        self.get_logger().info(f"operator page: open {self.url}")
        self._state_cb()  # pages that open now learn that the node is not active yet
        params.set_configure_time_read_only(self, PARAMETERS, True)
        return super().on_configure(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._close()
        params.set_configure_time_read_only(self, PARAMETERS, False)
        return super().on_cleanup(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        s = self._settings
        images = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE if s["image_reliability"] == "reliable"
                            else ReliabilityPolicy.BEST_EFFORT)
        if s["image_transport"] == "compressed":
            image_sub = self.create_subscription(CompressedImage, "image/compressed", self._image_cb, images)
        else:
            image_sub = self.create_subscription(Image, "image", self._image_cb, images)
        self._live = [image_sub,
                      self.create_subscription(GraspArray, "grasp_poses", self._grasps_cb, 10),
                      self.create_subscription(Image, f"{self._tracker_name}/mask",
                                               self._mask_cb, 2),
                      self.create_subscription(DiagnosticArray, "/diagnostics", self._diagnostics_cb, 10),
                      self.create_subscription(MarkerArray, f"{self._arm.bridge_name}/markers", self._markers_cb, 2)]
        self._timers = [self.create_timer(s["state_period_s"], self._state_cb)]
        self._active = True
        self._state_cb()
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_live()
        self._answer_expired(float("inf"), "not answered: the operator node was deactivated")  # no timer now
        self._state_cb()
        return super().on_deactivate(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._close()
        self.finished = True
        return super().on_shutdown(state)

    def destroy_node(self) -> None:
        self._close()
        super().destroy_node()

    def _stop_live(self) -> None:
        self._active = False
        for subscription in self._live:
            self.destroy_subscription(subscription)
        for timer in self._timers:
            self.destroy_timer(timer)
        self._live, self._timers = [], []
        self._images.clear()

    def _close(self) -> None:
        self._stop_live()
        if self._server is not None:
            self._server.stop()
            self._server = None
        for client in self._clients:
            self.destroy_client(client)
        if self._wake is not None:
            self.destroy_guard_condition(self._wake)
        self._clients, self._wake, self._state_call = [], None, None
        self._inbox.clear()

    # --- the page's requests ---------------------------------------------------------------------------------
    def _hand_over(self, page: int, request: PageRequest) -> None:
        """On the web thread: queue the request for the executor (bounded: refused when the queue is full)."""
        if len(self._inbox) >= self._settings["max_pending_requests"]:
            self._server.reply(page, {"id": request.id, "ok": False, "message": "busy: too many requests waiting"})
            return
        self._inbox.append((page, request))
        self._wake.trigger()

    def _drain_inbox(self) -> None:
        while self._inbox:
            page, request = self._inbox.popleft()
            self._send(page, request)

    def _send(self, page: int, request: PageRequest) -> None:
        def refuse(message: str) -> None:
            self._server.reply(page, {"id": request.id, "ok": False, "message": message})

        if not self._active:
            return refuse("the operator node is not active")
        if isinstance(request.action, ArmAction):
            client, call = self._enable_client, SetBool.Request(data=request.action.enable)
            what = f"the arm bridge ({self.resolve_service_name(self._enable_client.srv_name)})"
        else:
            client, call = self._prompt_client, set_prompt_request(request.action)
            what = f"the tracker's {self.resolve_service_name(self._prompt_client.srv_name)}"
        if not client.service_is_ready():
            return refuse(f"{what} is not available: is it running and configured?")
        if not self._pending.has_room():
            return refuse("busy: too many requests waiting for an answer")
        future = client.call_async(call)
        self._pending.add(future, page, request, time.monotonic())
        future.add_done_callback(lambda done: self._answered(done, client))

    def _answered(self, future, client) -> None:
        entry = self._pending.pop(future)
        if entry is None or self._server is None:
            return  # answered already ("timed out")
        page, request = entry
        response = future.result()
        if isinstance(request.action, ArmAction):
            reply = {"id": request.id, "ok": bool(response.success), "message": response.message}
            self._arm.last_reply = response.message
            self._poll_bridge()
        else:
            reply = {"id": request.id, **prompt_reply(response)}
        self._server.reply(page, reply)

    # --- what the page is sent -----------------------------------------------------------------------------
    def _image_cb(self, msg: Image | CompressedImage) -> None:
        stamp = stamp_ns(msg.header)
        self._images[stamp] = msg
        while len(self._images) > IMAGES_KEPT:
            self._images.popitem(last=False)
        if time.monotonic() - self._grasps_at > self._settings["raw_image_fallback_s"]:
            self._send_frame(msg, {"stamp": str(stamp), "frame_id": msg.header.frame_id, "objects": [],
                                   "grasps": [], "tracker": False})

    def _grasps_cb(self, msg: GraspArray) -> None:
        self._grasps_at = time.monotonic()
        image = self._images.pop(stamp_ns(msg.header), None)
        if image is not None:
            self._send_frame(image, {**grasp_summary(msg), "tracker": True})

    def _send_frame(self, image: Image | CompressedImage, summary: dict) -> None:
        """Send ``image`` with ``summary`` (its GraspArray's, or none) to the pages, within the rate."""
        now, arrived_ms = time.monotonic(), time.time() * 1000.0
        if self._server is None or not self._server.page_count or \
                now - self._sent_at < 1.0 / self._settings["max_image_rate_hz"]:
            return
        try:
            rgb = image_messages.message_to_rgb(image)
        except ValueError as error:
            self.get_logger().warning(f"an image not shown: {error}", throttle_duration_sec=5.0)
            return
        summary.setdefault("width", rgb.shape[1])
        summary.setdefault("height", rgb.shape[0])
        self._server.send_frame(frame_packet(rgb, summary, self._settings["max_image_width"],
                                             self._settings["jpeg_quality"],
                                             {"grasps_at_ms": arrived_ms, "sent_at_ms": time.time() * 1000.0}))
        self._sent_stamp, self._sent_at = summary["stamp"], now

    def _mask_cb(self, msg: Image) -> None:
        if self._server is None or str(stamp_ns(msg.header)) != self._sent_stamp:
            return  # only the overlay of the frame the pages were sent
        try:
            labels = image_messages.mono16_to_labels(msg)
        except ValueError as error:
            self.get_logger().warning(f"a mask not shown: {error}", throttle_duration_sec=5.0)
            return
        self._server.send_mask(mask_packet(labels, self._sent_stamp, self._settings["max_image_width"]))

    def _diagnostics_cb(self, msg: DiagnosticArray) -> None:
        self._tracker_status.update(msg, time.monotonic())

    def _markers_cb(self, msg: MarkerArray) -> None:
        self._arm.update_markers(msg, time.monotonic())

    def _poll_bridge(self) -> None:
        """Ask the bridge its lifecycle state (one call in flight at most; one unanswered for 5 s is dropped)."""
        self._arm.available = self._enable_client.service_is_ready()
        if self._state_call is not None:
            future, sent_at = self._state_call
            if not future.done() and time.monotonic() - sent_at < 5.0:
                return
            self._state_client.remove_pending_request(future)
        if not self._state_client.service_is_ready():
            self._arm.state, self._state_call = "not running", None
            return
        future = self._state_client.call_async(GetState.Request())
        self._state_call = (future, time.monotonic())
        future.add_done_callback(self._bridge_state_cb)

    def _bridge_state_cb(self, future) -> None:
        if not future.cancelled() and future.result() is not None:
            self._arm.state = future.result().current_state.label

    def _answer_expired(self, now_s: float, message: str) -> None:
        """Reply ``message`` to the calls waiting longer than the timeout (all of them for ``now_s`` = inf)."""
        if self._server is None:
            return
        for future, (page, request) in self._pending.expired(now_s):
            (self._enable_client if isinstance(request.action, ArmAction) else self._prompt_client) \
                .remove_pending_request(future)
            self._server.reply(page, {"id": request.id, "ok": False, "message": message})

    def _state_cb(self) -> None:
        """Every state_period_s: answer requests that timed out, ask the bridge its state, tell the pages."""
        if self._server is None:
            return
        now = time.monotonic()
        self._answer_expired(now, f"timed out after {self._settings['request_timeout_s']:g} s")
        self._poll_bridge()
        self._server.send_state({"active": self._active, "node": self.get_fully_qualified_name(),
                                 "tracker": {"service": self.resolve_service_name(self._prompt_client.srv_name),
                                             "ready": self._prompt_client.service_is_ready(),
                                             "diagnostics": self._tracker_status.summary(now),
                                             "grasps_age_s": round(now - self._grasps_at, 1)
                                             if self._grasps_at else None},
                                 "arm": self._arm.summary(now)})


def main(args: list[str] | None = None) -> int:
    """``ros2 run spgrasp_ros operator_node``: the node, unconfigured until a launch file or client drives it."""
    return run_node(OperatorNode, args)


if __name__ == "__main__":
    sys.exit(main())
