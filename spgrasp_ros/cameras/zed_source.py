"""A ZED stereo camera (live, or an .svo recording) through the ZED SDK's Python API ``pyzed.sl``; no ROS.

``ZedCamera.open(ZedSettings(...))`` opens it (depth in metres); ``grab()`` returns the next ``ZedFrame``:

- ``bgra``: the rectified left image as the SDK gives it, [H, W, 4] uint8 (``rgb``: [H, W, 3], made on demand);
- ``depth_m``: depth registered to that image, [H, W] float32 metres, NaN where the SDK has no measurement
  (it reports occlusions as NaN, too close as -inf, too far as +inf) or outside [depth_min_m, depth_max_m];
- ``timestamp_ns``: the SDK's capture time of the image (Unix epoch), 0 when unknown.

``info`` holds the serial number, image size, frame rate and the left camera's intrinsics for the rectified
images (so no distortion). pyzed is imported only when a camera is opened; where it is missing, ``ZedUnavailable``
says how to install it. Every array handed out is a copy: the SDK reuses its buffers at the next grab.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

# ZED 2i video modes and the frame rates each supports (the SDK falls back to a default for other pairs).
FRAME_RATES = {"HD2K": (15,), "HD1080": (15, 30), "HD720": (15, 30, 60), "VGA": (15, 30, 60, 100)}
# Depth modes by name; NEURAL_LIGHT needs SDK 5.0+, NEURAL_PLUS 4.1+; ULTRA/QUALITY/PERFORMANCE are deprecated in 5.x.
DEPTH_MODES = ("NEURAL_LIGHT", "NEURAL", "NEURAL_PLUS", "ULTRA", "QUALITY", "PERFORMANCE")
# grab()/open() codes that are warnings: the frame (or camera) is still usable.
WARNING_CODES = ("CORRUPTED_FRAME", "POTENTIAL_CALIBRATION_ISSUE", "CONFIGURATION_FALLBACK")
SDK_URL = "https://www.stereolabs.com/developers/release"


class ZedUnavailable(RuntimeError):
    """``pyzed.sl`` cannot be imported: the ZED SDK or its Python API is not installed for this interpreter."""


class ZedError(RuntimeError):
    """The SDK refused to open the camera or to grab a frame; the message names the SDK's error code."""


@dataclass(frozen=True)
class ZedSettings:
    """What to open and how."""

    serial_number: int = 0  # live camera with this serial number; 0 = the first one found
    svo_file: str = ""  # play this .svo/.svo2 recording instead of a live camera
    resolution: str = "HD720"  # a key of FRAME_RATES
    fps: int = 30  # one of FRAME_RATES[resolution]
    depth_mode: str = "NEURAL"  # one of DEPTH_MODES
    depth_min_m: float = 0.3  # nearer depth is no measurement (NaN)
    depth_max_m: float = 10.0  # farther depth is no measurement (NaN)
    svo_real_time: bool = True  # play an .svo at its recorded rate (False: as fast as frames are computed)
    svo_loop: bool = False  # start an .svo over at its end (False: grab() returns None there)

    def check(self) -> None:
        """Raise ValueError naming every invalid field."""
        problems = []
        if self.serial_number < 0:
            problems.append(f"serial_number must be >= 0, got {self.serial_number}")
        if self.resolution not in FRAME_RATES:
            problems.append(f"resolution must be one of {', '.join(FRAME_RATES)}, got {self.resolution!r}")
        elif self.fps not in FRAME_RATES[self.resolution]:
            rates = ", ".join(map(str, FRAME_RATES[self.resolution]))
            problems.append(f"fps {self.fps} is not a {self.resolution} frame rate of the ZED 2i ({rates})")
        if self.depth_mode not in DEPTH_MODES:
            problems.append(f"depth_mode must be one of {', '.join(DEPTH_MODES)}, got {self.depth_mode!r}")
        if not 0 < self.depth_min_m < self.depth_max_m:
            problems.append(f"need 0 < depth_min_m < depth_max_m, got {self.depth_min_m} and {self.depth_max_m}")
        if self.svo_file and not Path(self.svo_file).expanduser().is_file():
            problems.append(f"svo_file {self.svo_file}: no such file")
        if problems:
            raise ValueError("invalid ZED settings: " + "; ".join(problems))

    def source_name(self) -> str:
        """What is opened, in words."""
        if self.svo_file:
            return f"the recording {self.svo_file}"
        return f"the ZED with serial number {self.serial_number}" if self.serial_number else "the first ZED found"


