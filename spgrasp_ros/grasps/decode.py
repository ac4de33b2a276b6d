"""From the five activated maps of N objects to their top-k 4-DoF grasps, on the maps' device.

Grasp centres are local maxima of the position map inside the object's mask (SPGrasp, Mei et al. 2025,
Sec. III-C): a pixel is a candidate when it equals the maximum of its (2 * min_distance + 1)^2 neighbourhood
and exceeds ``position_threshold``; candidates are then taken best first, each one suppressing the others
within ``min_distance`` (so a plateau, e.g. a saturated sigmoid, yields one grasp, not several). Candidates
are ranked on the position map smoothed by a 3x3 mean (``peak_smoothing``), which puts a plateau's pick at
its centre rather than its first pixel; the reported score is the unsmoothed value.

The angle at a peak is 1/2 atan2(sin, cos) and the width the width map times ``width_scale``, both read from
the position-weighted mean over a ``readout_window`` around the peak (this package's addition; the paper reads
the peak pixel, window 1): one pixel's angle is noisy, the mean is not. Angle vectors pointing against the
peak's own are negated before they are added: a square's two valid closing directions (θ and θ + 90°) are
opposite (cos 2θ, sin 2θ) vectors and would otherwise cancel.

Everything stays batched on the device until one copy of [N, K] results back.
Positions are returned in model-input pixels (continuous, origin at the top-left corner); map them to the
input image with ``FrameGeometry.grasps_to_input``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from spgrasp_ros.model.channels import COS2, NUM_CHANNELS, OBJECT, POSITION, SIN2, WIDTH, angle_from_maps


@dataclass(frozen=True)
class DecodeConfig:
    """Peak picking and de-normalisation of the grasp maps."""

    position_threshold: float = 0.2  # a peak's position value must exceed this
    mask_threshold: float = 0.5  # object-mask probability above which a pixel belongs to the object
    min_distance: int = 2  # [map px] peaks closer than this to a higher one are suppressed
    top_k: int = 5  # grasps per object at most
    width_scale: float = 100.0  # [model px] width map value 1.0 corresponds to this opening
    jaw_ratio: float = 0.5  # jaw size = jaw_ratio * width (rectangles for drawing and the metric)
    peak_smoothing: bool = True  # rank candidates on a 3x3 mean of the position map (centres plateaus)
    readout_window: int = 5  # [map px, odd] a peak's angle and width are position-weighted means over this
    #                          window (1: the peak pixel's own values, the paper's readout)

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.min_distance < 0 or self.width_scale <= 0 or self.jaw_ratio <= 0 or \
                self.readout_window < 1 or self.readout_window % 2 == 0:
            raise ValueError(f"invalid grasp decoding settings: {self}")


@dataclass(frozen=True)
class DecodedGrasps:
    """Per object, K grasp slots best first; ``valid`` marks the filled ones. All tensors share a device.

    scores [N, K]; centers [N, K, 2] (x, y) model px; angles [N, K] rad in [-pi/2, pi/2); widths [N, K]
    model px;
    valid [N, K] bool.
    """

    scores: torch.Tensor
    centers: torch.Tensor
    angles: torch.Tensor
    widths: torch.Tensor
    valid: torch.Tensor


def decode_grasps(maps: torch.Tensor, model_size: int, config: DecodeConfig = DecodeConfig(),
                  valid_region: torch.Tensor | None = None) -> DecodedGrasps:
    """maps: [N, 5, h, w] activated (``channels.activate``) -> top-k grasps per object.

    ``model_size`` is the side of the square model input the maps cover (they may be smaller, e.g. 1/4);
    ``valid_region`` ([h, w] bool, optional) limits grasp centres, e.g. to the image inside a letterbox.
    """
    if maps.ndim != 4 or maps.shape[1] != NUM_CHANNELS:
        raise ValueError(f"maps must be [N, {NUM_CHANNELS}, h, w], got {list(maps.shape)}")
    n, _, h, w = maps.shape
    position = maps[:, POSITION] * (maps[:, OBJECT] > config.mask_threshold)
    if valid_region is not None:
        position = position * valid_region
    ranking = position
    if config.peak_smoothing:
        ranking = F.avg_pool2d(position[:, None], 3, stride=1, padding=1, count_include_pad=False)[:, 0]
        ranking = ranking * (position > 0)  # never rank a pixel outside the mask or the valid region
    size = 2 * config.min_distance + 1
    local_max = F.max_pool2d(ranking[:, None], size, stride=1, padding=config.min_distance)[:, 0]
    peaks = (ranking >= local_max) & (position > config.position_threshold)
    candidates = torch.where(peaks, ranking, torch.full_like(ranking, -1.0)).reshape(n, -1)
    k = min(config.top_k, h * w)
    grid_rows = torch.arange(h, device=maps.device).repeat_interleave(w)  # [h*w]
    grid_cols = torch.arange(w, device=maps.device).repeat(h)
    picked_scores, picked_index = [], []
    for _ in range(k):  # greedy suppression, k is small
        best, where = candidates.max(dim=1)  # [N]
        picked_scores.append(best)
        picked_index.append(where)
        near = ((grid_rows[None] - (where // w)[:, None]).abs() <= config.min_distance) & \
            ((grid_cols[None] - (where % w)[:, None]).abs() <= config.min_distance)
        candidates = candidates.masked_fill(near, -1.0)
    index = torch.stack(picked_index, 1)
    valid = torch.stack(picked_scores, 1) >= 0  # a real candidate (suppressed and empty slots are -1)
    scores = position.reshape(n, -1).gather(1, index)
    rows, cols = index // w, index % w
    if config.readout_window > 1:
        cos2, sin2, width = _window_readout(maps, position, rows, cols, config.readout_window)
    else:
        flat = maps.reshape(n, NUM_CHANNELS, -1)
        cos2, sin2, width = (flat[:, channel].gather(1, index) for channel in (COS2, SIN2, WIDTH))
    angles = torch.remainder(angle_from_maps(cos2, sin2) + torch.pi / 2, torch.pi) - torch.pi / 2
    widths = width * config.width_scale
    scale = torch.tensor([model_size / w, model_size / h], dtype=maps.dtype, device=maps.device)
    centers = (torch.stack([cols, rows], dim=-1).to(maps.dtype) + 0.5) * scale
    return DecodedGrasps(scores.clamp(min=0), centers, angles, widths, valid)


def _window_readout(maps: torch.Tensor, position: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                    window: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """cos 2θ, sin 2θ and width at the picked peaks (``rows``, ``cols`` [N, K] map px), each [N, K]: their
    ``position``-weighted means over the ``window`` x ``window`` neighbourhood of each peak (cells off the map
    weigh nothing). Angle vectors that point against the peak's own (θ more than 45° apart) are negated first,
    so a square's two valid closing directions (θ and θ + 90°: opposite vectors) add up instead of cancelling.
    Only the K peaks' neighbourhoods are read, never the whole map."""
    n, _, h, w = maps.shape
    k = rows.shape[1]
    offsets = torch.arange(-(window // 2), window // 2 + 1, device=maps.device)
    near_rows = rows[..., None, None] + offsets[:, None]  # [N, K, window, 1]
    near_cols = cols[..., None, None] + offsets[None, :]  # [N, K, 1, window]
    on_map = ((near_rows >= 0) & (near_rows < h) & (near_cols >= 0) & (near_cols < w)).reshape(n, k, -1)
    index = (near_rows.clamp(0, h - 1) * w + near_cols.clamp(0, w - 1)).reshape(n, -1)

    def gather(values: torch.Tensor) -> torch.Tensor:  # [N, h, w] -> [N, K, window^2]
        return values.reshape(n, -1).gather(1, index).reshape(n, k, -1)

    weight = gather(position) * on_map
    cos2, sin2, width = gather(maps[:, COS2]), gather(maps[:, SIN2]), gather(maps[:, WIDTH])
    centre = window * window // 2  # the peak itself
    dot = cos2 * cos2[..., centre:centre + 1] + sin2 * sin2[..., centre:centre + 1]
    agree = torch.where(dot >= 0, 1.0, -1.0)
    total = weight.sum(-1)
    found = total > 1e-6  # an empty slot's cell may have no weight around it: it keeps its own values

    def mean(values: torch.Tensor) -> torch.Tensor:
        return torch.where(found, (values * weight).sum(-1) / total.clamp(min=1e-6), values[..., centre])

    return mean(cos2 * agree), mean(sin2 * agree), mean(width)
