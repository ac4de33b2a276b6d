"""Parallel-jaw grasps from an object's mask (and depth), with no grasp training: the ``geometry`` grasp source.

The rule, per object (all in input-image pixels):

0. The mask is cleaned (``clean_mask``): its largest connected part, small holes filled, the outline closed;
   a mask filling at least ``hull_solidity`` of its convex hull is taken as the hull (a segmentation's notches
   and gaps would cut chords short; a ring or a handle's hole keeps it as it is); then grown by ``grow_px``.
1. The mask's centre of mass ``c`` and principal axes (``cv2.PCACompute`` of its pixels): the long axis ``a``
   with the object's extent ``[t_min, t_max]`` along it.
2. ``positions`` points along the long axis, ``c`` first, then alternately on either side, spread over the
   middle ``axis_span`` of the extent; a point off the mask (a ring's hole, a bent object) moves to the
   nearest mask pixel.
3. At each point, ``angles`` closing directions over the half turn: the chord of the mask through the point
   in each direction (the run of mask pixels containing the point, sampled every ``STEP_PX``). The grasp takes
   the direction of the shortest chord (refined by a parabola through it and its two neighbours): the
   object's local width there, jaw to jaw across it. Its two ends are the contacts on the contour, its middle
   the grasp centre.
4. Antipodal check: the contour's outward normals at both contacts (gradient of the smoothed mask) must lie
   within ``friction_cone_deg`` of the closing line, else the jaws would slide (an off-centre chord of a
   disc, a corner).
5. Opening = chord + ``max(margin_px, margin_ratio * chord)``; jaw size = ``jaw_ratio`` x opening. With depth,
   a grasp wider than ``max_opening_m`` at its depth is dropped (``max_opening_px`` without depth; 0 = none).
6. Score in [0, 1]: ``0.5 * central + 0.5 * narrow``, with ``central`` = 1 at the centre of mass falling to 0 at
   the ends of the span and ``narrow`` = the object's narrowest chord / this chord; with depth, times
   ``exp(-s / planarity_m)``, ``s`` the depth spread of the patches just inside the two contacts (flat faces
   to close on score higher than edges and curved rims).

Everything is vectorised with NumPy over points x directions x samples; a mask is cropped to its box first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
from scipy import ndimage

from spgrasp_ros.results import Grasp, wrap_grasp_angle

STEP_PX = 0.5  # chord sampling step
PAD_PX = 4  # background border around the cropped mask (contour normals at its edge)


@dataclass(frozen=True)
class GeometryConfig:
    """Settings of the mask-geometry grasp rule (module docstring)."""

    positions: int = 7  # points along the long axis
    angles: int = 18  # closing directions over the half turn (10 degree steps)
    axis_span: float = 0.7  # share of the long extent the points cover
    margin_ratio: float = 0.2  # opening = chord * (1 + margin_ratio), at least chord + margin_px
    margin_px: float = 2.0
    jaw_ratio: float = 0.5  # jaw size = jaw_ratio * opening
    max_opening_m: float = 0.08  # [m] the gripper's stroke (with depth)
    max_opening_px: float = 0.0  # [px] without depth; 0 = no limit
    planarity_m: float = 0.005  # [m] a depth spread at the contacts this large scales the score by 1/e
    contact_patch_px: int = 2  # half size of the depth patches at the contacts
    friction_cone_deg: float = 20.0  # contact normals this far off the closing line at most
    min_area_px: int = 12  # smaller masks get no grasp
    hole_fraction: float = 0.05  # holes in a mask smaller than this share of its area are filled (mask noise)
    hull_solidity: float = 0.5  # a mask filling at least this share of its convex hull is taken as the hull
    grow_px: int = 3  # [px] the mask grown by this much first: tracked masks, upsampled from the decoder's
    #                   quarter-resolution logits, fall short of the object's edges (1.5 px changes nothing on
    #                   exact masks: 99.9 % with the synthetic ground truth, against 100 % ungrown)
    top_k: int = 5

    def __post_init__(self) -> None:
        if self.positions < 1 or self.angles < 2:
            raise ValueError(f"geometry grasps need positions >= 1 and angles >= 2, got {self.positions}, "
                             f"{self.angles}")
        if not 0.0 < self.axis_span <= 1.0:
            raise ValueError(f"axis_span must be in (0, 1], got {self.axis_span}")


def _axis_offsets(t_min: float, t_max: float, config: GeometryConfig) -> np.ndarray:
    """[P] offsets along the long axis: 0 (the centre of mass) first, then alternately farther on each side."""
    half = config.axis_span * max(-t_min, t_max)
    count = config.positions
    if count == 1:
        return np.zeros(1)
    step = 2 * half / (count - 1)
    ladder = [0.0]
    for k in range(1, count):
        ladder.append(step * ((k + 1) // 2) * (1 if k % 2 else -1))
    return np.clip(np.array(ladder), t_min * config.axis_span, t_max * config.axis_span)


def _runs(field: np.ndarray, origins: np.ndarray, directions: np.ndarray, reach: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along each line (``origins`` [..., 2], ``directions`` [..., 2] unit, crop px): the distances [px] from
    the origin to the mask's edge forward and backward, sub-pixel (where the bilinearly sampled ``field``
    crosses 0.5), and whether the origin is on the mask. Shapes: the broadcast of origins and directions."""
    steps = np.arange(-reach, reach + 1) * STEP_PX
    samples = origins[..., None, :] + steps[:, None] * directions[..., None, :]  # [..., S, 2]
    shape = samples.shape[:-1]
    flat = samples.reshape(-1, samples.shape[-2], 2).astype(np.float32)
    values = cv2.remap(field, flat[..., 0], flat[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=0).reshape(shape)
    inside = values >= 0.5
    lengths = []
    for half in (values[..., reach:], values[..., reach::-1]):  # from the origin outward, each way
        count = np.cumprod(half >= 0.5, axis=-1).sum(-1)  # samples inside, the origin's included
        last = np.clip(count - 1, 0, half.shape[-1] - 1)
        after = np.clip(count, 0, half.shape[-1] - 1)
        v_in = np.take_along_axis(half, last[..., None], -1)[..., 0]
        v_out = np.where(count < half.shape[-1], np.take_along_axis(half, after[..., None], -1)[..., 0], 0.0)
        fraction = np.clip((v_in - 0.5) / np.maximum(v_in - v_out, 1e-6), 0.0, 1.0)
        lengths.append((np.maximum(count - 1, 0) + fraction) * STEP_PX)
    return lengths[0], lengths[1], inside[..., reach]


def clean_mask(mask: np.ndarray, hole_fraction: float, hull_solidity: float = 1.1) -> np.ndarray:
    """The mask's largest connected part, its small holes filled and its outline closed by one pixel: a
    segmentation's specks, pinholes and notches would cut the chords short. Holes of at least
    ``hole_fraction`` of the area (a ring's, a handle's) stay."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.astype(bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    part = (labels == largest).astype(np.uint8)
    part = cv2.morphologyEx(part, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    filled = ndimage.binary_fill_holes(part)
    holes, _ = ndimage.label(filled & ~part.astype(bool))
    sizes = np.bincount(holes.ravel())
    small = np.flatnonzero(sizes < hole_fraction * part.sum())
    cleaned = part.astype(bool) | np.isin(holes, small[small > 0])
    points = cv2.findNonZero(cleaned.astype(np.uint8))
    hull = np.zeros_like(part)
    cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
    return hull.astype(bool) if cleaned.sum() >= hull_solidity * hull.sum() else cleaned


def _onto_mask(origins: np.ndarray, crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """[P, 2] origins, each off the mask moved to the nearest mask pixel (``points``: the mask's, [N, 2])."""
    cols, rows = np.rint(origins[:, 0]).astype(int), np.rint(origins[:, 1]).astype(int)
    inside = (cols >= 0) & (cols < crop.shape[1]) & (rows >= 0) & (rows < crop.shape[0])
    inside[inside] = crop[rows[inside], cols[inside]]
    moved = origins.copy()
    for k in np.flatnonzero(~inside):
        moved[k] = points[np.argmin(((points - origins[k]) ** 2).sum(1))]
    return moved


def _outward_normals(crop: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function: [P, 2] contour points (crop px) -> [P, 2] unit outward normals there (the gradient of the
    smoothed mask, bilinearly sampled)."""
    smooth = cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 1.5)
    gx, gy = cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)

    def normals(points: np.ndarray) -> np.ndarray:
        x, y = points[None, :, 0].astype(np.float32), points[None, :, 1].astype(np.float32)
        sampled = [cv2.remap(g, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0] for g in (gx, gy)]
        normal = -np.stack(sampled, axis=1).astype(np.float64)  # the mask falls off outward
        return normal / np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)

    return normals


def mask_grasps(object_id: int, mask: np.ndarray, config: GeometryConfig = GeometryConfig(),
                depth_m: np.ndarray | None = None, fx: float | None = None) -> tuple[Grasp, ...]:
    """Grasps of one object from its [H, W] bool mask, best first (at most ``top_k``; none for a tiny mask).

    ``depth_m``: [H, W] registered depth [m] (NaN/0 = none) and ``fx`` [px], for the opening limit in metres
    and the contact planarity. Poses are not set here (``grasps.lift`` lifts them as for model grasps)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < config.min_area_px:
        return ()
    pad = PAD_PX + config.grow_px  # the crop's border of background: room to grow and for the normals
    x0, y0 = int(xs.min()) - pad, int(ys.min()) - pad
    crop = clean_mask(np.pad(mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1], pad), config.hole_fraction,
                      config.hull_solidity)
    if crop.sum() < config.min_area_px:
        return ()
    if config.grow_px > 0:
        size = 2 * config.grow_px + 1
        crop = cv2.dilate(crop.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))) > 0
    rows, cols = np.nonzero(crop)
    xs, ys = cols + x0, rows + y0
    points = np.stack([xs - x0, ys - y0], axis=1).astype(np.float32)
    mean, vectors = cv2.PCACompute(points, mean=None, maxComponents=2)
    centre, axis = mean[0].astype(np.float64), vectors[0].astype(np.float64)
    along = (points - centre) @ axis
    offsets = _axis_offsets(float(along.min()), float(along.max()), config)
    origins = _onto_mask(centre[None, :] + offsets[:, None] * axis[None, :], crop, points)  # [P, 2]
    thetas = np.arange(config.angles) * math.pi / config.angles  # [A]
    directions = np.stack([np.cos(thetas), np.sin(thetas)], axis=1)  # [A, 2]
    reach = int(math.ceil(math.hypot(*crop.shape) / STEP_PX)) + 2
    field = cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 0.7)  # the raster's staircase softened
    forward, backward, on_object = _runs(field, origins[:, None, :], directions[None, :, :], reach)  # [P, A]
    chord = np.where(on_object, forward + backward, np.inf)
    width = chord.min(axis=1)  # [P] the object's local width at each point
    keep = np.isfinite(width)
    if not keep.any():
        return ()
    best = np.argmin(chord, axis=1)  # [P] the narrowest direction, refined between its neighbours
    rows_p, count = np.arange(len(offsets)), config.angles
    before, at, after = (chord[rows_p, (best + k) % count] for k in (-1, 0, 1))
    curve = before - 2 * at + after
    shift = np.where(np.isfinite(curve) & (curve > 0), 0.5 * (before - after) / np.where(curve > 0, curve, 1), 0.0)
    mean_theta = (best + np.clip(shift, -0.5, 0.5)) * math.pi / count  # parabola through the three chords
    direction = np.stack([np.cos(mean_theta), np.sin(mean_theta)], axis=1)  # [P, 2]
    normals = _outward_normals(crop)
    for _ in range(2):  # the chord's direction, then the contact normals' (first order in the angle: exact)
        forward_px, backward_px, _ = _runs(field, origins, direction, reach)
        ends_f = origins + forward_px[:, None] * direction
        ends_b = origins - backward_px[:, None] * direction
        n_f, n_b = normals(ends_f), normals(ends_b)
        refined = n_f - n_b  # n_f points along +direction, n_b along -direction, on an antipodal pair
        length = np.linalg.norm(refined, axis=1, keepdims=True)
        direction = np.where(length > 0.5, refined / np.maximum(length, 1e-9), direction)
    width = np.linalg.norm(ends_f - ends_b, axis=1)
    limit = math.cos(math.radians(config.friction_cone_deg))  # antipodal: both normals within the cone
    keep &= ((n_f * direction).sum(1) >= limit) & ((n_b * -direction).sum(1) >= limit)
    if not keep.any():
        return ()
    offset = np.array([x0, y0]) + 0.5  # crop index -> image px (pixel centres at +0.5, msg/Grasp.msg)
    centres = (ends_f + ends_b) / 2 + offset  # [P, 2] image px
    contacts = np.stack([ends_f, ends_b], axis=1) + offset  # [P, 2, 2]
    opening = width + np.maximum(config.margin_px, config.margin_ratio * width)
    half = config.axis_span * max(-float(along.min()), float(along.max()), 1e-6)
    central = np.clip(1.0 - np.abs(offsets) / half, 0.0, 1.0)
    narrow = np.nanmin(np.where(keep, width, np.nan)) / np.where(keep, width, np.inf)
    score = 0.5 * central + 0.5 * narrow
    if depth_m is not None and fx:
        keep, score = _with_depth(depth_m, fx, centres, contacts, opening, keep, score, config)
    elif config.max_opening_px > 0:
        keep &= opening <= config.max_opening_px
    order = [k for k in np.argsort(-score, kind="stable") if keep[k]][:config.top_k]
    angles = wrap_grasp_angle(np.arctan2(direction[:, 1], direction[:, 0]))
    return tuple(Grasp(object_id=object_id, score=float(score[k]), center=(float(centres[k, 0]), float(centres[k, 1])),
                       angle=float(angles[k]), width=float(opening[k]), jaw_size=float(config.jaw_ratio * opening[k]))
                 for k in order)