@dataclass(frozen=True)
class ZedInfo:
    """The opened camera: serial number, model, image size (W, H), frame rate, intrinsics (fx, fy, cx, cy) [px]."""

    serial_number: int
    model: str
    size: tuple[int, int]
    fps: float
    intrinsics: tuple[float, float, float, float]


@dataclass
class ZedFrame:
    """One grabbed frame (see the module docstring); ``status`` is SUCCESS or the SDK's warning code."""

    bgra: np.ndarray
    depth_m: np.ndarray
    timestamp_ns: int
    status: str = "SUCCESS"

    @cached_property
    def rgb(self) -> np.ndarray:
        """[H, W, 3] uint8 RGB (one colour conversion, made once)."""
        return cv2.cvtColor(self.bgra, cv2.COLOR_BGRA2RGB)


def import_pyzed() -> ModuleType:
    """``pyzed.sl``, or ZedUnavailable explaining how to install the ZED SDK and pyzed for this interpreter."""
    try:
        import pyzed.sl as sl
    except ImportError as error:  # not installed, or installed but broken (missing libsl_zed.so, NumPy ABI)
        raise ZedUnavailable(
            f"the ZED SDK's Python API (pyzed) cannot be imported by {sys.executable} ({error}). Install the ZED "
            f"SDK for your CUDA version from {SDK_URL} (it needs an NVIDIA GPU), then install pyzed into this "
            f"interpreter: `{sys.executable} /usr/local/zed/get_python_api.py` (on Windows the script is in the "
            f"ZED SDK folder). Without a ZED, use video_source_node or the official zed_wrapper.") from error
    return sl


