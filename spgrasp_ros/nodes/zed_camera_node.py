"""``zed_camera_node``: a ZED 2i (live, or an .svo recording) as a lifecycle node, through pyzed.

Publishes, under zed-ros2-wrapper-style relative names (run it in namespace ``/zed/zed_node`` and they are the
official wrapper's, up to v5.0):
- ``rgb/image_rect_color`` (sensor_msgs/Image): the rectified left image, bgra8 as the ZED gives it, or rgb8;
- ``rgb/image_rect_color/compressed`` (sensor_msgs/CompressedImage, JPEG as image_transport's compressed plugin
  writes it), encoded only while someone subscribes;
- ``depth/depth_registered`` (32FC1 metres, NaN = no measurement), registered to that image;
- ``rgb/camera_info`` and ``depth/camera_info``: the SDK's rectified left intrinsics (no distortion).
All messages of a frame share one header: stamp = the SDK's image timestamp, frame_id = the ``frame_id``
parameter. depth and camera_info go out before the image, so a subscriber acting on the image has them.

Transitions, each paired with its inverse: configure opens the camera and creates the publishers (no pyzed, no
camera or a bad parameter -> FAILURE with the reason, node stays unconfigured); cleanup closes the camera.
activate starts the grab thread (and a recording, when ``record_path`` is set: one new sequence folder per
activation, written by ``SequenceRecorder`` with a bounded queue); deactivate stops both. Parameters:
``config/zed_camera.yaml``.
"""

from __future__ import annotations

import array
import sys
import threading
import traceback
from dataclasses import fields
from typing import Callable

import cv2
import numpy as np
from builtin_interfaces.msg import Time as TimeMsg
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from spgrasp_ros.cameras.sequence_recorder import SequenceRecorder, new_sequence_folder
from spgrasp_ros.cameras.zed_source import DEPTH_MODES, FRAME_RATES, ZedCamera, ZedError, ZedFrame, ZedSettings
from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.image_messages import camera_info_msg, depth_to_image, rgb_to_image
from spgrasp_ros.ros.lifecycle_guard import GuardedLifecycleNode
from spgrasp_ros.ros.spin import failed_transition, run_node

NODE_NAME = "zed_camera_node"
_RELIABILITY = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}
_RETRY_S = 0.5  # pause after a failed grab before the next try
_RECORD_QUEUE = 8  # frames waiting to be written to disk, at most (then frames are dropped from the recording)


PARAMETERS = (
    params.ParamSpec("serial_number", 0, "serial number of the ZED to open; 0 = the first one found",
                     params.at_least(0)),
    params.ParamSpec("svo_file", "", "play this .svo/.svo2 recording instead of a live camera ('' = live)"),
    params.ParamSpec("svo_loop", False, "start the .svo over at its end (else publishing stops there)"),
    params.ParamSpec("svo_real_time", True, "play the .svo at its recorded rate"),
    params.ParamSpec("resolution", "HD720", "video mode: HD2K, HD1080, HD720 or VGA",
                     params.one_of(*FRAME_RATES)),
    params.ParamSpec("fps", 30, "frame rate: HD2K 15; HD1080 15/30; HD720 15/30/60; VGA 15/30/60/100",
                     params.in_range(1, 100)),
    params.ParamSpec("depth_mode", "NEURAL", "SDK depth mode: " + ", ".join(DEPTH_MODES),
                     params.one_of(*DEPTH_MODES)),
    params.ParamSpec("depth_min_m", 0.3, "nearer depth is published as NaN [m]", params.in_range(0.01, 40.0)),
    params.ParamSpec("depth_max_m", 10.0, "farther depth is published as NaN [m]", params.in_range(0.01, 40.0)),
    params.ParamSpec("frame_id", "zed_left_camera_frame_optical", "frame_id of every header", params.not_blank),
    params.ParamSpec("image_encoding", "bgra8", "encoding of rgb/image_rect_color: bgra8 (the ZED's own, no "
                     "conversion) or rgb8", params.one_of("bgra8", "rgb8")),
    params.ParamSpec("jpeg_quality", 80, "JPEG quality of rgb/image_rect_color/compressed", params.in_range(1, 100)),
    params.ParamSpec("reliability", "reliable", "QoS reliability of every output (history depth 1)",
                     params.one_of("reliable", "best_effort")),
    params.ParamSpec("record_path", "", "also record every published frame as a sequence (spgrasp_ros "
                     "recorded-sequence format) in a new folder under this one per activation; '' = off"),
    params.ParamSpec("record_depth", True, "record depth with the colour frames"),
)


