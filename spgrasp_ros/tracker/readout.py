"""From the decoder outputs of every tracked object to one frame's result on the host: the one read-out path.

The results of all N objects are computed on the device and packed into two blocks, one float32
[N, 6K + 2] (per grasp slot: score, centre x/y, angle, width, valid; then presence and mask area) and one bool
[N, H*W + H + W] (the mask at input resolution, then its row and column occupancy), so they come back to the
host in at most two copies (one with ``OptimisedTracker``'s pinned buffer). Masks are sam2's: the low-res
logits upsampled bilinearly to the input, > 0. Grasps are decoded from the activated maps
(``grasps.decode``). With exclusive masks, sam2's non-overlap constraint is applied across all objects first.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from spgrasp_ros.grasps.decode import DecodeConfig, decode_grasps
from spgrasp_ros.grasps.frame_geometry import RESIZE, FrameGeometry
from spgrasp_ros.model.channels import activate
from spgrasp_ros.model.spgrasp import HeadOutputs, SPGrasp
from spgrasp_ros.results import LOST, REACQUIRED, TRACKING, FrameResult, Grasp, ObjectState
from spgrasp_ros.tracker.object_tracks import calibrated_presence

MAX_OBJECT_ID = 65535  # object ids are 1..this within one tracker's life: the label image is 16-bit


@dataclass
class TrackerOutput:
    """One frame's result: the ROS-facing record plus the masks.

    masks: [N, H, W] bool at input resolution, in the order of ``result.objects`` (ascending id);
    created_ids: the ids of the objects this frame's prompt started, in the prompt's order (boxes, clicks,
    masks, detections; an object it re-seeded under its own id).
    """

    result: FrameResult
    masks: np.ndarray
    created_ids: list[int] = field(default_factory=list)

    def label_image(self) -> np.ndarray:
        """[H, W] uint16 label image: pixel = id of the object whose mask covers it (where masks overlap the
        higher id wins), 0 = background. Ids never exceed ``MAX_OBJECT_ID``, so every object keeps its own
        value. The inverse is ``masks_from_label_image``."""
        height, width = self.masks.shape[1:] if self.masks.ndim == 3 else self.result.image_size[::-1]
        labels = np.zeros((height, width), np.uint16)
        for state, mask in zip(self.result.objects, self.masks):
            labels[mask] = state.id
        return labels


def masks_from_label_image(labels: np.ndarray, result: FrameResult) -> np.ndarray | None:
    """[N, H, W] bool masks in the order of ``result.objects`` from an [H, W] label image
    (``TrackerOutput.label_image``), or None without objects."""
    return np.stack([labels == s.id for s in result.objects]) if result.objects else None


def exclusive_heads(model: SPGrasp, heads: list[HeadOutputs], geometry: FrameGeometry) -> list[HeadOutputs]:
    """``heads`` of all cohorts with sam2's non-overlap constraint across every tracked object: where another
    object's mask logit is higher, an object's logit is clamped to -10, so neither its mask nor its grasps
    (``decode_grasps`` keeps grasps inside the mask) reach a pixel that another object claims more strongly.
    The memory keeps each object's own mask (sam2's default, non_overlap_masks_for_mem_enc false)."""
    counts = [h.object_logits.shape[0] for h in heads]
    if sum(counts) < 2:
        return heads
    logits = model._apply_non_overlapping_constraints(torch.cat([h.object_logits for h in heads]))
    size = model.image_size
    readout = []
    for head, low in zip(heads, logits.split(counts)):
        full = head.object_logits_full if geometry.mode == RESIZE else F.interpolate(
            low, size=(size, size), mode="bilinear", align_corners=False)
        readout.append(dataclasses.replace(head, object_logits=low, object_logits_full=full))
    return readout


def pack_results(logits: torch.Tensor, grasp_logits: torch.Tensor, score_logits: torch.Tensor,
                 full: torch.Tensor | None, region: torch.Tensor | None, input_size: tuple[int, int],
                 content_box: tuple[int, int, int, int] | None, model_size: int, decode: DecodeConfig
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The packed results (module notes) of N objects on their device: logits [N, 1, h, w], grasp_logits
    [N, 4, h, w], score_logits [N, 1]; for letterboxed inputs full [N, 1, S, S], the map cells inside the
    image ``region`` [h, w] bool and the ``content_box`` in model px (else None, None, None)."""
    maps = activate(torch.cat([grasp_logits, logits], dim=1))
    decoded = decode_grasps(maps, model_size, decode, region)
    width, height = input_size
    if content_box is not None:
        x0, y0, x1, y1 = content_box
        logits = full[:, :, y0:y1, x0:x1]
    masks = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)[:, 0] > 0
    n = masks.shape[0]
    floats = torch.cat([decoded.scores.float(), decoded.centers.float().reshape(n, -1), decoded.angles.float(),
                        decoded.widths.float(), decoded.valid.float(), score_logits.float().sigmoid(),
                        masks.sum(dim=(1, 2))[:, None].float()], dim=1)
    bits = torch.cat([masks.reshape(n, -1), masks.any(dim=2), masks.any(dim=1)], dim=1)
    return floats, bits