def to_bgra(image: np.ndarray) -> np.ndarray:
    """A new [H, W, 4] uint8 BGRA array from the SDK's BGRA (copied), BGR or grey image."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ZedError(f"unexpected image from the SDK: {image.dtype} {list(image.shape)}")
    if image.ndim == 3 and image.shape[2] == 4:
        return np.array(image, copy=True, order="C")
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGRA)


def clean_depth(depth: np.ndarray, depth_min_m: float, depth_max_m: float) -> np.ndarray:
    """A new [H, W] float32 array in metres: NaN, +-inf, non-positive and out-of-range values become NaN."""
    depth = np.array(depth.reshape(depth.shape[:2]), dtype=np.float32, copy=True)
    with np.errstate(invalid="ignore"):
        depth[~((depth >= depth_min_m) & (depth <= depth_max_m))] = np.nan  # NaN compares False: stays NaN
    return depth


def _code_name(code) -> str:
    return getattr(code, "name", str(code))


def _describe(code) -> str:
    """The code's name, with the SDK's text for it (``str``) where that says more."""
    name, text = _code_name(code), str(code)
    return name if text.replace(" ", "_").upper() in (name, f"ERROR_CODE.{name}") else f"{name} ({text})"


class ZedCamera:
    """An open ZED camera or .svo recording; use ``ZedCamera.open``, then ``grab()`` and ``close()``."""

    def __init__(self, sl: ModuleType, camera: Any, settings: ZedSettings, info: ZedInfo, open_status: str) -> None:
        self._sl = sl
        self._camera = camera  # an opened sl.Camera
        self.settings = settings
        self.info = info
        self.open_status = open_status  # SUCCESS, or the warning the SDK gave when opening
        self.svo_restarts = 0  # times an .svo started over (svo_loop)
        self._runtime = sl.RuntimeParameters()
        self._image, self._depth = sl.Mat(), sl.Mat()  # the SDK's buffers, refilled by every retrieve

    @classmethod
    def open(cls, settings: ZedSettings, sl: ModuleType | None = None) -> ZedCamera:
        """Open what ``settings`` name. Raises ValueError (bad settings), ZedUnavailable (no pyzed) or ZedError."""
        settings.check()
        sl = sl or import_pyzed()
        init = sl.InitParameters()
        if settings.svo_file:
            init.set_from_svo_file(str(Path(settings.svo_file).expanduser()))
            init.svo_real_time_mode = settings.svo_real_time
        elif settings.serial_number:
            init.set_from_serial_number(settings.serial_number)
        init.camera_resolution = getattr(sl.RESOLUTION, settings.resolution)
        init.camera_fps = settings.fps
        depth_mode = getattr(sl.DEPTH_MODE, settings.depth_mode, None)
        if depth_mode is None:
            raise ZedError(f"this ZED SDK has no depth mode {settings.depth_mode}; choose another depth_mode")
        init.depth_mode = depth_mode
        init.coordinate_units = sl.UNIT.METER
        init.depth_minimum_distance = settings.depth_min_m
        init.depth_maximum_distance = settings.depth_max_m
        camera = sl.Camera()
        status = camera.open(init)
        if status != sl.ERROR_CODE.SUCCESS and _code_name(status) not in WARNING_CODES:
            camera.close()
            raise ZedError(f"cannot open {settings.source_name()}: the ZED SDK says {_describe(status)}")
        try:
            info = cls._read_info(camera)
        except Exception:
            camera.close()
            raise
        return cls(sl, camera, settings, info, _code_name(status))

    @staticmethod
    def _read_info(camera) -> ZedInfo:
        information = camera.get_camera_information()
        config = information.camera_configuration
        left = config.calibration_parameters.left_cam  # rectified: the images published are rectified
        intrinsics = (float(left.fx), float(left.fy), float(left.cx), float(left.cy))
        if not (intrinsics[0] > 0 and intrinsics[1] > 0 and np.all(np.isfinite(intrinsics))):
            raise ZedError(f"the camera's calibration has invalid intrinsics fx, fy, cx, cy = {intrinsics}")
        return ZedInfo(int(information.serial_number), _code_name(information.camera_model),
                       (int(config.resolution.width), int(config.resolution.height)), float(config.fps), intrinsics)

    def grab(self) -> ZedFrame | None:
        """The next frame (blocks until the camera has one); None at the end of an .svo without ``svo_loop``.

        Raises ZedError when the SDK reports an error (the camera may recover: grabbing again is allowed).
        """
        sl = self._sl
        status = self._camera.grab(self._runtime)
        if _code_name(status) == "END_OF_SVOFILE_REACHED":
            if not self.settings.svo_loop:
                return None
            self._camera.set_svo_position(0)
            self.svo_restarts += 1
            status = self._camera.grab(self._runtime)
        if status != sl.ERROR_CODE.SUCCESS and _code_name(status) not in WARNING_CODES:
            raise ZedError(f"grab failed: the ZED SDK says {_describe(status)}")
        for what, retrieved in (("image", self._camera.retrieve_image(self._image, sl.VIEW.LEFT, sl.MEM.CPU)),
                                ("depth", self._camera.retrieve_measure(self._depth, sl.MEASURE.DEPTH, sl.MEM.CPU))):
            if retrieved != sl.ERROR_CODE.SUCCESS:
                raise ZedError(f"retrieving the {what} failed: the ZED SDK says {_describe(retrieved)}")
        stamp = self._camera.get_timestamp(sl.TIME_REFERENCE.IMAGE).get_nanoseconds()
        return ZedFrame(to_bgra(self._image.get_data()),
                        clean_depth(self._depth.get_data(), self.settings.depth_min_m, self.settings.depth_max_m),
                        int(stamp), _code_name(status))

    def close(self) -> None:
        """Close the camera (again: nothing)."""
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    def __enter__(self) -> ZedCamera:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
