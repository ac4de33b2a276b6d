"""The standard grasp-rectangle metric (Jiang et al. 2011; used by SPGrasp, Mei et al. 2025, Sec. IV).

A predicted grasp is correct when, for at least one ground-truth rectangle of the same object, the angle
difference is below 30 degrees (modulo 180) and the rectangle IoU (Jaccard index) is above 0.25. A prediction
with a non-finite corner or angle (NaN) matches nothing: it counts as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spgrasp_ros.grasps.rectangles import angle_difference, rectangle_iou


@dataclass(frozen=True)
class RectangleMetric:
    """Thresholds of the rectangle metric (the paper's values as defaults)."""

    iou_threshold: float = 0.25  # correct needs IoU strictly above this
    angle_threshold_deg: float = 30.0  # correct needs the angle difference strictly below this

    def match_matrix(self, pred_corners: np.ndarray, pred_angles: np.ndarray,
                     gt_corners: np.ndarray, gt_angles: np.ndarray) -> np.ndarray:
        """[N, M] bool: prediction n matches ground truth m. Corners [N|M, 4, 2], angles [N|M] rad; rows with
        a non-finite value (either side) match nothing."""
        pred_corners = np.asarray(pred_corners, dtype=np.float64).reshape(-1, 4, 2)
        gt_corners = np.asarray(gt_corners, dtype=np.float64).reshape(-1, 4, 2)
        pred_angles = np.asarray(pred_angles, dtype=np.float64).reshape(-1)
        gt_angles = np.asarray(gt_angles, dtype=np.float64).reshape(-1)
        matches = np.zeros((len(pred_corners), len(gt_corners)), dtype=bool)
        pred_ok = np.isfinite(pred_corners).all(axis=(1, 2)) & np.isfinite(pred_angles)
        gt_ok = np.isfinite(gt_corners).all(axis=(1, 2)) & np.isfinite(gt_angles)
        if not pred_ok.any() or not gt_ok.any():
            return matches
        close_angle = angle_difference(pred_angles[pred_ok, None], gt_angles[None, gt_ok]) \
            < np.deg2rad(self.angle_threshold_deg)
        iou = rectangle_iou(pred_corners[pred_ok], gt_corners[gt_ok])
        matches[np.ix_(pred_ok, gt_ok)] = close_angle & (iou > self.iou_threshold)
        return matches

    def is_correct(self, pred_corners: np.ndarray, pred_angles: np.ndarray,
                   gt_corners: np.ndarray, gt_angles: np.ndarray) -> np.ndarray:
        """[N] bool: each prediction matches at least one ground-truth rectangle."""
        return self.match_matrix(pred_corners, pred_angles, gt_corners, gt_angles).any(axis=1)
