"""Annotated frames and sequences: the one in-memory form every dataset reader produces.

The package's grasp convention (``msg/Grasp.msg``) holds for every label: pixels of the frame's image, x right,
y down, origin at the image's top-left corner; a grasp is a rectangle with centre (x, y), ``angle`` = direction
of closing (jaw to jaw) from +x toward +y wrapped to [-pi/2, pi/2), ``width`` = opening along the closing
direction, ``jaw`` = extent across it. Readers convert their dataset's convention to this one and say how.

Images load lazily (``Frame.load_image``), so a dataset of thousands of frames costs only its file list and
one integrity check per image: readers check every image file when they read the dataset (``check_image``:
the whole file, without decoding pixels), so a corrupt or truncated file is rejected and counted then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from numpy.typing import ArrayLike
from PIL import Image

from spgrasp_ros.results import wrap_grasp_angle


class DatasetError(ValueError):
    """A dataset file or folder that cannot be read; the message names the path and the problem."""


@dataclass(frozen=True)
class GraspSet:
    """K grasp rectangles: centers [K, 2] (x, y), angles [K] rad in [-pi/2, pi/2), widths [K], jaws [K] (px)."""

    centers: np.ndarray
    angles: np.ndarray
    widths: np.ndarray
    jaws: np.ndarray

    def __post_init__(self) -> None:
        k = len(self.centers)
        if self.centers.shape != (k, 2) or any(len(a) != k for a in (self.angles, self.widths, self.jaws)):
            raise ValueError(f"inconsistent grasp arrays: centers {self.centers.shape}, angles {self.angles.shape}, "
                             f"widths {self.widths.shape}, jaws {self.jaws.shape}")

    @classmethod
    def empty(cls) -> "GraspSet":
        """No grasps."""
        z = np.zeros((0,), dtype=np.float64)
        return cls(np.zeros((0, 2)), z, z.copy(), z.copy())

    @classmethod
    def create(cls, centers: ArrayLike, angles: ArrayLike, widths: ArrayLike, jaws: ArrayLike) -> "GraspSet":
        """From array-likes; angles are wrapped to [-pi/2, pi/2)."""
        centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
        angles = wrap_grasp_angle(np.asarray(angles, dtype=np.float64).reshape(-1))
        widths = np.asarray(widths, dtype=np.float64).reshape(-1)
        jaws = np.broadcast_to(np.asarray(jaws, dtype=np.float64), widths.shape).copy()
        return cls(centers, angles, widths, jaws)

    @classmethod
    def concatenate(cls, sets: list["GraspSet"]) -> "GraspSet":
        """All grasps of several sets."""
        if not sets:
            return cls.empty()
        return cls(*(np.concatenate([getattr(s, name) for s in sets])
                     for name in ("centers", "angles", "widths", "jaws")))

    def __len__(self) -> int:
        return len(self.centers)


@dataclass(frozen=True)
class ObjectLabel:
    """One object in one frame: its id within the sequence, grasps, and whether it can be seen."""

    object_id: int
    grasps: GraspSet
    visible: bool = True  # False: occluded or out of view in this frame (its grasps are then not scored)


@dataclass
class Frame:
    """One annotated image. ``load_image`` -> HxWx3 uint8 RGB; ``load_masks`` -> HxW int label image
    (pixel = object id, 0 = background) or None; ``load_depth`` -> HxW float32 metres (NaN = no measurement)
    or None."""

    name: str
    load_image: Callable[[], np.ndarray]
    objects: list[ObjectLabel]
    load_masks: Callable[[], np.ndarray | None] = lambda: None
    load_depth: Callable[[], np.ndarray | None] = lambda: None

    def object(self, object_id: int) -> ObjectLabel | None:
        """The label of one object, or None when it is not annotated in this frame."""
        return next((o for o in self.objects if o.object_id == object_id), None)


@dataclass
class Sequence:
    """Frames in time order (a video, a GraspNet scene's views, or a single image)."""

    name: str
    frames: list[Frame]
    meta: dict = field(default_factory=dict)  # source dataset, camera intrinsics, fps ...

    def object_ids(self) -> list[int]:
        """Every object id annotated anywhere in the sequence."""
        return sorted({o.object_id for f in self.frames for o in f.objects})


@dataclass
class ReadReport:
    """What a reader read and what it rejected, with reasons (nothing is skipped silently).

    Items (the images, views or sequences a reader yields; ``unit`` names them) and annotations (rectangles,
    grasp lines, rect rows) are counted apart: a bad rectangle rejects itself, not its image, and the
    "mostly unreadable" rule of ``check`` counts items only.
    """

    unit: str = "images"
    read: int = 0  # items read
    rejected: list[tuple[str, str]] = field(default_factory=list)  # rejected items: (path, reason)
    annotations: int = 0  # annotations read (those of the items read)
    rejected_annotations: list[tuple[str, str]] = field(default_factory=list)  # (file:lines, reason)

    def reject(self, path: Path | str, reason: str) -> None:
        """Record a rejected item."""
        self.rejected.append((str(path), reason))

    def reject_annotation(self, where: Path | str, reason: str) -> None:
        """Record a rejected annotation (``where``: file and lines)."""
        self.rejected_annotations.append((str(where), reason))

    def check(self, what: str, max_rejected_fraction: float = 0.5) -> None:
        """Raise DatasetError when no item was read or most items were rejected."""
        total = self.read + len(self.rejected)
        if self.read == 0 or len(self.rejected) > max_rejected_fraction * total:
            first = self.rejected[0] if self.rejected else \
                self.rejected_annotations[0] if self.rejected_annotations else None
            detail = f"; first rejected: {first[0]}: {first[1]}" if first else ""
            raise DatasetError(f"{what}: read {self.read} of {total} {self.unit}{detail}")

    def summary(self) -> str:
        """Counts of items and annotations, then the first rejections of each."""
        text = f"read {self.read} {self.unit}, rejected {len(self.rejected)}"
        if self.annotations or self.rejected_annotations:
            text += f"; annotations: read {self.annotations}, rejected {len(self.rejected_annotations)}"
        for path, reason in self.rejected[:3] + self.rejected_annotations[:3]:
            text += f"\n  rejected {path}: {reason}"
        return text


def object_box(frame: Frame, object_id: int, masks: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
    """[4] x_min, y_min, x_max, y_max of an object in an image of ``size`` (W, H): its mask's box, or without
    a mask the box around its grasp rectangles (clipped to the image); None when it has neither."""
    if masks is not None:
        ys, xs = np.nonzero(masks == object_id)
        return np.array([xs.min(), ys.min(), xs.max() + 1.0, ys.max() + 1.0]) if len(xs) else None
    from spgrasp_ros.grasps.rectangles import grasp_corners

    label = frame.object(object_id)
    if label is None or not len(label.grasps):
        return None
    grasps = label.grasps
    corners = grasp_corners(grasps.centers, grasps.angles, grasps.widths, grasps.jaws).reshape(-1, 2)
    box = np.clip(np.concatenate([corners.min(0), corners.max(0)]), 0, [*size, *size])
    return box if box[2] > box[0] and box[3] > box[1] else None


def check_image(path: Path) -> tuple[int, int]:
    """(W, H) of an image file after checking that the whole file is intact (PIL ``verify``: structure and
    checksums, without decoding the pixels); DatasetError naming the file when it is corrupt or truncated."""
    try:
        with Image.open(path) as image:
            size = image.size
            image.verify()
    except (OSError, SyntaxError, ValueError) as error:  # PIL reports broken files with any of these
        raise DatasetError(f"{path}: corrupt or truncated image ({error})") from error
    return size


def depth_metres(depth: np.ndarray, scale: float, path: Path | str) -> np.ndarray:
    """A depth image times ``scale`` as [H, W] float32 metres, NaN where there is no measurement (a value
    that is not finite or not positive: 0 in millimetre PNGs, -1 in Jacquard's stereo tiffs)."""
    if depth.ndim != 2:
        raise DatasetError(f"{path}: not a single-channel depth image (shape {list(depth.shape)})")
    metres = depth.astype(np.float32) * np.float32(scale)
    metres[~(np.isfinite(metres) & (metres > 0))] = np.nan
    return metres


def read_rgb(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB; DatasetError naming the file when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{path}: not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_label_image(path: Path) -> np.ndarray:
    """A single-channel label/mask image (8 or 16 bit) as an int32 array."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DatasetError(f"{path}: not a readable image")
    if image.ndim == 3:
        image = image[..., 0]
    return image.astype(np.int32)
