"""Sparse prompts drawn as a dense map for SAM 2's mask-prompt input.

SAM 2 encodes a box as two corner tokens that the decoder must relate to the image through attention. A small
model trained from scratch learns that slowly and segments every object whatever the box (on the demo model,
masks from two different boxes on one image came out nearly the same early in training). Drawing
the same prompt as a map and feeding it through the prompt encoder's mask input (``PromptEncoder._embed_masks``,
added to every image token) tells each image position directly whether it lies in the box or near a click.
The sparse tokens are kept; the map is an addition, switched on by ``ModelConfig.dense_prompt``.

Map values: 1 inside the box or within ``click_radius`` of a positive click, -1 near a negative click, 0 elsewhere.
"""

from __future__ import annotations

import torch

BOX_START, BOX_END = 2, 3  # sam2's labels of a box's top-left and bottom-right corners
POSITIVE, NEGATIVE = 1, 0


def draw_prompt_map(coords: torch.Tensor, labels: torch.Tensor, image_size: int, map_size: tuple[int, int],
                    click_radius: float) -> torch.Tensor:
    """Prompts of B objects as maps.

    coords: [B, P, 2] (x, y) in model input px (0..image_size); labels: [B, P] int (2/3 box corners, 1/0 clicks,
    -1 padding); map_size: (H, W) of the output; click_radius in model input px. Returns [B, 1, H, W] float.
    """
    batch = coords.size(0)
    height, width = map_size
    device = coords.device
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) * (image_size / height)
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) * (image_size / width)
    grid_y, grid_x = ys[:, None], xs[None, :]  # [H, 1], [1, W]
    out = torch.zeros(batch, height, width, device=device)
    coords = coords.float()
    for b in range(batch):
        starts, ends = coords[b][labels[b] == BOX_START], coords[b][labels[b] == BOX_END]
        if len(starts) and len(ends):
            x0, y0 = torch.minimum(starts[0], ends[0])
            x1, y1 = torch.maximum(starts[0], ends[0])
            inside = (grid_x >= x0) & (grid_x <= x1) & (grid_y >= y0) & (grid_y <= y1)
            # a box thinner than one map cell still marks the cells it crosses
            centre_y = ((y0 + y1) / 2 * height / image_size).long().clamp(0, height - 1)
            centre_x = ((x0 + x1) / 2 * width / image_size).long().clamp(0, width - 1)
            inside[centre_y, centre_x] = True
            out[b][inside] = 1.0
        for value, label in ((1.0, POSITIVE), (-1.0, NEGATIVE)):
            for x, y in coords[b][labels[b] == label]:
                near = (grid_x - x) ** 2 + (grid_y - y) ** 2 <= click_radius ** 2
                near[int((y * height / image_size).clamp(0, height - 1)),
                     int((x * width / image_size).clamp(0, width - 1))] = True
                out[b][near] = value
    return out[:, None]
