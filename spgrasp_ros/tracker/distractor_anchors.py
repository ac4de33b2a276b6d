"""Distractor-aware memory: the frame that told an object from a look-alike stays in memory as an anchor.

DAM4SAM (Videnovic et al. 2025, "A Distractor-Aware Memory for Visual Object Tracking with SAM2", Sec. 3) keeps,
besides the recent frames, anchor frames written when a distractor is present and the target was still told
apart. Here, per object and batched:
- a tracking frame is *ambiguous* for an object when, among SAM 2's multimask candidates, another one scores
  within ``score_margin`` of the chosen one's predicted IoU while covering another place (its box overlaps
  the chosen box by IoU < ``max_box_iou``): something else looks like the object (``distractor_flags``);
- the frame becomes the object's anchor when it is ambiguous and trustworthy: the object reported visible,
  its mask about whole (``object_tracks.MOTION_AREA_GATE`` of its usual area) and, with the box filter, in
  agreement with the prediction (box IoU >= ``min_agreement``), at least ``min_spacing`` frames after its last
  anchor (``anchor_rows``);
- the cohort's bank holds one anchor entry beside the prompt frame's, as conditioning memory that memory
  attention always reads (``MemoryBank.set_anchor``): row b is object b's newest anchor (or its prompt memory
  while it has none). One entry, replaced in place: memory stays flat over any stream length.
``TrackerConfig.memory_anchors`` switches it on; ``AnchorRule`` holds the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spgrasp_ros.tracker.search_window import box_iou, mask_boxes


@dataclass(frozen=True)
class AnchorRule:
    """When a frame is ambiguous, and when it becomes an anchor (module notes)."""

    score_margin: float = 0.1  # another candidate within this of the chosen one's predicted IoU ...
    max_box_iou: float = 0.3  # ... whose box overlaps the chosen one's by less than this: a distractor
    min_agreement: float = 0.5  # the chosen mask's box IoU with the box filter's prediction, at least
    min_spacing: int = 5  # frames between two anchors of one object, at least


def distractor_flags(masks: torch.Tensor, iou: torch.Tensor, chosen: torch.Tensor, image_size: int,
                     rule: AnchorRule) -> tuple[torch.Tensor, torch.Tensor]:
    """([B] bool ambiguous, [B, 4] chosen candidate's box in model px) from multimask candidates ``masks``
    [B, K, h, w] (logits), their predicted ``iou`` [B, K] and the ``chosen`` index [B]."""
    batch, count = masks.shape[:2]
    boxes, found = mask_boxes(masks.reshape(batch * count, 1, *masks.shape[-2:]), image_size)
    boxes, found = boxes.reshape(batch, count, 4), found.reshape(batch, count)
    rows = torch.arange(batch, device=masks.device)
    best_box, best_iou = boxes[rows, chosen], iou.float()[rows, chosen]
    other = torch.ones_like(found)
    other[rows, chosen] = False
    elsewhere = box_iou(boxes, best_box[:, None]) < rule.max_box_iou
    close = iou.float() >= best_iou[:, None] - rule.score_margin
    return (other & found & elsewhere & close).any(dim=1), best_box


class CandidateProbe:
    """A candidate choice (``SPGrasp.forward_heads(choose=)``) that also records whether the frame was
    ambiguous for each object; wraps another choice (None: SAM 2's, the highest predicted IoU)."""

    def __init__(self, inner, image_size: int, rule: AnchorRule) -> None:
        self.inner, self.image_size, self.rule = inner, image_size, rule
        self.ambiguous: torch.Tensor | None = None  # [B] bool of the last call (None: no multimask frame)

    def __call__(self, masks: torch.Tensor, iou: torch.Tensor) -> torch.Tensor:
        chosen = self.inner(masks, iou) if self.inner is not None else torch.argmax(iou, dim=-1)
        self.ambiguous, _ = distractor_flags(masks, iou, chosen, self.image_size, self.rule)
        return chosen


def anchor_rows(ambiguous: np.ndarray, visible: np.ndarray, whole: np.ndarray, agreement: np.ndarray,
                frames_since_anchor: np.ndarray, rule: AnchorRule) -> np.ndarray:
    """[B] bool: the objects whose frame becomes their anchor (all inputs [B]; ``agreement`` NaN where there
    is no prediction, which then does not count against it)."""
    agrees = np.isnan(agreement) | (agreement >= rule.min_agreement)
    return ambiguous & visible & whole & agrees & (frames_since_anchor >= rule.min_spacing)
