"""A STAND-IN for ``pyzed.sl`` (the ZED SDK's Python API), for tests only.

A ZED 2i camera cannot be attached to the test machines and the ZED SDK (which needs CUDA and Stereolabs'
installer) cannot be installed there, so tests put this folder's parent on PYTHONPATH instead. It imitates only
the calls ``spgrasp_ros.cameras.zed_source`` makes, with the names, argument order and return conventions of the
real ``pyzed.sl`` (SDK 4.x/5.x): enums are ``enum.Enum``, ``open``/``grab``/``retrieve_*`` return an
``ERROR_CODE``, ``Mat.get_data()`` returns a view of a buffer that the next retrieve overwrites, the left view is
BGRA, depth is float32 in the requested unit with NaN / -inf / +inf for occluded / too close / too far.

What it "sees" is synthetic and reproducible (``fake_bgra(i)``, ``fake_depth(i)``, ``fake_timestamp_ns(i, fps)``
for frame i since open), at ``FAKE_SIZE`` whatever the resolution, with ``FAKE_CALIBRATION`` as the rectified
left intrinsics and ``FAKE_SERIAL`` as its serial number. An "svo file" here is a text file holding its number of
frames. Environment: FAKE_PYZED_LOG=path appends one JSON line per open/close/set_svo_position call;
FAKE_PYZED_FAIL_GRABS=3,4 makes those grab calls (1-based, counted since open) return FAILURE.
"""

from __future__ import annotations

import enum
import json
import os
import time
from pathlib import Path

import numpy as np

FAKE_SERIAL = 31234567
FAKE_SIZE = (40, 24)  # (W, H)
FAKE_CALIBRATION = {"fx": 41.5, "fy": 42.25, "cx": 19.75, "cy": 11.5}
FAKE_T0_NS = 1_700_000_000_123_456_789  # image timestamp of frame 0
# Pixels (row, col) of fake_depth with the SDK's special values, and one beyond any sensible depth_max_m.
FAKE_DEPTH_SPECIALS = {(0, 0): float("nan"), (0, 1): float("-inf"), (0, 2): float("inf"), (0, 3): 25.0}


def fake_timestamp_ns(index: int, fps: int) -> int:
    return FAKE_T0_NS + index * round(1e9 / fps)


def fake_bgra(index: int) -> np.ndarray:
    """Frame ``index``'s left image, [H, W, 4] uint8 BGRA (alpha 255)."""
    pixels = np.random.default_rng(1000 + index).integers(0, 256, (FAKE_SIZE[1], FAKE_SIZE[0], 4), dtype=np.uint8)
    pixels[..., 3] = 255
    return pixels


def fake_depth(index: int) -> np.ndarray:
    """Frame ``index``'s depth in metres, [H, W] float32: 0.5 + 0.01 * index + a ramp, plus FAKE_DEPTH_SPECIALS."""
    rows, cols = np.mgrid[0:FAKE_SIZE[1], 0:FAKE_SIZE[0]]
    depth = (0.5 + 0.01 * index + 0.002 * cols + 0.003 * rows).astype(np.float32)
    for (row, col), value in FAKE_DEPTH_SPECIALS.items():
        depth[row, col] = value
    return depth


def _log(**entry) -> None:
    path = os.environ.get("FAKE_PYZED_LOG")
    if path:
        with open(path, "a") as log:
            log.write(json.dumps(entry) + "\n")


class ERROR_CODE(enum.Enum):
    CORRUPTED_FRAME = -2
    CAMERA_REBOOTING = -1
    SUCCESS = 0
    FAILURE = 1
    CAMERA_NOT_DETECTED = 5
    INVALID_SVO_FILE = 12
    END_OF_SVOFILE_REACHED = 14
    INVALID_FUNCTION_CALL = 27

    def __str__(self) -> str:  # pyzed gives the SDK's toString(), e.g. "CAMERA NOT DETECTED"
        return self.name.replace("_", " ")


