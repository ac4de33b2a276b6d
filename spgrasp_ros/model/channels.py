"""The grasp decoder's five output channels: their order and activations, in one place.

SPGrasp (Mei et al., 2025, Sec. III-C) decodes C = 5 maps per object, one per mask token of the SAM 2 mask
decoder. The order follows the public reference code:

| index | name      | activation | meaning after activation                                             |
|-------|-----------|------------|----------------------------------------------------------------------|
| 0     | POSITION  | sigmoid    | grasp quality: a good grasp centre here, in [0, 1]                   |
| 1     | COS2      | tanh       | cos(2 theta) of the grasp angle theta, in [-1, 1]                    |
| 2     | SIN2      | tanh       | sin(2 theta), in [-1, 1]                                             |
| 3     | WIDTH     | sigmoid    | opening width / width_scale, in [0, 1] (model-input pixels)          |
| 4     | OBJECT    | sigmoid    | object mask probability (SAM 2's own mask: the logits feed memory)   |

The angle is recovered as theta = 1/2 atan2(sin 2theta, cos 2theta) (paper Eq. 6), which is unchanged by a
half turn, as a parallel-jaw grasp is. The model returns logits; ``activate`` applies the table.
"""

from __future__ import annotations

import torch

POSITION, COS2, SIN2, WIDTH, OBJECT = range(5)
NUM_CHANNELS = 5
NAMES = ("position", "cos2", "sin2", "width", "object")
SIGMOID_CHANNELS = (POSITION, WIDTH, OBJECT)
TANH_CHANNELS = (COS2, SIN2)


def activate(logits: torch.Tensor) -> torch.Tensor:
    """[..., 5, H, W] logits -> [..., 5, H, W] maps (sigmoid on 0/3/4, tanh on 1/2)."""
    if logits.shape[-3] != NUM_CHANNELS:
        raise ValueError(f"expected {NUM_CHANNELS} channels in dim -3, got shape {list(logits.shape)}")
    maps = torch.sigmoid(logits)
    maps[..., COS2, :, :] = torch.tanh(logits[..., COS2, :, :])
    maps[..., SIN2, :, :] = torch.tanh(logits[..., SIN2, :, :])
    return maps


def angle_from_maps(cos2: torch.Tensor, sin2: torch.Tensor) -> torch.Tensor:
    """Grasp angle theta = 1/2 atan2(sin 2theta, cos 2theta), in (-pi/2, pi/2]."""
    return 0.5 * torch.atan2(sin2, cos2)
