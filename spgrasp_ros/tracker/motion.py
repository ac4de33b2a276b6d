"""Where each tracked object should be next: a constant-velocity Kalman filter on its box, batched over objects.

SAMURAI (Yang et al. 2024, "SAMURAI: Adapting Segment Anything Model for Zero-Shot Visual Tracking with
Motion-Aware Memory", Sec. 4.1) puts a Kalman filter on SAM 2's box: the state is the box centre, width and
height and their velocities, x = [cx, cy, w, h, vx, vy, vw, vh], propagated with a constant-velocity model
(x' = F x, P' = F P F^T + Q) and corrected with the box of the chosen mask (z = H x + noise). Its prediction
scores SAM 2's mask candidates and tells where a hidden object has gone. Here the filter runs on the host in
input-image pixels for all objects of a cohort at once ([B, 8] means, [B, 8, 8] covariances); noise scales with
the box size, so one setting serves small and large objects. An update with a box that is not found is a
prediction only, so a hidden object keeps moving the way it went.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)  # constant velocity: position += velocity each frame
_H = np.eye(4, 8)  # we measure the box (cx, cy, w, h)


@dataclass(frozen=True)
class MotionConfig:
    """Noise of the box filter, as fractions of the box's size (its larger side)."""

    position_noise: float = 0.05  # process noise of cx, cy, w, h per frame
    velocity_noise: float = 0.01  # process noise of their velocities per frame
    measurement_noise: float = 0.05  # noise of a measured box side or centre
    velocity_decay: float = 0.9  # a lost object's speed is multiplied by this each frame (it slows down rather
    #                              than flying off on a bad estimate); its size stays
    size_velocity: bool = False  # predict size changes from the box's growth rate (SAMURAI's state); off: the
    #                              size follows the measurements only (a shrinking mask cannot run the box away)


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """[..., 4] x0, y0, x1, y1 -> cx, cy, w, h."""
    return np.concatenate([(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], axis=-1)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """[..., 4] cx, cy, w, h -> x0, y0, x1, y1."""
    half = boxes[..., 2:] / 2
    return np.concatenate([boxes[..., :2] - half, boxes[..., :2] + half], axis=-1)


@dataclass
class BoxTracks:
    """The filter state of B objects: means [B, 8] (cx, cy, w, h, vx, vy, vw, vh) and covariances [B, 8, 8]."""

    mean: np.ndarray
    covariance: np.ndarray

    def boxes(self) -> np.ndarray:
        """[B, 4] x0, y0, x1, y1 of the current estimate."""
        return cxcywh_to_xyxy(self.mean[:, :4])

    def select(self, index: list[int]) -> "BoxTracks":
        """The tracks of the objects at ``index``."""
        return BoxTracks(self.mean[index].copy(), self.covariance[index].copy())


class BoxFilter:
    """Constant-velocity Kalman filter on boxes (module notes). Pure functions of ``BoxTracks``."""

    def __init__(self, config: MotionConfig | None = None) -> None:
        self.config = config or MotionConfig()

    def initiate(self, boxes: np.ndarray) -> BoxTracks:
        """Tracks at ``boxes`` [B, 4] (x0, y0, x1, y1) at rest, with the uncertainty of one measurement."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        mean = np.concatenate([xyxy_to_cxcywh(boxes), np.zeros_like(boxes)], axis=1)
        scale = self._scale(mean)
        deviation = np.concatenate([np.repeat(2 * self.config.measurement_noise * scale, 4, 1),
                                    np.repeat(10 * self.config.velocity_noise * scale, 4, 1)], axis=1)
        return BoxTracks(mean, np.einsum("bi,ij->bij", deviation ** 2, np.eye(8)))

    def predict(self, tracks: BoxTracks, lost: np.ndarray | None = None) -> BoxTracks:
        """One frame ahead. ``lost`` [B] bool: those objects keep their size and their speed decays
        (``velocity_decay``): a box measured while the object vanished must not shrink it to nothing."""
        mean = tracks.mean.copy()
        if lost is not None and lost.any():
            mean[lost, 4:6] *= self.config.velocity_decay
            mean[lost, 6:] = 0.0
        if not self.config.size_velocity:
            mean[:, 6:] = 0.0
        mean = mean @ _F.T
        mean[:, 2:4] = np.maximum(mean[:, 2:4], 1.0)
        scale = self._scale(tracks.mean)
        deviation = np.concatenate([np.repeat(self.config.position_noise * scale, 4, 1),
                                    np.repeat(self.config.velocity_noise * scale, 4, 1)], axis=1)
        covariance = _F @ tracks.covariance @ _F.T + np.einsum("bi,ij->bij", deviation ** 2, np.eye(8))
        return BoxTracks(mean, covariance)

    def update(self, tracks: BoxTracks, boxes: np.ndarray, found: np.ndarray) -> BoxTracks:
        """Correct the (predicted) ``tracks`` with measured ``boxes`` [B, 4] where ``found`` [B] bool."""
        found = np.asarray(found, dtype=bool)
        if not found.any():
            return tracks
        mean, covariance = tracks.mean.copy(), tracks.covariance.copy()
        m, p = mean[found], covariance[found]
        noise = (self.config.measurement_noise * self._scale(m)) ** 2
        innovation = xyxy_to_cxcywh(np.asarray(boxes, dtype=np.float64)[found]) - m[:, :4]
        s = _H @ p @ _H.T + np.einsum("bi,ij->bij", np.repeat(noise, 4, 1), np.eye(4))
        gain = p @ _H.T @ np.linalg.inv(s)
        mean[found] = m + np.einsum("bij,bj->bi", gain, innovation)
        covariance[found] = (np.eye(8) - gain @ _H) @ p
        return BoxTracks(mean, covariance)

    @staticmethod
    def _scale(mean: np.ndarray) -> np.ndarray:
        """[B, 1] the box's larger side (at least 1 px): noise is relative to the object's size."""
        return np.maximum(mean[:, 2:4].max(axis=1, keepdims=True), 1.0)
