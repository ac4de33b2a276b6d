"""Drawing a frame's result: object masks tinted per id, grasp rectangles (jaws thick), ids and scores.

Used by the tracker node's ``~/debug_image``, ``spgrasp demo``'s annotated video and evaluation pictures.
ROS-free: RGB uint8 arrays in, RGB uint8 arrays out.
"""

from __future__ import annotations

import colorsys
import dataclasses

import cv2
import numpy as np

from spgrasp_ros.grasps.rectangles import grasp_corners
from spgrasp_ros.results import FrameResult, Grasp


def object_colour(object_id: int) -> tuple[int, int, int]:
    """A bright RGB colour per object id, stable across frames (golden-ratio hue steps)."""
    hue = (object_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_grasp(image: np.ndarray, grasp: Grasp, colour: tuple[int, int, int], thickness: int = 1) -> None:
    """Draw one grasp rectangle in place: the two jaw edges thick, the opening edges thin."""
    corners = grasp_corners(np.array([grasp.center]), np.array([grasp.angle]), np.array([grasp.width]),
                            np.array([grasp.jaw_size]))[0]
    points = np.round(corners).astype(np.int32)
    for k in range(4):
        a, b = points[k], points[(k + 1) % 4]
        # grasp_corners orders the corners so edges 1->2 and 3->0 are the jaws
        cv2.line(image, tuple(int(v) for v in a), tuple(int(v) for v in b), colour,
                 thickness * (2 if k in (1, 3) else 1), cv2.LINE_AA)
    cx, cy = (int(round(v)) for v in grasp.center)
    cv2.circle(image, (cx, cy), max(1, thickness), colour, -1, cv2.LINE_AA)


def _scaled(result: FrameResult, factor: int) -> FrameResult:
    """The result in the pixels of an image ``factor`` times larger."""
    grasps = tuple(dataclasses.replace(g, center=(g.center[0] * factor, g.center[1] * factor),
                                       width=g.width * factor, jaw_size=g.jaw_size * factor) for g in result.grasps)
    objects = tuple(dataclasses.replace(o, bbox=tuple(v * factor for v in o.bbox)) for o in result.objects)
    return dataclasses.replace(result, grasps=grasps, objects=objects)


def draw_result(rgb: np.ndarray, result: FrameResult, masks: np.ndarray | None = None, grasps_per_object: int = 1,
                mask_alpha: float = 0.45, label: str | None = None, upscale: int = 1) -> np.ndarray:
    """A copy of ``rgb`` (HxWx3 uint8) with the result drawn on it.

    masks: [N, H, W] bool in the order of ``result.objects`` (``TrackerOutput.masks``) or None;
    grasps_per_object: how many of each object's best grasps to draw (the best one thicker);
    upscale: draw on the image enlarged this many times (nearest), for small frames.
    """
    if upscale > 1:
        rgb = cv2.resize(rgb, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
        if masks is not None and len(masks):
            masks = masks.repeat(upscale, axis=1).repeat(upscale, axis=2)
        result = _scaled(result, upscale)
    out = rgb.copy()
    scale = max(1, round(max(rgb.shape[:2]) / 480))
    if masks is not None and len(masks):
        tint = out.astype(np.float32)
        for state, mask in zip(result.objects, masks):
            if mask.any():
                tint[mask] = (1 - mask_alpha) * tint[mask] + mask_alpha * np.array(object_colour(state.id))
        out = tint.astype(np.uint8)
    for state in result.objects:
        colour = object_colour(state.id)
        for rank, grasp in enumerate(result.grasps_of(state.id)[:grasps_per_object]):
            draw_grasp(out, grasp, colour if rank == 0 else tuple(c // 2 for c in colour),
                       thickness=scale * (2 if rank == 0 else 1))
        x0, y0 = state.bbox[:2]
        text = f"{state.id}" + ("" if state.visible else " lost")
        if not state.visible:
            x0, y0 = 4, 14 * scale * (1 + state.id % 8)
        cv2.putText(out, text, (int(x0), max(int(y0) - 3, 10 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale,
                    colour, scale, cv2.LINE_AA)
    if label:
        cv2.putText(out, label, (4, out.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, (255, 255, 255),
                    scale, cv2.LINE_AA)
    return out