def bgra_to_image(bgra: np.ndarray, header: Header) -> Image:
    """A bgra8 Image from [H, W, 4] uint8 BGRA (one copy)."""
    if bgra.dtype != np.uint8 or bgra.ndim != 3 or bgra.shape[2] != 4:
        raise ValueError(f"bgra8 image needs [H, W, 4] uint8, got {bgra.dtype} {list(bgra.shape)}")
    height, width = bgra.shape[:2]
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(bgra).reshape(-1))
    msg = Image(header=header, height=height, width=width, encoding="bgra8", is_bigendian=0, step=4 * width)
    msg.data = data  # an array('B') is taken as is (fast); other sequences are converted per element
    return msg


def bgra_to_compressed(bgra: np.ndarray, header: Header, encoding: str, quality: int) -> CompressedImage:
    """A JPEG CompressedImage of [H, W, 4] uint8 BGRA, with image_transport's format string for ``encoding``."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"JPEG encoding of a {list(bgra.shape)} image failed")
    data = array.array("B")
    data.frombytes(jpeg.reshape(-1))
    msg = CompressedImage(header=header, format=f"{encoding}; jpeg compressed bgr8")
    msg.data = data
    return msg


def stamp_header(timestamp_ns: int, frame_id: str, fallback: Callable[[], TimeMsg]) -> Header:
    """A header stamped with the SDK's image time [ns since the epoch]; ``fallback()`` (a Time msg) when 0."""
    header = Header(frame_id=frame_id)
    if timestamp_ns > 0:
        header.stamp.sec, header.stamp.nanosec = divmod(int(timestamp_ns), 1_000_000_000)
    else:
        header.stamp = fallback()
    return header


