"""Two tracks on one object: when the masks of two tracked objects cover the same place, only one can be there.

Look-alikes make this happen: when a target passes under its twin, both tracks' masks land on the visible
one, and exclusive masks then split it between them by logit, so each reports half an object and the memory
of both learns the same one. Multi-object trackers resolve such duplicates by motion (the classic
association rule): here, when two objects' masks overlap by IoU >= ``iou_threshold``, the object whose mask
box agrees less with its own box-filter prediction loses (a prompted object on its prompt frame always wins,
then the higher predicted agreement, then the higher object score). A loser's mask and grasp peaks are
cleared for this frame (it reads as not found: lost, its filter coasts), and its memory repeats its last
confident entry instead of learning the other object (``memory_selection.ConfidentFrames``).
``TrackerConfig.resolve_duplicates`` switches it on.
"""

from __future__ import annotations

import dataclasses

import torch

from spgrasp_ros.model.spgrasp import NO_OBJ_SCORE, HeadOutputs
from spgrasp_ros.tracker.search_window import box_iou, mask_boxes


def duplicate_losers(logits: torch.Tensor, predicted: torch.Tensor, scores: torch.Tensor, prompted: torch.Tensor,
                     image_size: int, iou_threshold: float) -> torch.Tensor:
    """[N] bool: the objects that lose a duplicate. ``logits`` [N, 1, h, w] mask logits of all tracked objects,
    ``predicted`` [N, 4] model px predicted boxes (NaN rows: none), ``scores`` [N] object score logits,
    ``prompted`` [N] bool (prompted on this frame)."""
    count = logits.shape[0]
    if count < 2:
        return torch.zeros(count, dtype=torch.bool, device=logits.device)
    masks = (logits[:, 0] > 0).flatten(1).float()
    inter = masks @ masks.T
    areas = masks.sum(dim=1)
    iou = inter / (areas[:, None] + areas[None, :] - inter).clamp(min=1.0)
    boxes, _ = mask_boxes(logits, image_size)
    known = ~torch.isnan(predicted).any(dim=1)
    agreement = torch.where(known, box_iou(boxes, torch.nan_to_num(predicted)), torch.zeros_like(areas))
    rank = agreement + 2.0 * prompted.float()  # a prompt outranks any agreement
    index = torch.arange(count, device=logits.device)
    # row i, column j: j outranks i (rank, then object score, then the lower index)
    earlier = (scores[None, :] == scores[:, None]) & (index[None, :] < index[:, None])
    beaten = (rank[None, :] > rank[:, None]) | ((rank[None, :] == rank[:, None]) &
                                                ((scores[None, :] > scores[:, None]) | earlier))
    overlapping = (iou >= iou_threshold) & (index[None, :] != index[:, None])
    return (overlapping & beaten).any(dim=1) & ~prompted


def clear_losers(head: HeadOutputs, losers: torch.Tensor, image_size: int) -> HeadOutputs:
    """``head`` with the mask and grasp-position logits of ``losers`` [B] bool set to NO_OBJ_SCORE."""
    if not bool(losers.any()):
        return head
    gone = losers[:, None, None, None]
    low = head.object_logits.masked_fill(gone, NO_OBJ_SCORE)
    grasp = torch.cat([head.grasp_logits[:, :1].masked_fill(gone, NO_OBJ_SCORE), head.grasp_logits[:, 1:]], 1)
    return dataclasses.replace(head, object_logits=low, object_logits_full=head.object_logits_full.masked_fill(
        gone, NO_OBJ_SCORE), grasp_logits=grasp)
