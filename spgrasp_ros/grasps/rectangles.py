"""Grasp rectangles: corners from (center, angle, width, jaw size), back again, and exact polygon IoU.

Conventions (``msg/Grasp.msg``): pixels, x right, y down; ``angle`` is the closing direction (jaw to jaw)
from +x toward +y; ``width`` is the rectangle's extent along the closing direction, ``jaw_size`` across it.
Corners are ordered around the rectangle: the first edge (corner 0 -> 1) runs along the closing direction.
"""

from __future__ import annotations

import numpy as np
import shapely

from spgrasp_ros.results import wrap_grasp_angle


def grasp_corners(center: np.ndarray, angle: np.ndarray, width: np.ndarray, jaw_size: np.ndarray) -> np.ndarray:
    """Rectangle corners of N grasps.

    center: [N, 2] (x, y); angle, width, jaw_size: [N] (scalars broadcast). Returns [N, 4, 2]:
    c - d*w/2 - n*h/2, c + d*w/2 - n*h/2, c + d*w/2 + n*h/2, c - d*w/2 + n*h/2, with d the closing
    direction (cos a, sin a) and n = (-sin a, cos a).
    """
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    angle, width, jaw = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64).reshape(-1)
                                              for v in (angle, width, jaw_size)))
    closing = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * (width / 2)[:, None]
    across = np.stack([-np.sin(angle), np.cos(angle)], axis=-1) * (jaw / 2)[:, None]
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)  # (closing, across) per corner
    return center[:, None, :] + signs[None, :, :1] * closing[:, None, :] + signs[None, :, 1:] * across[:, None, :]


def grasp_from_corners(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of ``grasp_corners`` for N rectangles [N, 4, 2] whose first edge is the closing direction.

    Returns center [N, 2], angle [N] in [-pi/2, pi/2), width [N] (length of edge 0->1), jaw size [N]
    (length of edge 1->2). Corner sets that are not exact rectangles (annotation noise) get their mean centre
    and the mean length of opposite edges.
    """
    corners = np.asarray(corners, dtype=np.float64).reshape(-1, 4, 2)
    center = corners.mean(axis=1)
    closing = ((corners[:, 1] - corners[:, 0]) + (corners[:, 2] - corners[:, 3])) / 2
    across = ((corners[:, 2] - corners[:, 1]) + (corners[:, 3] - corners[:, 0])) / 2
    angle = np.arctan2(closing[:, 1], closing[:, 0])
    angle = wrap_grasp_angle(angle)
    return center, angle, np.linalg.norm(closing, axis=1), np.linalg.norm(across, axis=1)


def rectangle_polygons(corners: np.ndarray) -> np.ndarray:
    """Shapely polygons of [N, 4, 2] corners (object array [N])."""
    return shapely.polygons(np.asarray(corners, dtype=np.float64).reshape(-1, 4, 2))


def rectangle_iou(corners_a: np.ndarray, corners_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU (exact polygon intersection over union) of [N, 4, 2] and [M, 4, 2] -> [N, M]."""
    polygons_a = rectangle_polygons(corners_a)
    polygons_b = rectangle_polygons(corners_b)
    a, b = np.meshgrid(polygons_a, polygons_b, indexing="ij")
    intersection = shapely.area(shapely.intersection(a, b))
    union = shapely.area(a) + shapely.area(b) - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, intersection / union, 0.0)


def angle_difference(angle_a: np.ndarray, angle_b: np.ndarray) -> np.ndarray:
    """Absolute difference of grasp angles modulo a half turn, in [0, pi/2] (broadcasting)."""
    diff = np.abs(np.asarray(angle_a, dtype=np.float64) - np.asarray(angle_b, dtype=np.float64)) % np.pi
    return np.minimum(diff, np.pi - diff)
