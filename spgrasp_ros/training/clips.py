"""Training clips: N_clip consecutive frames of a sequence, the objects to track, simulated prompts, targets.

A clip picks up to ``max_objects`` objects that are visible (and have a mask) on its first frame. Prompts are
simulated from the ground truth like a user would give them (SPGrasp, Mei et al. 2025, Sec. IV-A): a box
around the object's mask with a little jitter, or 1..3 clicks inside the mask; on the first frame and again
every ``reprompt_every`` frames (0: first frame only). Targets are rasterised per frame and object
(``spgrasp_ros.data.labels``); an object that is not visible in a frame has empty targets there, so the model
learns to report it lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spgrasp_ros.data.labels import LabelConfig, rasterize_object
from spgrasp_ros.data.types import Frame, GraspSet, Sequence, object_box
from spgrasp_ros.grasps.frame_geometry import FrameGeometry
from spgrasp_ros.tracker.preprocess import normalise_frame


@dataclass(frozen=True)
class ClipConfig:
    """How clips are cut and prompted."""

    frames: int = 8  # N_clip
    max_objects: int = 3  # objects per clip at most
    reprompt_every: int = 0  # prompt again every K frames (0: first frame only)
    box_probability: float = 0.7  # prompt with a box, else with clicks
    box_jitter: float = 0.1  # box corners move by up to this fraction of the box size
    max_clicks: int = 3
    preprocess: str = "resize"  # FrameGeometry mode, as the tracker's
    labels: LabelConfig = LabelConfig()


@dataclass
class Clip:
    """One training clip (M objects, T frames, model input S, maps h = S / 4).

    images [T, 3, S, S] normalised; targets [T, M, 7, h, w] (data.labels); visible [T, M] bool; mask_valid
    [T, M] bool (False: the dataset has no mask there, the object channel is not supervised); prompt_frames:
    frame indices with prompts; points [len(prompt_frames), M, P, 2] model px and
    labels [len(prompt_frames), M, P] int32 (2/3 box corners, 1/0 clicks, -1 padding).
    """

    name: str
    images: torch.Tensor
    targets: torch.Tensor
    visible: torch.Tensor
    mask_valid: torch.Tensor
    prompt_frames: list[int]
    points: torch.Tensor
    labels: torch.Tensor


def _box_prompt(box: np.ndarray, size: tuple[int, int], rng: np.random.Generator, config: ClipConfig
                ) -> tuple[np.ndarray, list[int]]:
    """A jittered box [x0, y0, x1, y1] as the two corner points sam2 takes (labels 2 and 3)."""
    x0, y0, x1, y1 = box
    jitter = config.box_jitter * np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0])
    width, height = size
    box = np.clip(box + rng.uniform(-1, 1, 4) * jitter, 0, [width, height, width, height])
    return box.reshape(2, 2), [2, 3]


def _prompt(frame: Frame, object_id: int, masks: np.ndarray | None, size: tuple[int, int],
            rng: np.random.Generator, config: ClipConfig) -> tuple[np.ndarray, list[int]]:
    """Points [P, 2] (input px) and their labels for one object: a box or clicks from its mask, or, without
    a mask, a box around its grasp rectangles."""
    if masks is None or rng.uniform() < config.box_probability:
        return _box_prompt(object_box(frame, object_id, masks, size), size, rng, config)
    ys, xs = np.nonzero(masks == object_id)
    chosen = rng.integers(0, len(xs), int(rng.integers(1, config.max_clicks + 1)))
    return np.column_stack([xs[chosen] + 0.5, ys[chosen] + 0.5]), [1] * len(chosen)


def _promptable(frame: Frame, object_id: int, masks: np.ndarray | None) -> bool:
    label = frame.object(object_id)
    if label is None or not label.visible:
        return False
    return bool((masks == object_id).any()) if masks is not None else len(label.grasps) > 0


def _pad(arrays: list[np.ndarray], value) -> np.ndarray:
    """Stack [M, P_i, ...] arrays along a new first axis, padding P to the longest with ``value``."""
    width = max(a.shape[1] for a in arrays)
    return np.stack([np.concatenate([a, np.full((a.shape[0], width - a.shape[1], *a.shape[2:]), value, a.dtype)], 1)
                     for a in arrays])


def make_clip(sequence: Sequence, start: int, model_size: int, config: ClipConfig, rng: np.random.Generator
              ) -> Clip | None:
    """The clip of ``sequence`` starting at frame ``start``, or None when no object can be prompted there."""
    frames = sequence.frames[start:start + config.frames]
    if len(frames) < config.frames:
        return None
    masks = [frame.load_masks() for frame in frames]
    candidates = [o.object_id for o in frames[0].objects if _promptable(frames[0], o.object_id, masks[0])]
    if not candidates:
        return None
    chosen = [int(i) for i in rng.permutation(candidates)[:config.max_objects]]
    images, targets, visible, mask_valid = [], [], [], []
    size = None
    for frame, frame_masks in zip(frames, masks):
        image = frame.load_image()
        size = size or (image.shape[1], image.shape[0])
        if (image.shape[1], image.shape[0]) != size:
            raise ValueError(f"{frame.name}: {image.shape[1]}x{image.shape[0]} frame in a {size[0]}x{size[1]} sequence")
        geometry = FrameGeometry(size, model_size, config.preprocess)
        frame_tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
        images.append(normalise_frame(frame_tensor, geometry)[0])
        rows, seen = [], []
        for object_id in chosen:
            label = frame.object(object_id)
            shown = label is not None and label.visible
            grasps = label.grasps if shown else GraspSet.empty()
            own = (frame_masks == object_id) if frame_masks is not None else None
            rows.append(rasterize_object(grasps, own if shown else None, geometry, config.labels))
            seen.append(shown)
        targets.append(np.stack(rows))
        visible.append(seen)
        mask_valid.append([frame_masks is not None] * len(chosen))
    prompt_frames = [0] + (list(range(config.reprompt_every, config.frames, config.reprompt_every))
                           if config.reprompt_every > 0 else [])
    prompt_frames = [t for t in prompt_frames
                     if all(_promptable(frames[t], i, masks[t]) for i in chosen)] or [0]
    points, labels = [], []
    for t in prompt_frames:
        per_object = [_prompt(frames[t], i, masks[t], size, rng, config) for i in chosen]
        width = max(len(lab) for _, lab in per_object)
        xy = np.zeros((len(chosen), width, 2), dtype=np.float32)
        lab = -np.ones((len(chosen), width), dtype=np.int32)
        for m, (object_xy, object_labels) in enumerate(per_object):
            xy[m, :len(object_labels)] = geometry.points_to_model(object_xy)
            lab[m, :len(object_labels)] = object_labels
        points.append(xy)
        labels.append(lab)
    return Clip(
        name=f"{sequence.name}@{start}",
        images=torch.stack(images),
        targets=torch.from_numpy(np.stack(targets)),
        visible=torch.tensor(visible),
        mask_valid=torch.tensor(mask_valid),
        prompt_frames=prompt_frames,
        points=torch.from_numpy(_pad(points, 0.0)),
        labels=torch.from_numpy(_pad(labels, -1)),
    )