class RESOLUTION(enum.Enum):
    HD2K = 0
    HD1080 = 1
    HD1200 = 2
    HD720 = 3
    SVGA = 4
    VGA = 5
    AUTO = 6


class DEPTH_MODE(enum.Enum):
    NONE = 0
    PERFORMANCE = 1
    QUALITY = 2
    ULTRA = 3
    NEURAL_LIGHT = 4
    NEURAL = 5
    NEURAL_PLUS = 6


class UNIT(enum.Enum):
    MILLIMETER = 0
    CENTIMETER = 1
    METER = 2
    INCH = 3
    FOOT = 4


class VIEW(enum.Enum):
    LEFT = 0
    RIGHT = 1


class MEASURE(enum.Enum):
    DISPARITY = 0
    DEPTH = 1
    CONFIDENCE = 2


class MEM(enum.Enum):
    CPU = 1
    GPU = 2
    BOTH = 3


class TIME_REFERENCE(enum.Enum):
    IMAGE = 0
    CURRENT = 1


class MODEL(enum.Enum):
    ZED = 0
    ZED_M = 1
    ZED2 = 2
    ZED2i = 3


_PER_METRE = {UNIT.MILLIMETER: 1000.0, UNIT.CENTIMETER: 100.0, UNIT.METER: 1.0, UNIT.INCH: 1 / 0.0254,
              UNIT.FOOT: 1 / 0.3048}


class Resolution:
    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.width, self.height = width, height


class Timestamp:
    def __init__(self, ns: int = 0) -> None:
        self.data_ns = ns

    def get_nanoseconds(self) -> int:
        return self.data_ns


class Mat:
    def __init__(self) -> None:
        self._data: np.ndarray | None = None

    def _fill(self, values: np.ndarray) -> None:
        if self._data is None or self._data.shape != values.shape or self._data.dtype != values.dtype:
            self._data = np.empty_like(values)
        np.copyto(self._data, values)  # the same buffer every time, as the SDK does

    def get_data(self, memory_type: MEM = MEM.CPU, deep_copy: bool = False) -> np.ndarray:
        if memory_type is not MEM.CPU:
            raise ValueError("Provided MEM type doesn't match Mat's memory_type.")
        return self._data.copy() if deep_copy else self._data


class InitParameters:
    def __init__(self) -> None:
        self.camera_resolution = RESOLUTION.AUTO
        self.camera_fps = 0
        self.depth_mode = DEPTH_MODE.NEURAL
        self.coordinate_units = UNIT.MILLIMETER
        self.depth_minimum_distance = -1.0
        self.depth_maximum_distance = -1.0
        self.svo_real_time_mode = False
        self._input: dict = {"type": "first"}

    def set_from_serial_number(self, serial_number) -> None:
        self._input = {"type": "serial", "serial_number": serial_number}

    def set_from_svo_file(self, svo_input_filename: str) -> None:
        self._input = {"type": "svo", "path": svo_input_filename}


class RuntimeParameters:
    def __init__(self) -> None:
        self.enable_depth = True


class CameraParameters:
    def __init__(self) -> None:
        self.fx, self.fy, self.cx, self.cy = (FAKE_CALIBRATION[k] for k in ("fx", "fy", "cx", "cy"))
        self.image_size = Resolution(*FAKE_SIZE)


class CalibrationParameters:
    def __init__(self) -> None:
        self.left_cam = CameraParameters()
        self.right_cam = CameraParameters()


class CameraConfiguration:
    def __init__(self, fps: float) -> None:
        self.resolution = Resolution(*FAKE_SIZE)
        self.fps = fps
        self.calibration_parameters = CalibrationParameters()
        self.firmware_version = 1523


class CameraInformation:
    def __init__(self, fps: float) -> None:
        self.serial_number = FAKE_SERIAL
        self.camera_model = MODEL.ZED2i
        self.camera_configuration = CameraConfiguration(fps)


