"""Exact mapping between input-image pixels and the model's square input (resize or letterbox).

Continuous pixel coordinates with the origin at the top-left image corner (pixel i covers [i, i+1), its
centre is i + 0.5) — the convention of OpenCV's and PyTorch's half-pixel-aligned resizing, so
``model = input * scale + offset`` per axis holds exactly for what ``preprocess`` produces.

Two modes:
- ``resize``: the whole image is stretched to ``model_size`` x ``model_size`` (what sam2's video predictor
  does); the scales differ per axis, so grasp angles and widths change under the mapping.
- ``letterbox``: the longer side is scaled to ``model_size``, the image is centred and the rest padded;
  one scale for both axes (up to rounding of the resized size, which the mapping takes into account).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from spgrasp_ros.results import wrap_grasp_angle

RESIZE = "resize"
LETTERBOX = "letterbox"


@dataclass(frozen=True)
class FrameGeometry:
    """Mapping for one input size (width, height) and one square model size."""

    input_size: tuple[int, int]  # (width, height) [px] of the input image
    model_size: int  # side [px] of the square model input
    mode: str = RESIZE  # RESIZE or LETTERBOX

    def __post_init__(self) -> None:
        width, height = self.input_size
        if width <= 0 or height <= 0 or self.model_size <= 0:
            raise ValueError(f"image sizes must be positive: input {self.input_size}, model {self.model_size}")
        if self.mode not in (RESIZE, LETTERBOX):
            raise ValueError(f"unknown mode {self.mode!r}: use {RESIZE!r} or {LETTERBOX!r}")

    @property
    def resized_size(self) -> tuple[int, int]:
        """(width, height) [px] of the image content inside the model input."""
        width, height = self.input_size
        if self.mode == RESIZE:
            return self.model_size, self.model_size
        scale = self.model_size / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    @property
    def scale(self) -> np.ndarray:
        """[2] model pixels per input pixel along x and y."""
        return np.array(self.resized_size, dtype=np.float64) / np.array(self.input_size, dtype=np.float64)

    @property
    def offset(self) -> np.ndarray:
        """[2] model-space position (x, y) of the input image's top-left corner (the letterbox padding)."""
        return (self.model_size - np.array(self.resized_size, dtype=np.int64)) // 2

    @property
    def content_box(self) -> tuple[int, int, int, int]:
        """x_min, y_min, x_max, y_max [model px] of the image content (the rest is padding)."""
        x0, y0 = (int(v) for v in self.offset)
        w, h = self.resized_size
        return x0, y0, x0 + w, y0 + h

    def content_mask(self, height: int, width: int) -> np.ndarray:
        """[height, width] bool over a map covering the model input: pixel centres inside the image content."""
        x0, y0, x1, y1 = self.content_box
        xs = (np.arange(width) + 0.5) * self.model_size / width
        ys = (np.arange(height) + 0.5) * self.model_size / height
        return ((ys >= y0) & (ys < y1))[:, None] & ((xs >= x0) & (xs < x1))[None, :]

    # --- points and boxes ---------------------------------------------------------------------------------
    def points_to_model(self, points: np.ndarray) -> np.ndarray:
        """[..., 2] input-pixel (x, y) -> model pixels."""
        return np.asarray(points, dtype=np.float64) * self.scale + self.offset

    def points_to_input(self, points: np.ndarray) -> np.ndarray:
        """[..., 2] model-pixel (x, y) -> input pixels."""
        return (np.asarray(points, dtype=np.float64) - self.offset) / self.scale

    # --- grasps ---------------------------------------------------------------------------------------------
    def _map_grasps(self, center, angle, width, scale, to_points):
        direction = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * scale
        length = np.linalg.norm(direction, axis=-1)
        mapped_angle = np.arctan2(direction[..., 1], direction[..., 0])
        mapped_angle = wrap_grasp_angle(mapped_angle)
        return to_points(center), mapped_angle, np.asarray(width, dtype=np.float64) * length

    def grasps_to_input(self, center: np.ndarray, angle: np.ndarray, width: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Model-space grasps -> input pixels: center [N, 2], angle [N] rad, width [N] px.

        The jaw-to-jaw segment is mapped exactly (under ``resize`` its angle and length change with the
        per-axis scales). Returns (center [N, 2], angle [N] in [-pi/2, pi/2), width [N]).
        """
        angle = np.asarray(angle, dtype=np.float64)
        return self._map_grasps(center, angle, width, 1.0 / self.scale, self.points_to_input)

    def grasps_to_model(self, center: np.ndarray, angle: np.ndarray, width: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inverse of ``grasps_to_input``."""
        angle = np.asarray(angle, dtype=np.float64)
        return self._map_grasps(center, angle, width, self.scale, self.points_to_model)

    # --- images ---------------------------------------------------------------------------------------------
    def preprocess(self, image: np.ndarray, pad_value: float = 0) -> np.ndarray:
        """[H, W, C] input image -> [S, S, C] model-size image (bilinear, half-pixel aligned)."""
        height, width = image.shape[:2]
        if (width, height) != tuple(self.input_size):
            raise ValueError(f"image is {width}x{height}, this geometry is for "
                             f"{self.input_size[0]}x{self.input_size[1]}")
        resized = cv2.resize(image, self.resized_size, interpolation=cv2.INTER_LINEAR)
        if self.mode == RESIZE:
            return resized
        out = np.full((self.model_size, self.model_size, *image.shape[2:]), pad_value, dtype=image.dtype)
        x0, y0, x1, y1 = self.content_box
        out[y0:y1, x0:x1] = resized.reshape(y1 - y0, x1 - x0, *image.shape[2:])
        return out
