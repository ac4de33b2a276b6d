"""Search windows: where an object may be in the next frame, so masks and grasps elsewhere are ignored.

Objects do not jump: an object found in one frame is, in the next, near where it was. A tracker can therefore
restrict each object's mask and grasp peaks to a window around its last box (its prompt box on the prompt frame),
grown by a fraction of the object's size, and further for every frame it has been lost (it may have moved
while hidden). This is the classic search region of visual trackers applied on top of SPGrasp's memory; it
keeps a small model's grasps on the prompted object when its memory alone would drift to a look-alike. Off
(``window`` 0) reproduces the plain model.

All coordinates are model input pixels; windows are built at the decoder's map resolution.
"""

from __future__ import annotations

import torch


def grow_boxes(boxes: torch.Tensor, window: float, growth: float, frames_lost: torch.Tensor) -> torch.Tensor:
    """Boxes [B, 4] (x0, y0, x1, y1) grown on every side by ``window`` x their size plus ``growth`` x their
    size per lost frame ([B] ints)."""
    size = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).clamp(min=1.0)
    margin = size * (window + growth * frames_lost.to(boxes.dtype))
    return boxes + torch.stack([-margin, -margin, margin, margin], dim=1)


def window_masks(boxes: torch.Tensor, image_size: int, map_size: tuple[int, int]) -> torch.Tensor:
    """[B, 1, h, w] bool: the map cells whose centres lie inside each box (model px)."""
    height, width = map_size
    device = boxes.device
    ys = (torch.arange(height, device=device, dtype=boxes.dtype) + 0.5) * (image_size / height)
    xs = (torch.arange(width, device=device, dtype=boxes.dtype) + 0.5) * (image_size / width)
    x0, y0, x1, y1 = (boxes[:, k, None, None] for k in range(4))
    inside_x = (xs[None, None, :] >= x0) & (xs[None, None, :] <= x1)
    inside = inside_x & (ys[None, :, None] >= y0) & (ys[None, :, None] <= y1)
    return inside[:, None]


def mask_boxes(logits: torch.Tensor, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes [B, 4] (model px) around the positive cells of mask logits [B, 1, h, w], and [B] bool: non-empty."""
    height, width = logits.shape[-2:]
    positive = logits[:, 0] > 0
    rows, cols = positive.any(dim=2), positive.any(dim=1)
    found = rows.any(dim=1)
    index_y = torch.arange(height, device=logits.device)
    index_x = torch.arange(width, device=logits.device)
    big = torch.tensor(1 << 30, device=logits.device)
    y0 = torch.where(rows, index_y, big).amin(dim=1)
    y1 = torch.where(rows, index_y, -1).amax(dim=1) + 1
    x0 = torch.where(cols, index_x, big).amin(dim=1)
    x1 = torch.where(cols, index_x, -1).amax(dim=1) + 1
    scale = torch.tensor([image_size / width, image_size / height] * 2, device=logits.device)
    boxes = torch.stack([x0, y0, x1, y1], dim=1).float() * scale
    return boxes, found


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes [..., 4] (x0, y0, x1, y1) with boxes of the same shape (broadcasting); 0 for empty ones."""
    lo, hi = torch.maximum(a[..., :2], b[..., :2]), torch.minimum(a[..., 2:], b[..., 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=-1)
    union = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1) + (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-9), torch.zeros_like(union))


def candidate_chooser(predicted: torch.Tensor, weight: float, image_size: int):
    """SAMURAI's mask choice (Yang et al. 2024, Sec. 4.1): among a tracking frame's multimask candidates, the one
    with the highest ``weight`` x IoU(candidate's box, the motion prediction ``predicted`` [B, 4] model px) +
    (1 - ``weight``) x its predicted IoU. Objects without a prediction (NaN rows) keep SAM 2's choice."""
    known = ~torch.isnan(predicted).any(dim=1)

    def choose(masks: torch.Tensor, iou: torch.Tensor) -> torch.Tensor:
        batch, count = masks.shape[:2]
        boxes, found = mask_boxes(masks.reshape(batch * count, 1, *masks.shape[-2:]), image_size)
        agreement = box_iou(boxes.reshape(batch, count, 4), torch.nan_to_num(predicted)[:, None])
        agreement = agreement * found.reshape(batch, count)
        score = torch.where(known[:, None], weight * agreement + (1 - weight) * iou.float(), iou.float())
        return score.argmax(dim=-1)

    return choose