def _patch_depths(depth_m: np.ndarray, point: np.ndarray, half: int) -> np.ndarray:
    x, y = int(math.floor(point[0])), int(math.floor(point[1]))  # the pixel holding the point (centres at +0.5)
    patch = depth_m[max(0, y - half):y + half + 1, max(0, x - half):x + half + 1]
    values = patch[np.isfinite(patch) & (patch > 0)]
    return values


def _with_depth(depth_m: np.ndarray, fx: float, centres: np.ndarray, contacts: np.ndarray, opening: np.ndarray,
                keep: np.ndarray, score: np.ndarray, config: GeometryConfig) -> tuple[np.ndarray, np.ndarray]:
    """Drop grasps wider than the gripper at their depth; weight the score by the contacts' flatness."""
    keep, score = keep.copy(), score.copy()
    for k in np.flatnonzero(keep):
        inward = centres[k] - contacts[k]  # [2, 2] from each contact toward the centre
        inward /= np.maximum(np.linalg.norm(inward, axis=1, keepdims=True), 1e-6)
        patches = [_patch_depths(depth_m, contacts[k, j] + inward[j] * (config.contact_patch_px + 1),
                                 config.contact_patch_px) for j in range(2)]
        centre_depth = _patch_depths(depth_m, centres[k], config.contact_patch_px)
        if len(centre_depth):
            if opening[k] * float(np.median(centre_depth)) / fx > config.max_opening_m:
                keep[k] = False
                continue
        spreads = [float(np.std(p)) for p in patches if len(p) >= 3]
        if spreads:
            score[k] *= math.exp(-max(spreads) / config.planarity_m)
    return keep, score
