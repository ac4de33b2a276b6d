"""Camera image -> the model's normalised square input: one function for the tracker and for training."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from spgrasp_ros.grasps.frame_geometry import RESIZE, FrameGeometry

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # sam2's input normalisation
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalise_frame(frame: torch.Tensor, geometry: FrameGeometry) -> torch.Tensor:
    """[B, 3, H, W] uint8 RGB -> [B, 3, S, S] float32: resized as ``geometry`` says (bilinear, antialiased
    when shrinking), normalised with ImageNet mean/std, letterbox padding zero (the mean colour)."""
    mean = torch.tensor(IMAGENET_MEAN, device=frame.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=frame.device).view(1, 3, 1, 1)
    width, height = geometry.resized_size
    image = F.interpolate(frame.float() / 255.0, size=(height, width), mode="bilinear", align_corners=False,
                          antialias=True)
    image = (image - mean) / std
    if geometry.mode != RESIZE:
        x0, y0, x1, y1 = geometry.content_box
        size = geometry.model_size
        image = F.pad(image, (x0, size - x1, y0, size - y1))
    return image
