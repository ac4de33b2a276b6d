"""The objects of the synthetic scenes (``data.synthetic``): shapes, their analytic grasps, drawing and motion.

Coordinates are the package's (pixel centres at i + 0.5). A body lives in world coordinates; the scene draws it
in the view at its world position minus the camera offset (``shifted``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

from spgrasp_ros.data.types import GraspSet

SHAPES = ("bar", "ellipse", "disc", "square")
SUBPIXEL_BITS = 4  # draw with 1/16 px precision (OpenCV's ``shift``)


@dataclass
class Body:
    """One object: shape, size, colour and its pose and motion (world coordinates)."""

    shape: str
    length: float  # long extent [px]
    thickness: float  # short extent [px] (= length for discs and squares)
    colour: np.ndarray
    position: np.ndarray  # centre (x, y) [px]
    angle: float  # orientation of the long axis [rad]
    velocity: np.ndarray
    spin: float

    @property
    def radius(self) -> float:
        """Distance from the centre to the farthest point of the shape [px]."""
        if self.shape in ("disc", "ellipse"):
            return self.length / 2
        return math.hypot(self.length, self.thickness) / 2


def shifted(body: Body, offset: np.ndarray | None) -> Body:
    """The body as the view sees it: moved by -offset (the camera's position in the world); None: itself."""
    return body if offset is None else dataclasses.replace(body, position=body.position - offset)


def _local_grasps(body: Body, margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grasps in the body frame (x along the long axis): centres [K, 2], closing angles [K], widths [K]."""
    m, length, thick = margin, body.length, body.thickness
    if body.shape == "bar":
        s = np.linspace(-0.3, 0.3, 5) * length
        return np.column_stack([s, 0 * s]), np.full(5, math.pi / 2), np.full(5, m * thick)
    if body.shape == "ellipse":
        a, b = length / 2, thick / 2
        s = np.linspace(-0.4, 0.4, 5) * a
        return np.column_stack([s, 0 * s]), np.full(5, math.pi / 2), m * 2 * b * np.sqrt(1 - (s / a) ** 2)
    if body.shape == "disc":
        angles = np.deg2rad(np.arange(0, 180, 15))
        return np.zeros((len(angles), 2)), angles, np.full(len(angles), m * length)
    offsets = np.array([-0.2, 0.0, 0.2]) * length  # square: centre and offsets along the jaws
    centres = np.concatenate([np.column_stack([0 * offsets, offsets]), np.column_stack([offsets, 0 * offsets])])
    angles = np.concatenate([np.zeros(3), np.full(3, math.pi / 2)])
    return centres, angles, np.full(6, m * length)


def body_grasps(body: Body, margin: float, jaw_ratio: float) -> GraspSet:
    """The body's ground-truth grasps in pixels (opening = margin * thickness, jaw = jaw_ratio * opening)."""
    centres, angles, widths = _local_grasps(body, margin)
    c, s = math.cos(body.angle), math.sin(body.angle)
    rotation = np.array([[c, -s], [s, c]])
    return GraspSet.create(centres @ rotation.T + body.position, angles + body.angle, widths, jaw_ratio * widths)


def draw(body: Body, canvas: np.ndarray, value, origin: tuple[int, int] = (0, 0)) -> None:
    """Draw the body's silhouette filled with ``value`` (a colour or a label) on a canvas whose top-left pixel
    is the whole pixel ``origin`` (x, y) of the image.

    OpenCV puts pixel centres at integer coordinates, this package at i + 0.5: shapes are drawn 0.5 px
    up-left of the package coordinates so that ground truth and pixels agree. The origin moves OpenCV's
    fixed-point input by whole pixels, so the raster is the same wherever the canvas lies.
    """
    unit = 1 << SUBPIXEL_BITS
    cx, cy = body.position[0] - 0.5, body.position[1] - 0.5
    centre = (round(cx * unit) - origin[0] * unit, round(cy * unit) - origin[1] * unit)
    degrees = math.degrees(body.angle)
    if body.shape == "disc":
        cv2.circle(canvas, centre, max(1, round(body.length / 2 * unit)), value, -1, cv2.LINE_8, SUBPIXEL_BITS)
    elif body.shape == "ellipse":
        axes = (max(1, round(body.length / 2 * unit)), max(1, round(body.thickness / 2 * unit)))
        cv2.ellipse(canvas, centre, axes, degrees, 0, 360, value, -1, cv2.LINE_8, SUBPIXEL_BITS)
    else:
        corners = cv2.boxPoints(((cx, cy), (body.length, body.thickness), degrees))
        points = np.round(corners * unit).astype(np.int32) - np.array(origin, dtype=np.int32) * unit
        cv2.fillPoly(canvas, [points], value, cv2.LINE_8, SUBPIXEL_BITS)


def full_area(body: Body) -> int:
    """Pixels the body covers wherever it is, in or out of the view: drawn on a canvas of its own around it
    (the raster it has in the image when it lies fully inside)."""
    half = math.ceil(body.radius) + 2
    origin = (int(math.floor(body.position[0])) - half, int(math.floor(body.position[1])) - half)
    canvas = np.zeros((2 * half + 1, 2 * half + 1), dtype=np.uint8)
    draw(body, canvas, 1, origin)
    return int(canvas.sum())


def inside(body: Body, width: int, height: int) -> bool:
    """Whether the centre is within the band where ``move`` bounces it (half a length from the borders)."""
    margin = body.length / 2
    return bool(np.all(body.position >= margin) and np.all(body.position <= np.array([width, height]) - margin))


def move(body: Body, width: int, height: int, bounce: bool = True) -> None:
    """One frame of motion; with ``bounce`` the centre reflects off the borders (half a length inside them)."""
    body.position = body.position + body.velocity
    body.angle += body.spin
    if not bounce:
        return
    margin = body.length / 2
    for axis, limit in ((0, width), (1, height)):
        if body.position[axis] < margin or body.position[axis] > limit - margin:
            body.velocity[axis] = -body.velocity[axis]
            body.position[axis] = np.clip(body.position[axis], margin, limit - margin)