class Camera:
    def __init__(self) -> None:
        self._opened = False
        self._svo_frames: int | None = None
        self._fps = 30
        self._real_time = True
        self._position = 0  # index of the next frame
        self._current = -1  # index of the last grabbed frame
        self._grabs = 0
        self._per_metre = 1.0
        self._fail_grabs = {int(n) for n in os.environ.get("FAKE_PYZED_FAIL_GRABS", "").split(",") if n.strip()}

    def open(self, py_init: InitParameters | None = None) -> ERROR_CODE:
        init = py_init or InitParameters()
        _log(call="open", input=init._input, resolution=init.camera_resolution.name, fps=init.camera_fps,
             depth_mode=init.depth_mode.name, units=init.coordinate_units.name,
             depth_min=init.depth_minimum_distance, depth_max=init.depth_maximum_distance,
             svo_real_time=init.svo_real_time_mode)
        source = init._input
        if source["type"] == "serial" and int(source["serial_number"]) != FAKE_SERIAL:
            return ERROR_CODE.CAMERA_NOT_DETECTED
        if source["type"] == "svo":
            try:
                self._svo_frames = int(Path(source["path"]).read_text().strip())
            except (OSError, ValueError):
                return ERROR_CODE.INVALID_SVO_FILE
            self._real_time = init.svo_real_time_mode
        self._fps = init.camera_fps or 30
        self._per_metre = _PER_METRE[init.coordinate_units]  # depth comes in the unit asked for
        self._opened = True
        self._last_grab = time.monotonic()
        return ERROR_CODE.SUCCESS

    def is_opened(self) -> bool:
        return self._opened

    def close(self) -> None:
        _log(call="close", was_open=self._opened)
        self._opened = False

    def grab(self, py_runtime: RuntimeParameters | None = None) -> ERROR_CODE:
        if not self._opened:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        if self._svo_frames is not None and self._position >= self._svo_frames:
            return ERROR_CODE.END_OF_SVOFILE_REACHED
        if self._real_time:  # a camera delivers frames at its rate: wait for the next one
            time.sleep(max(0.0, self._last_grab + 1 / self._fps - time.monotonic()))
            self._last_grab = time.monotonic()
        self._grabs += 1
        if self._grabs in self._fail_grabs:
            return ERROR_CODE.FAILURE
        self._current = self._position
        self._position += 1
        return ERROR_CODE.SUCCESS

    def set_svo_position(self, position: int) -> None:
        _log(call="set_svo_position", position=position)
        self._position = position

    def retrieve_image(self, py_mat: Mat, view: VIEW = VIEW.LEFT, mem_type: MEM = MEM.CPU,
                       resolution: Resolution | None = None) -> ERROR_CODE:
        if self._current < 0 or view is not VIEW.LEFT or mem_type is not MEM.CPU:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        py_mat._fill(fake_bgra(self._current))
        return ERROR_CODE.SUCCESS

    def retrieve_measure(self, py_mat: Mat, measure: MEASURE = MEASURE.DEPTH, mem_type: MEM = MEM.CPU,
                         resolution: Resolution | None = None) -> ERROR_CODE:
        if self._current < 0 or measure is not MEASURE.DEPTH or mem_type is not MEM.CPU:
            return ERROR_CODE.INVALID_FUNCTION_CALL
        py_mat._fill(fake_depth(self._current) * np.float32(self._per_metre))
        return ERROR_CODE.SUCCESS

    def get_timestamp(self, time_reference: TIME_REFERENCE) -> Timestamp:
        if time_reference is TIME_REFERENCE.CURRENT:
            return Timestamp(time.time_ns())
        return Timestamp(fake_timestamp_ns(self._current, self._fps) if self._current >= 0 else 0)

    def get_camera_information(self, resizer: Resolution | None = None) -> CameraInformation:
        return CameraInformation(float(self._fps))