def unpack_results(floats: np.ndarray, bits: np.ndarray, input_size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The host blocks of ``pack_results`` as named arrays (views): scores/angles/widths/valid [N, K],
    centers [N, K, 2], presence/area [N], masks [N, H, W], rows [N, H], cols [N, W]."""
    (n, k), (width, height) = (floats.shape[0], (floats.shape[1] - 2) // 6), input_size
    return {"scores": floats[:, :k], "centers": floats[:, k:3 * k].reshape(n, k, 2),
            "angles": floats[:, 3 * k:4 * k], "widths": floats[:, 4 * k:5 * k], "valid": floats[:, 5 * k:6 * k],
            "presence": floats[:, 6 * k], "area": floats[:, 6 * k + 1],
            "masks": bits[:, :height * width].reshape(n, height, width),
            "rows": bits[:, height * width:height * width + height], "cols": bits[:, height * width + height:]}


@dataclass
class FrameObservation:
    """What one frame showed of the N objects (batch order), for the tracker to commit: visible [N] bool
    (calibrated presence, what is reported), found [N] bool (the model's own: object score and a non-empty
    mask), areas [N] mask pixels, boxes [N, 4] mask boxes (input px; zeros for empty masks)."""

    visible: np.ndarray
    found: np.ndarray
    areas: np.ndarray
    boxes: np.ndarray


def frame_output(ids: list[int], frames_lost: np.ndarray, prompt_frames: list[int], host: dict[str, np.ndarray],
                 geometry: FrameGeometry, frame_index: int, start: float, presence_threshold: float,
                 jaw_ratio: float, reference_areas: np.ndarray | None = None, min_area_ratio: float = 0.0,
                 mask_rule: Callable[[int, np.ndarray], tuple[Grasp, ...]] | None = None
                 ) -> tuple[TrackerOutput, FrameObservation]:
    """The frame's output from the unpacked results of the objects ``ids`` (in batch order) and what it
    showed of them. ``frames_lost``: their lost counters before this frame; ``reference_areas`` [N] (NaN:
    none yet) with ``min_area_ratio``: presence calibration (``object_tracks.calibrated_presence``).
    ``start``: ``time.perf_counter()`` at intake. ``mask_rule``: grasps from each visible object's [H, W]
    mask (``tracker.grasp_source.MaskGraspRule``) instead of the decoded grasp maps."""
    rows, cols, masks = host["rows"], host["cols"], host["masks"]
    n = len(ids)
    reference = reference_areas if reference_areas is not None else np.full(n, np.nan)
    found, visible = calibrated_presence(host["presence"], host["area"], reference, presence_threshold,
                                         min_area_ratio)
    boxes = np.zeros((n, 4))
    states, grasps = [], []
    centers, angles, widths = geometry.grasps_to_input(host["centers"].reshape(-1, 2), host["angles"].reshape(-1),
                                                       host["widths"].reshape(-1))
    k = host["scores"].shape[1]
    for b, object_id in enumerate(ids):
        lost = 0 if visible[b] else int(frames_lost[b]) + 1
        if host["area"][b] > 0:
            ys, xs = np.flatnonzero(rows[b]), np.flatnonzero(cols[b])
            boxes[b] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
        bbox = tuple(float(v) for v in boxes[b]) if visible[b] else (0.0, 0.0, 0.0, 0.0)
        state = (REACQUIRED if frames_lost[b] > 0 else TRACKING) if visible[b] else LOST
        states.append(ObjectState(object_id, bool(visible[b]), float(host["presence"][b]),
                                  int(host["area"][b]) if visible[b] else 0, bbox, frame_index - prompt_frames[b],
                                  lost, state))
        if not visible[b]:
            continue
        if mask_rule is not None:
            grasps.extend(mask_rule(object_id, masks[b]))
            continue
        for j in range(k):
            if host["valid"][b, j]:
                m = b * k + j
                grasps.append(Grasp(object_id, float(host["scores"][b, j]),
                                    (float(centers[m, 0]), float(centers[m, 1])), float(angles[m]),
                                    float(widths[m]), float(widths[m] * jaw_ratio)))
    order = np.argsort(ids, kind="stable")
    result = FrameResult(image_size=geometry.input_size, frame_index=frame_index,
                         objects=tuple(states[i] for i in order), grasps=tuple(sorted(grasps, key=lambda g: -g.score)),
                         processing_ms=(time.perf_counter() - start) * 1000.0)
    ordered = masks[order]  # a copy (fancy indexing): lost objects' masks are cleared in it
    ordered[~visible[order]] = False
    output = TrackerOutput(result, ordered)
    return output, FrameObservation(visible, found, host["area"].astype(np.float64), boxes)


def empty_output(geometry: FrameGeometry, frame_index: int, start: float) -> TrackerOutput:
    """The output of a frame with nothing tracked (after a clearing prompt)."""
    width, height = geometry.input_size
    result = FrameResult(geometry.input_size, frame_index, processing_ms=(time.perf_counter() - start) * 1000.0)
    return TrackerOutput(result, np.zeros((0, height, width), dtype=bool))
