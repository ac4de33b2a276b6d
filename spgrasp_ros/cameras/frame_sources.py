"""Frames to replay one at a time: a video file, an image folder, a recorded sequence or a webcam (ROS-free).

``open_frame_source(spec)`` picks the kind from ``spec``:

- ``webcam:N``, ``/dev/videoN`` or a bare camera index ``N`` (not an existing path): a live camera (OpenCV);
- a folder with ``sequence.json``: a recorded sequence (``spgrasp_ros.data.recorded``), with its depth
  (when recorded) and camera intrinsics (when in its meta);
- another folder: its ``*.png`` / ``*.jpg`` / ``*.jpeg`` images in name order;
- an image file: that one image; any other file: a video (whatever OpenCV's FFmpeg reads).

Every source reads lazily (one frame in memory at a time) and yields ``(rgb, depth)``: [H, W, 3] uint8 RGB and
[H, W] float32 metres with NaN where there is no measurement, or None without depth.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from spgrasp_ros.data.recorded import camera_intrinsics, read_sequence
from spgrasp_ros.data.types import DatasetError, read_rgb

DEFAULT_FPS = 30.0  # rate of sources that have none (image folders, videos without a frame rate)
DEFAULT_HFOV_DEG = 60.0  # horizontal field of view assumed when a source has no intrinsics
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

RgbdFrame = tuple[np.ndarray, np.ndarray | None]  # (rgb [H, W, 3] uint8, depth [H, W] float32 metres or None)
Intrinsics = tuple[float, float, float, float]  # (fx, fy, cx, cy) px


class FrameSourceError(ValueError):
    """A source that cannot be opened or a frame that cannot be read; the message names the path."""


def pinhole_intrinsics(size: tuple[int, int], hfov_deg: float = DEFAULT_HFOV_DEG) -> Intrinsics:
    """(fx, fy, cx, cy) of a square-pixel pinhole camera with this horizontal FOV, centred on a (W, H) image
    (pixel centres at integer coordinates, so the centre is ((W - 1) / 2, (H - 1) / 2))."""
    width, height = size
    focal = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    return focal, focal, (width - 1) / 2, (height - 1) / 2


class FrameSource:
    """Base of the sources: ``read()`` the next frame (None at the end), iterate, ``close()``.

    ``fps`` is the source's own rate, ``size`` (W, H), ``intrinsics`` (fx, fy, cx, cy) or None when unknown,
    ``has_depth`` whether frames carry depth, ``name`` what it was opened from. With ``loop`` a finite source
    starts over at ``start_frame`` after its last frame.
    """

    name: str
    fps: float
    size: tuple[int, int]
    intrinsics: Intrinsics | None = None
    has_depth: bool = False
    loop: bool = False

    def read(self) -> RgbdFrame | None:
        """The next frame, or None when the source has ended. A FrameSourceError for a frame that cannot be
        read leaves the source positioned after it, so the caller may skip it and read on."""
        raise NotImplementedError

    def close(self) -> None:
        """Release files and devices (idempotent)."""

    def __iter__(self) -> Iterator[RgbdFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_size(self, image: np.ndarray, what: str) -> None:
        height, width = image.shape[:2]
        if (width, height) != self.size:
            raise FrameSourceError(f"{what}: {width}x{height}, expected {self.size[0]}x{self.size[1]} like "
                                   f"the first frame of {self.name}")


class ListSource(FrameSource):
    """Frames from files (an image folder or a recorded sequence): a loader per frame, called when read."""

    def __init__(self, name: str, loaders: list[tuple[str, Callable[[], RgbdFrame]]], fps: float,
                 size: tuple[int, int], intrinsics: Intrinsics | None = None, has_depth: bool = False,
                 start_frame: int = 0, loop: bool = False) -> None:
        if not 0 <= start_frame < len(loaders):
            raise FrameSourceError(f"{name}: start frame {start_frame} is outside its {len(loaders)} frames")
        self.name = name
        self._loaders = loaders  # (what, load) per frame; ``what`` names the file in errors
        self.fps, self.size, self.intrinsics, self.has_depth = fps, size, intrinsics, has_depth
        self._start = start_frame
        self._next = start_frame
        self.loop = loop

    def __len__(self) -> int:
        return len(self._loaders)

    def read(self) -> RgbdFrame | None:
        """The next image (and depth), or None after the last."""
        if self._next >= len(self._loaders):
            if not self.loop:
                return None
            self._next = self._start
        what, load = self._loaders[self._next]
        self._next += 1
        try:
            rgb, depth = load()
        except DatasetError as error:  # its message names the file
            raise FrameSourceError(str(error)) from error
        except (OSError, cv2.error) as error:
            raise FrameSourceError(f"{what}: cannot read ({error})") from error
        self._check_size(rgb, what)
        if depth is not None:
            self._check_size(depth, f"{what} (depth)")
        return rgb, depth


class CaptureSource(FrameSource):
    """Frames from an OpenCV VideoCapture: a video file (may loop) or a live camera (never loops)."""

    def __init__(self, name: str, capture: cv2.VideoCapture, live: bool, start_frame: int = 0,
                 loop: bool = False) -> None:
        self.name = name
        self._capture = capture
        self._live = live  # a camera: no seeking (start_frame is ignored), no looping
        self._start = start_frame
        self.loop = loop and not live
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if math.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS
        self.size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        if min(self.size) <= 0:
            raise FrameSourceError(f"{name}: OpenCV reports no frame size (not a video?)")
        self._seek_start()

    def _seek_start(self) -> None:
        if self._live or not self._start:
            return  # a live camera has no earlier frames to skip
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if count > 0 and self._start >= count:
            raise FrameSourceError(f"{self.name}: start frame {self._start} is outside its {count} frames")
        if not self._capture.set(cv2.CAP_PROP_POS_FRAMES, self._start):
            raise FrameSourceError(f"{self.name}: cannot seek to start frame {self._start}")

    def read(self) -> RgbdFrame | None:
        """The next frame, or None at the end of the video (or when the camera stops)."""
        ok, bgr = self._capture.read()
        if not ok and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, self._start)
            ok, bgr = self._capture.read()
        if not ok or bgr is None:
            return None
        rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB if bgr.ndim == 2 else cv2.COLOR_BGR2RGB)
        self._check_size(rgb, f"{self.name} frame")
        return rgb, None

    def close(self) -> None:
        """Release the video file or camera."""
        self._capture.release()


def _read_image(path: Path) -> RgbdFrame:
    return read_rgb(path), None


def _image_size(path: Path) -> tuple[int, int]:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FrameSourceError(f"{path}: not a readable image")
    return image.shape[1], image.shape[0]


def _open_images(paths: list[Path], name: str, start_frame: int, loop: bool) -> ListSource:
    loaders = [(str(p), lambda p=p: _read_image(p)) for p in paths]
    first = paths[min(start_frame, len(paths) - 1)]
    return ListSource(name, loaders, DEFAULT_FPS, _image_size(first), start_frame=start_frame, loop=loop)


def _open_folder(folder: Path, start_frame: int, loop: bool) -> ListSource:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        patterns = "/".join("*" + suffix for suffix in IMAGE_SUFFIXES)
        raise FrameSourceError(f"{folder}: no {patterns} images in this folder")
    return _open_images(paths, str(folder), start_frame, loop)


def _nan_for_missing(depth: np.ndarray | None) -> np.ndarray | None:
    """A recorded depth image (0 = no measurement) with NaN where there is no measurement."""
    if depth is None:
        return None
    depth = depth.astype(np.float32, copy=False)
    depth[~(depth > 0)] = np.nan
    return depth


def _open_sequence(folder: Path, start_frame: int, loop: bool) -> ListSource:
    try:
        sequence = read_sequence(folder)
    except DatasetError as error:
        raise FrameSourceError(str(error)) from error
    meta = sequence.meta
    has_depth = (folder / "depth").is_dir() and "depth_scale" in meta
    loaders = [(frame.name, lambda f=frame: (f.load_image(), _nan_for_missing(f.load_depth()) if has_depth
                                             else None))
               for frame in sequence.frames]
    intrinsics = camera_intrinsics(meta)
    fps = float(meta.get("fps") or DEFAULT_FPS)
    if not loaders:
        raise FrameSourceError(f"{folder}: the recorded sequence has no frames")
    size = tuple(meta["size"])
    return ListSource(str(folder), loaders, fps, size, intrinsics, has_depth, start_frame, loop)


def _open_capture(spec: str, target: int | str, live: bool, start_frame: int, loop: bool) -> CaptureSource:
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        capture.release()
        kind = "camera" if live else "video"
        raise FrameSourceError(f"{spec}: cannot open this {kind} with OpenCV")
    try:
        return CaptureSource(spec, capture, live, start_frame, loop)
    except FrameSourceError:
        capture.release()
        raise


def open_frame_source(spec: str, start_frame: int = 0, loop: bool = False) -> FrameSource:
    """Open what ``spec`` names (see the module docstring), positioned at ``start_frame``.

    Raises FrameSourceError naming the path when it is missing or unreadable.
    """
    if start_frame < 0:
        raise FrameSourceError(f"start frame must be >= 0, got {start_frame}")
    spec = spec.strip()
    if not spec:
        raise FrameSourceError("no source given (a video file, an image folder, a recorded sequence folder, "
                               "webcam:N or /dev/videoN)")
    camera = re.fullmatch(r"(?:webcam:)?(\d+)", spec)
    if camera and (spec.startswith("webcam:") or not Path(spec).exists()):
        return _open_capture(spec, int(camera.group(1)), True, start_frame, loop)
    if re.fullmatch(r"/dev/video\d+", spec):
        return _open_capture(spec, spec, True, start_frame, loop)
    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / "sequence.json").is_file():
            return _open_sequence(path, start_frame, loop)
        return _open_folder(path, start_frame, loop)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return _open_images([path], str(path), start_frame, loop)
        return _open_capture(str(path), str(path), False, start_frame, loop)
    raise FrameSourceError(f"{spec}: no such file or folder")
