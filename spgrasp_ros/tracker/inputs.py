"""What enters a tracker step: a frame checked and put on the device, and prompts in sam2's input format.

Prompt encoding follows sam2's ``SAM2VideoPredictor.add_new_points_or_box``: a box is two points labelled 2
(top-left) and 3 (bottom-right) before the clicks, coordinates are scaled to the model input as
``xy / [W, H] * S`` in float32 (letterboxed inputs: scaled to the resized content, then offset).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from spgrasp_ros.grasps.frame_geometry import RESIZE, FrameGeometry
from spgrasp_ros.prompts import ObjectPrompt


class FrameError(ValueError):
    """A frame the tracker cannot take (shape, dtype, size); nothing was changed."""


def plain_upload(frame: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 uint8 array -> the same tensor on ``device`` (one blocking copy on CUDA)."""
    return torch.from_numpy(np.ascontiguousarray(frame)).to(device)


def check_frame(frame: np.ndarray | torch.Tensor, device: torch.device,
                upload: Callable[[np.ndarray], torch.Tensor]) -> tuple[torch.Tensor, tuple[int, int]]:
    """A numpy HxWx3 uint8 RGB frame (put on the device by ``upload``) or such a tensor already on ``device``
    -> ([1, 3, H, W] uint8 on the device, (W, H)); FrameError naming what is wrong otherwise."""
    if isinstance(frame, np.ndarray):
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise FrameError(f"frames must be HxWx3 uint8 RGB, got {frame.dtype} array of shape {list(frame.shape)}")
        tensor = upload(frame)
    elif torch.is_tensor(frame):
        if frame.dtype != torch.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise FrameError(f"frame tensors must be HxWx3 uint8 RGB, got {frame.dtype} of shape {list(frame.shape)}")
        if frame.device != device:
            raise FrameError(f"frame tensor is on {frame.device}, the tracker on {device}")
        tensor = frame
    else:
        raise FrameError(f"frames must be numpy arrays or torch tensors, got {type(frame).__name__}")
    height, width = tensor.shape[:2]
    if height < 2 or width < 2:
        raise FrameError(f"frame of {width}x{height} pixels is too small")
    return tensor.permute(2, 0, 1).unsqueeze(0), (int(width), int(height))


def prompt_groups(objects: list[ObjectPrompt]) -> list[list[int]]:
    """Indices of ``objects`` that run as one batch: those with the same decoder input, a mask or the same
    number of points (a box counts two). sam2 runs every object alone; in a batch, padding a shorter prompt
    would add not-a-point tokens and move it across sam2's multimask rule (at most one point), changing its
    mask. Groups in order of their first object."""
    groups: dict[tuple, list[int]] = {}
    for index, obj in enumerate(objects):
        key = ("mask",) if obj.mask is not None else ("points", (2 if obj.box is not None else 0) + len(obj.points))
        groups.setdefault(key, []).append(index)
    return list(groups.values())


def prompt_inputs(group: list[ObjectPrompt], geometry: FrameGeometry, device: torch.device
                  ) -> tuple[dict | None, torch.Tensor | None]:
    """The objects of one ``prompt_groups`` group -> (sam2 point inputs {"point_coords": [B, P, 2] model px,
    "point_labels": [B, P] int32}, None) for boxes and clicks, or (None, mask inputs [B, 1, S, S] bool)."""
    if group[0].mask is not None:  # resized as sam2's add_new_mask: antialiased bilinear, then >= 0.5
        masks = torch.from_numpy(np.stack([o.mask for o in group]).astype(np.float32)).to(device)[:, None]
        width, height = geometry.resized_size
        resized = F.interpolate(masks, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
        if geometry.mode != RESIZE:  # letterbox: the resized mask on the padded square, as the image
            x0, y0 = (int(v) for v in geometry.offset)
            canvas = resized.new_zeros(len(group), 1, geometry.model_size, geometry.model_size)
            canvas[:, :, y0:y0 + height, x0:x0 + width] = resized
            resized = canvas
        return None, resized >= 0.5
    rows, labels = [], []
    for obj in group:  # all with the same number of points (prompt_groups): no padding
        xy = [obj.box.reshape(2, 2)] if obj.box is not None else []
        rows.append(np.concatenate(xy + [obj.points.reshape(-1, 2)]).astype(np.float32))
        labels.append(([2, 3] if obj.box is not None else []) + obj.labels.tolist())
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"a prompt group must share its point count, got {[len(r) for r in rows]}")
    coords, label_array = np.stack(rows), np.asarray(labels, dtype=np.int32)
    xy = torch.from_numpy(coords).to(device)
    scale_from = torch.tensor(geometry.input_size, dtype=torch.float32, device=device)
    if geometry.mode == RESIZE:
        xy = xy / scale_from * geometry.model_size
    else:
        scale_to = torch.tensor(geometry.resized_size, dtype=torch.float32, device=device)
        offset = torch.tensor(geometry.offset, dtype=torch.float32, device=device)
        xy = xy / scale_from * scale_to + offset
    return {"point_coords": xy, "point_labels": torch.from_numpy(label_array).to(device)}, None


def prompt_boxes(points: dict | None, count: int) -> torch.Tensor | None:
    """[B, 4] model px: each object's box prompt (labels 2 and 3) from ``prompt_inputs``' point inputs, NaN
    rows for objects prompted otherwise; None for mask prompts."""
    if points is None:
        return None
    coords, labels = points["point_coords"], points["point_labels"]
    boxes = torch.full((count, 4), float("nan"), device=coords.device)
    has_box = (labels == 2).any(dim=1) & (labels == 3).any(dim=1)
    if has_box.any():
        start = coords[torch.arange(count), (labels == 2).int().argmax(dim=1)]
        end = coords[torch.arange(count), (labels == 3).int().argmax(dim=1)]
        boxes = torch.where(has_box[:, None], torch.cat([start, end], dim=1), boxes)
    return boxes
