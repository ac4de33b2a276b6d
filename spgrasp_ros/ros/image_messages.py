"""sensor_msgs images, depth and camera info to and from NumPy, without cv_bridge.

cv_bridge is missing from pip-installed ROS and breaks against NumPy 2, so the per-frame path views
``msg.data`` as an array (honouring ``step`` row padding and ``is_bigendian``) and fills it with one buffer
copy. An rgb8 image comes back as a view of the message (no copy); other colour encodings cost one
``cv2.cvtColor``. Depth is float32 metres with NaN where there is no measurement, whatever the wire encoding.
"""

from __future__ import annotations

import array
import math
import sys

import cv2
import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

SUPPORTED_ENCODINGS = ("rgb8", "bgr8", "bgra8", "rgba8", "mono8")
DEPTH_ENCODINGS = ("32FC1", "16UC1")

_CHANNELS = {"rgb8": 3, "bgr8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1}
_TO_RGB = {"bgr8": cv2.COLOR_BGR2RGB, "bgra8": cv2.COLOR_BGRA2RGB, "rgba8": cv2.COLOR_RGBA2RGB,
           "mono8": cv2.COLOR_GRAY2RGB}
_DEPTH_DTYPES = {"32FC1": np.dtype(np.float32), "16UC1": np.dtype(np.uint16)}
_MM_PER_M = 1000.0
_LABEL_BYTES = {"mono16": 2}  # the label image this module writes (labels_to_mono16)
_NATIVE_BIG_ENDIAN = sys.byteorder == "big"


class UnsupportedEncoding(ValueError):
    """An image encoding these conversions do not handle; the message names it and the supported ones."""


def bytes_per_pixel(encoding: str) -> int | None:
    """Bytes of one pixel in an encoding this module reads or writes (colour, depth, label), else None."""
    if encoding in _CHANNELS:
        return _CHANNELS[encoding]
    if encoding in _DEPTH_DTYPES:
        return _DEPTH_DTYPES[encoding].itemsize
    return _LABEL_BYTES.get(encoding)


def _unsupported(encoding: str, supported: tuple[str, ...]) -> UnsupportedEncoding:
    return UnsupportedEncoding(f"unsupported image encoding {encoding!r}; supported: {', '.join(supported)}")


def _view(msg: Image, dtype: np.dtype, channels: int) -> np.ndarray:
    """[H, W, C] view of ``msg.data`` (no copy), rows ``msg.step`` bytes apart; checks sizes first."""
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    if width <= 0 or height <= 0:
        raise ValueError(f"{msg.encoding} image has no pixels ({width}x{height})")
    if step < row_bytes:
        raise ValueError(f"{msg.encoding} image: step {step} is less than width {width} x "
                         f"{channels * dtype.itemsize} bytes per pixel = {row_bytes}")
    if len(msg.data) < step * height:
        raise ValueError(f"{msg.encoding} image: {len(msg.data)} data bytes, expected step {step} x height "
                         f"{height} = {step * height}")
    if dtype.itemsize > 1:
        dtype = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    return np.ndarray((height, width, channels), dtype, buffer=msg.data,
                      strides=(step, channels * dtype.itemsize, dtype.itemsize))


def _fill(msg: Image, pixels: np.ndarray, encoding: str) -> Image:
    """Set size, encoding and data of ``msg`` from a [H, W] or [H, W, C] array (one copy)."""
    pixels = np.ascontiguousarray(pixels)
    msg.height, msg.width = pixels.shape[:2]
    msg.encoding = encoding
    order = pixels.dtype.byteorder
    msg.is_bigendian = int(order == ">" or (order == "=" and _NATIVE_BIG_ENDIAN))
    msg.step = pixels.strides[0]
    data = array.array("B")
    data.frombytes(pixels.reshape(-1).view(np.uint8))  # the one copy
    msg.data = data  # an array('B') is taken as is (other values are checked and converted per element)
    return msg


def image_to_rgb(msg: Image) -> np.ndarray:
    """[H, W, 3] uint8 RGB. rgb8: a view of ``msg.data`` (no copy; strided when rows are padded);
    bgr8/bgra8/rgba8/mono8: one colour conversion. Raises UnsupportedEncoding or ValueError (bad sizes)."""
    channels = _CHANNELS.get(msg.encoding)
    if channels is None:
        raise _unsupported(msg.encoding, SUPPORTED_ENCODINGS)
    pixels = _view(msg, np.dtype(np.uint8), channels)
    if msg.encoding == "rgb8":
        return pixels
    return cv2.cvtColor(pixels[:, :, 0] if channels == 1 else pixels, _TO_RGB[msg.encoding])


def message_to_rgb(msg: Image | CompressedImage) -> np.ndarray:
    """Any colour message as HxWx3 uint8 RGB: compressed (JPEG/PNG), the encodings ``image_to_rgb`` reads, and
    others through cv_bridge where it is installed; UnsupportedEncoding when none can read it."""
    if isinstance(msg, CompressedImage):
        return compressed_to_rgb(msg)
    try:
        return image_to_rgb(msg)
    except UnsupportedEncoding as error:
        converted = _convert_with_cv_bridge(msg)
        if converted is None:
            raise UnsupportedEncoding(f"{error} (and cv_bridge, which could convert it, is not installed or "
                                      "failed)") from error
        return converted


def _convert_with_cv_bridge(msg: Image) -> np.ndarray | None:
    """Other encodings through cv_bridge where it is installed (never for the supported ones)."""
    try:
        from cv_bridge import CvBridge
    except ImportError:
        return None
    try:
        return np.ascontiguousarray(CvBridge().imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except Exception:  # noqa: BLE001 - cv_bridge raises its own error types; any failure means "cannot read"
        return None


def rgb_to_image(rgb: np.ndarray, header: Header, encoding: str = "rgb8") -> Image:
    """An Image from [H, W, 3] uint8 RGB as rgb8 or bgr8, or from [H, W] uint8 as mono8."""
    if encoding not in ("rgb8", "bgr8", "mono8"):
        raise _unsupported(encoding, ("rgb8", "bgr8", "mono8"))
    want_ndim = 2 if encoding == "mono8" else 3
    if rgb.dtype != np.uint8 or rgb.ndim != want_ndim or (want_ndim == 3 and rgb.shape[2] != 3):
        expected = "[H, W] uint8" if encoding == "mono8" else "[H, W, 3] uint8 RGB"
        raise ValueError(f"{encoding} image needs {expected}, got {rgb.dtype} {list(rgb.shape)}")
    pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if encoding == "bgr8" else rgb
    return _fill(Image(header=header), pixels, encoding)


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """[H, W, 3] uint8 RGB from a jpeg/png CompressedImage; ValueError when the data cannot be decoded."""
    data = np.frombuffer(msg.data, np.uint8)
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:
        bgr = None
    if bgr is None:
        raise ValueError(f"cannot decode the compressed image (format {msg.format!r}, {data.size} bytes)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def depth_to_metres(msg: Image) -> np.ndarray:
    """[H, W] float32 metres (a new array), NaN = no measurement: 32FC1 metres (non-finite or <= 0 -> NaN)
    or 16UC1 millimetres (0 -> NaN)."""
    dtype = _DEPTH_DTYPES.get(msg.encoding)
    if dtype is None:
        raise _unsupported(msg.encoding, DEPTH_ENCODINGS)
    raw = _view(msg, dtype, 1)[:, :, 0]
    if msg.encoding == "16UC1":
        depth = raw.astype(np.float32) / np.float32(_MM_PER_M)
        depth[raw == 0] = np.nan
        return depth
    depth = raw.astype(np.float32)
    depth[~((depth > 0) & np.isfinite(depth))] = np.nan
    return depth


def depth_to_image(depth_m: np.ndarray, header: Header, encoding: str = "32FC1") -> Image:
    """An Image from [H, W] metres (NaN = no measurement): 32FC1 metres, or 16UC1 millimetres where invalid,
    non-positive or out-of-range (> 65.535 m) values become 0."""
    if encoding not in DEPTH_ENCODINGS:
        raise _unsupported(encoding, DEPTH_ENCODINGS)
    if depth_m.ndim != 2 or not np.issubdtype(depth_m.dtype, np.floating):
        raise ValueError(f"depth image needs [H, W] float metres, got {depth_m.dtype} {list(depth_m.shape)}")
    if encoding == "32FC1":
        return _fill(Image(header=header), depth_m.astype(np.float32, copy=False), encoding)
    mm = np.round(depth_m.astype(np.float64) * _MM_PER_M)
    valid = np.isfinite(mm) & (mm > 0) & (mm <= np.iinfo(np.uint16).max)
    return _fill(Image(header=header), np.where(valid, mm, 0).astype(np.uint16), encoding)


def labels_to_mono16(labels: np.ndarray, header: Header) -> Image:
    """A mono16 Image from an [H, W] integer label image (pixel = object id 0..65535, 0 = background)."""
    if labels.ndim != 2 or not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise ValueError(f"label image needs [H, W] integers, got {labels.dtype} {list(labels.shape)}")
    if labels.dtype != np.uint16 and labels.size and (labels.min() < 0 or labels.max() > 65535):
        raise ValueError(f"label image values {labels.min()}..{labels.max()} do not fit mono16 (0..65535)")
    return _fill(Image(header=header), labels.astype(np.uint16, copy=False), "mono16")


def mono16_to_labels(msg: Image) -> np.ndarray:
    """[H, W] uint16 label image from a mono16 Image (the inverse of ``labels_to_mono16``; a view when the
    message is little-endian like this machine)."""
    if msg.encoding != "mono16":
        raise _unsupported(msg.encoding, ("mono16",))
    return _view(msg, np.dtype(np.uint16), 1)[:, :, 0]


def camera_info_msg(header: Header, width: int, height: int, fx: float, fy: float, cx: float,
                    cy: float) -> CameraInfo:
    """CameraInfo of an undistorted pinhole camera (plumb_bob, zero distortion, identity R)."""
    if not (fx > 0 and fy > 0 and math.isfinite(fx) and math.isfinite(fy) and math.isfinite(cx)
            and math.isfinite(cy)):
        raise ValueError(f"invalid camera intrinsics fx={fx} fy={fy} cx={cx} cy={cy}")
    fx, fy, cx, cy = float(fx), float(fy), float(cx), float(cy)
    return CameraInfo(
        header=header, width=int(width), height=int(height), distortion_model="plumb_bob", d=[0.0] * 5,
        k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
        r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )


def intrinsics_from_camera_info(msg: CameraInfo) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) from K; ValueError for an uncalibrated camera (K all zeros) or non-positive focals."""
    k = [float(v) for v in msg.k]
    if not any(k):
        raise ValueError("camera_info has no intrinsics (K is all zeros: an uncalibrated camera)")
    fx, fy, cx, cy = k[0], k[4], k[2], k[5]
    if not (fx > 0 and fy > 0 and all(math.isfinite(v) for v in (fx, fy, cx, cy))):
        raise ValueError(f"camera_info has invalid intrinsics fx={fx} fy={fy} cx={cx} cy={cy}")
    return fx, fy, cx, cy