class ZedCameraNode(GuardedLifecycleNode):
    """The ZED camera as a lifecycle node (see the module docstring)."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        self._camera: ZedCamera | None = None
        params.declare(self, PARAMETERS)
        self.add_on_set_parameters_callback(params.validator(PARAMETERS, frozen=lambda: self._camera is not None))
        self._settings: dict = {}
        self._lifecycle_pubs: list = []
        self._recorder: SequenceRecorder | None = None
        self._grabber: threading.Thread | None = None
        self._stop = threading.Event()
        self.published = self.failed = 0  # frames published; frames lost to grab or publish errors
        self.finished = False  # set by on_shutdown; run_node then exits

    # --- lifecycle -----------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read and check the parameters, open the camera or recording, make the publishers."""
        try:
            self._settings = params.read(self, PARAMETERS)
            settings = ZedSettings(**{f.name: self._settings[f.name] for f in fields(ZedSettings)})
            self._camera = ZedCamera.open(settings)
        except Exception as error:
            self._camera = None
            return failed_transition(self, "configure", error)
        info = self._camera.info
        self._camera_info = camera_info_msg(Header(), *info.size, *info.intrinsics)
        qos = QoSProfile(depth=1, reliability=_RELIABILITY[self._settings["reliability"]])
        self._depth_pub = self.create_lifecycle_publisher(Image, "depth/depth_registered", qos)
        self._info_pubs = [self.create_lifecycle_publisher(CameraInfo, name, qos)
                           for name in ("rgb/camera_info", "depth/camera_info")]
        self._image_pub = self.create_lifecycle_publisher(Image, "rgb/image_rect_color", qos)
        self._jpeg_pub = self.create_lifecycle_publisher(CompressedImage, "rgb/image_rect_color/compressed", qos)
        self._lifecycle_pubs = [self._depth_pub, *self._info_pubs, self._image_pub, self._jpeg_pub]
        warning = "" if self._camera.open_status == "SUCCESS" else f" (SDK warning: {self._camera.open_status})"
        self.get_logger().info(
            f"opened {self._camera.settings.source_name()}: {info.model} serial {info.serial_number}, "
            f"{info.size[0]}x{info.size[1]} at {info.fps:g} Hz, depth {self._settings['depth_mode']}, "
            "fx={:.1f} fy={:.1f} cx={:.1f} cy={:.1f}".format(*info.intrinsics) + warning)
        params.set_configure_time_read_only(self, PARAMETERS, True)
        return super().on_configure(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Undo configure: close the camera, destroy the publishers."""
        for publisher in self._lifecycle_pubs:
            self.destroy_lifecycle_publisher(publisher)
        self._lifecycle_pubs = []
        self._close_camera()
        params.set_configure_time_read_only(self, PARAMETERS, False)
        return super().on_cleanup(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Start grabbing and publishing (and recording, when asked)."""
        try:
            self._recorder = self._start_recording()
        except Exception as error:
            return failed_transition(self, f"activate: recording to {self._settings['record_path']}", error)
        result = super().on_activate(state)  # publishers on before the first frame
        if result != TransitionCallbackReturn.SUCCESS:
            self._stop_grabbing()
            return result
        self._stop.clear()
        self._grabber = threading.Thread(target=self._grab_loop, name="zed_grab", daemon=True)
        self._grabber.start()
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop grabbing; the camera stays open."""
        self._stop_grabbing()
        return super().on_deactivate(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop grabbing, close the camera; the process then exits."""
        self._stop_grabbing()
        self._close_camera()
        self.finished = True
        return super().on_shutdown(state)

    def destroy_node(self) -> None:
        """Also on Ctrl-C without transitions: stop grabbing, finish a recording, close the camera."""
        self._stop_grabbing()
        self._close_camera()
        super().destroy_node()

    def _start_recording(self) -> SequenceRecorder | None:
        if not self._settings["record_path"]:
            return None
        info = self._camera.info
        camera = dict(zip(("fx", "fy", "cx", "cy"), info.intrinsics))
        recorder = SequenceRecorder(new_sequence_folder(self._settings["record_path"], "zed"), info.size, info.fps,
                                    camera, max_pending=_RECORD_QUEUE, frame_id=self._settings["frame_id"])
        self.get_logger().info(f"recording to {recorder.folder}")
        return recorder

    def _stop_grabbing(self) -> None:
        self._stop.set()
        if self._grabber is not None:
            self._grabber.join()  # returns within one grab: the SDK's grab() does not block indefinitely
            self._grabber = None
        if self._recorder is not None:
            written = self._recorder.close()
            problem = f"; writing failed: {self._recorder.error}" if self._recorder.error else ""
            self.get_logger().info(f"recorded {written} frames to {self._recorder.folder} "
                                   f"({self._recorder.dropped} dropped{problem})")
            self._recorder = None

    def _close_camera(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    # --- grab thread ---------------------------------------------------------------------------------------
    def _grab_loop(self) -> None:
        """Grab and publish until deactivated; a failed frame is logged, counted and the next one grabbed."""
        while not self._stop.is_set():
            try:
                frame = self._camera.grab()
                if frame is None:
                    self.get_logger().info(f"end of {self._settings['svo_file']}: published {self.published} "
                                           "frames; nothing more to publish (svo_loop is off)")
                    return
                self.publish_frame(frame)
            except Exception as error:  # ZedError (the SDK may recover) or a frame that could not be sent
                if self._stop.is_set() or not self.context.ok():
                    return  # shutting down (Ctrl-C): the publishers are gone
                self.failed += 1
                detail = str(error) if isinstance(error, ZedError) else traceback.format_exc()
                self.get_logger().error(f"frame lost ({self.failed} so far): {detail}", throttle_duration_sec=5.0)
                self._stop.wait(_RETRY_S)

    def publish_frame(self, frame: ZedFrame) -> None:
        """One frame's messages under one header, all made before any goes out; then the recording."""
        header = stamp_header(frame.timestamp_ns, self._settings["frame_id"], lambda: self.get_clock().now().to_msg())
        if self._settings["image_encoding"] == "bgra8":
            image = bgra_to_image(frame.bgra, header)
        else:
            image = rgb_to_image(frame.rgb, header, "rgb8")
        depth = depth_to_image(frame.depth_m, header)
        jpeg = None
        if self._jpeg_pub.get_subscription_count():
            jpeg = bgra_to_compressed(frame.bgra, header, self._settings["image_encoding"],
                                      self._settings["jpeg_quality"])
        self._camera_info.header = header
        if frame.status != "SUCCESS":
            self.get_logger().warning(f"the ZED SDK reports {frame.status}", throttle_duration_sec=5.0)
        self._depth_pub.publish(depth)
        for publisher in self._info_pubs:
            publisher.publish(self._camera_info)
        self._image_pub.publish(image)
        if jpeg is not None:
            self._jpeg_pub.publish(jpeg)
        self.published += 1
        if self._recorder is not None:
            stamp_ns = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec  # as published: a bag of it pairs
            if not self._recorder.put(frame.rgb, frame.depth_m if self._settings["record_depth"] else None, stamp_ns):
                self.get_logger().warning(f"recording: {self._recorder.dropped} frames dropped so far "
                                          f"({self._recorder.error or 'the disk is slower than the camera'})",
                                          throttle_duration_sec=5.0)


def main(args: list[str] | None = None) -> int:
    """``ros2 run spgrasp_ros zed_camera_node``: the node, unconfigured until a launch file or client drives it."""
    return run_node(ZedCameraNode, args)


if __name__ == "__main__":
    sys.exit(main())
