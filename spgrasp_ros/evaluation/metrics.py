"""The standard grasp-rectangle metric (Jiang et al. 2011; used by SPGrasp, Mei et al. 2025, Sec. IV).

A predicted grasp is correct when, for at least one ground-truth rectangle of the same object, the angle
difference is below 30 degrees (modulo 180) and the rectangle IoU (Jaccard index) is above 0.25.
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
        """[N, M] bool: prediction n matches ground truth m. Corners [N|M, 4, 2], angles [N|M] rad."""
        pred_corners = np.asarray(pred_corners).reshape(-1, 4, 2)
        gt_corners = np.asarray(gt_corners).reshape(-1, 4, 2)
        if len(pred_corners) == 0 or len(gt_corners) == 0:
            return np.zeros((len(pred_corners), len(gt_corners)), dtype=bool)
        close_angle = angle_difference(np.reshape(pred_angles, (-1, 1)), np.reshape(gt_angles, (1, -1))) \
            < np.deg2rad(self.angle_threshold_deg)
        return close_angle & (rectangle_iou(pred_corners, gt_corners) > self.iou_threshold)

    def is_correct(self, pred_corners: np.ndarray, pred_angles: np.ndarray,
                   gt_corners: np.ndarray, gt_angles: np.ndarray) -> np.ndarray:
        """[N] bool: each prediction matches at least one ground-truth rectangle."""
        return self.match_matrix(pred_corners, pred_angles, gt_corners, gt_angles).any(axis=1)
