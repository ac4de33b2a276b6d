"""The harder scene options of ``data.synthetic``: look-alike twins, leaving and re-entering the view, a moving
camera, moving light, cluttered starts and backgrounds of any saturation and texture.

Each piece draws from its own random stream (``stream``), never from the scene's main one, so that a scene with
every option off is the scene the bundled model was trained on, and switching one option on leaves what the
others draw unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

from spgrasp_ros.data.synthetic_bodies import Body, inside, move

STREAMS = {"twins": 1, "reentry": 2, "camera": 3, "lighting": 4, "background": 5}
BACKGROUNDS = ("smooth", "saturated", "stripes", "checker", "noise")  # what background "any" chooses among


def stream(seed: int, option: str) -> np.random.Generator:
    """The random stream of one scene option for the scene of ``seed``."""
    return np.random.default_rng([seed, 14, STREAMS[option]])


# --- where objects start ------------------------------------------------------------------------------------

def cluster_cells(count: int, width: int, height: int) -> list[tuple[float, float, float, float]]:
    """Start boxes packed around the image centre, two rows, about one object size apart: neighbours touch."""
    spacing, jitter = 0.26 * min(width, height), 3.0
    rows = [count - count // 2, count // 2]
    cells = []
    for row, n in enumerate(rows):
        y = height / 2 + (row - 0.5) * spacing
        for i in range(n):
            x = width / 2 + (i - (n - 1) / 2) * spacing
            cells.append((x - jitter, y - jitter, x + jitter, y + jitter))
    return cells


# --- look-alike twins ---------------------------------------------------------------------------------------

def plan_twin(rng: np.random.Generator, original: Body, frames: int, width: int, height: int,
              max_speed: float) -> Body:
    """A look-alike of ``original`` (same shape, size, colour, spin) that starts elsewhere (clear of it where
    the bouncing band allows) and moves in a straight line so that the two cross (nearly coincide, a random
    fraction of a thickness apart) around the middle of the clip."""
    meet_time = max(1, frames // 2 + int(rng.integers(-(frames // 8), frames // 8 + 1)))
    ghost = dataclasses.replace(original, position=original.position.copy(), velocity=original.velocity.copy())
    for _ in range(meet_time):
        move(ghost, width, height)
    across = np.array([-math.sin(ghost.angle), math.cos(ghost.angle)])
    meet = ghost.position + rng.uniform(-0.25, 0.25) * original.thickness * across
    margin = original.length / 2
    low, high = np.full(2, margin), np.array([width, height]) - margin
    meet = np.clip(meet, low, high)
    best, best_gap = None, -1.0
    for attempt in range(96):  # a start inside the bouncing band, clear of where the original starts
        faster = 1.0 if attempt < 48 else 2.0  # up to twice max_speed when the band is too tight
        heading, speed = rng.uniform(0, 2 * math.pi), rng.uniform(0.5, 1.0) * faster * max(max_speed, 1e-6)
        start = meet - speed * meet_time * np.array([math.cos(heading), math.sin(heading)])
        if np.any(start < low) or np.any(start > high):
            continue
        gap = float(np.linalg.norm(start - original.position))
        if gap > best_gap:
            best, best_gap = start, gap
        if gap >= 2 * original.radius:
            break
    if best is None:
        best = np.clip(meet + (meet - original.position), low, high)
    angle = ghost.angle + rng.uniform(-0.25, 0.25) - original.spin * meet_time
    return dataclasses.replace(original, colour=original.colour.copy(), position=best, angle=angle,
                               velocity=(meet - best) / meet_time)


# --- leaving and re-entering the view -----------------------------------------------------------------------

_NORMALS = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])  # outward: left, right, top, bottom


@dataclass
class Reentry:
    """One object leaves the view (no bounce), stays fully out, and re-enters from another border."""

    index: int  # which body
    out: int  # first frame it is fully out (its bounding circle is; the shape may be a frame or two earlier)
    back: int  # first frame after the stretch out (back - out frames, drawn from ``out_frames``): it comes in
    #            from just outside another border (the shape's first pixels may take a frame or two more)
    entry_position: np.ndarray
    entry_velocity: np.ndarray
    entering: bool = False

    @classmethod
    def plan(cls, rng: np.random.Generator, bodies: list[Body], candidates: list[int], frames: int,
             width: int, height: int, out_frames: tuple[int, int]) -> "Reentry":
        """Choose the object, the border it leaves by, when, for how long, and where it comes back."""
        index = candidates[int(rng.integers(len(candidates)))]
        body = bodies[index]
        size = np.array([width, height], dtype=float)
        gaps = np.concatenate([body.position, size - body.position])[[0, 2, 1, 3]]  # left, right, top, bottom
        side = int(np.argmin(gaps))
        turn = rng.uniform(-0.5, 0.5)
        c, s = math.cos(turn), math.sin(turn)
        heading = np.array([[c, -s], [s, c]]) @ _NORMALS[side]
        reach = (gaps[side] + body.radius + 1) / float(heading @ _NORMALS[side])  # centre radius + 1 px beyond
        out = int(min(max(2, math.ceil(reach / rng.uniform(2.5, 4.0))), max(2, int(0.35 * frames))))
        body.velocity = heading * reach / out
        back = out + int(rng.integers(out_frames[0], out_frames[1] + 1))
        side_in = [i for i in range(4) if i != side][int(rng.integers(3))]
        along = rng.uniform(0.3, 0.7)
        normal = _NORMALS[side_in]
        border = np.where(normal > 0, size, 0.0) + np.where(normal == 0, along * size, 0.0)
        start = border + normal * (body.radius + 1)
        turn = rng.uniform(-0.4, 0.4)
        c, s = math.cos(turn), math.sin(turn)
        inward = np.array([[c, -s], [s, c]]) @ -normal
        speed = min(max(float(np.linalg.norm(body.velocity)), (2 * body.radius + 2) / max(frames - back - 3, 1)),
                    2 * body.radius + 2)
        return cls(index, out, back, start, inward * speed)

    def move(self, t: int, body: Body, width: int, height: int) -> None:
        """Motion from frame t to t + 1: straight out, placed outside another border, straight in, then as
        every other body (bouncing) once it is inside the bouncing band."""
        if t + 1 == self.back:
            body.position, body.velocity, self.entering = self.entry_position.copy(), self.entry_velocity.copy(), True
        if t + 1 < self.back or (self.entering and not inside(body, width, height)):
            move(body, width, height, bounce=False)
            return
        self.entering = False
        move(body, width, height)


# --- camera ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Camera:
    """The view's position in the world per frame (offsets [T, 2] px) and the world margin drawn around it."""

    offsets: np.ndarray
    pad: int

    @classmethod
    def plan(cls, rng: np.random.Generator, frames: int, pan: float, shake: float) -> "Camera":
        """A smooth drift (two sinusoids, peak speed about ``pan`` px/frame, amplitude up to 20 px) plus
        per-frame jitter of ``shake`` px standard deviation."""
        amplitude = min(20.0, pan * max(frames, 1) / (2 * math.pi))
        omega = pan / amplitude if amplitude > 0 else 0.0
        heading, phase, phase2 = rng.uniform(0, 2 * math.pi, 3)
        along = np.array([math.cos(heading), math.sin(heading)])
        t = np.arange(frames, dtype=float)[:, None]
        drift = amplitude * np.sin(omega * t + phase) * along + \
            0.5 * amplitude * np.sin(0.7 * omega * t + phase2) * np.array([-along[1], along[0]])
        offsets = drift + rng.normal(0, shake, (frames, 2)) if shake > 0 else drift
        return cls(offsets, int(math.ceil(1.2 * amplitude + 4 * shake)) + 2)

    def view(self, world: np.ndarray, t: int, width: int, height: int) -> np.ndarray:
        """The view window of the world background (world origin at ``pad``) at frame t, subpixel."""
        x, y = self.offsets[t] + self.pad
        window = np.array([[1.0, 0.0, x], [0.0, 1.0, y]])
        return cv2.warpAffine(world, window, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT_101)


# --- lighting ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MovingLight:
    """A soft light spot crossing the view plus global brightness swings stronger than the default ones."""

    start: np.ndarray
    end: np.ndarray
    sigma: float
    strength: float
    swing: float
    cycles: float

    @classmethod
    def plan(cls, rng: np.random.Generator, width: int, height: int, amplitude: float) -> "MovingLight":
        """Spot path from one random point to another (partly outside the view), width and strength."""
        size = np.array([width, height], dtype=float)
        return cls(rng.uniform(-0.2, 1.2, 2) * size, rng.uniform(-0.2, 1.2, 2) * size,
                   rng.uniform(0.35, 0.6) * max(width, height), rng.uniform(0.3, 0.6),
                   max(2.5 * amplitude, 0.2), rng.uniform(0.7, 2.0))

    def gain(self, t: int, frames: int, phase: float, width: int, height: int) -> np.ndarray:
        """Per-pixel brightness factor [H, W, 1] at frame t."""
        f = t / max(frames - 1, 1)
        cx, cy = self.start + f * (self.end - self.start)
        y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
        spot = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * self.sigma ** 2))
        swing = 1.0 + self.swing * math.sin(2 * math.pi * self.cycles * f + phase)
        return (swing * (1.0 + self.strength * (spot - 0.5)))[..., None]


# --- backgrounds ------------------------------------------------------------------------------------------------

def _colour(hue: float, saturation: float, value: float) -> np.ndarray:
    hsv = np.array([[[hue % 360, saturation, value]]], dtype=np.float32)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64) * 255


def _hue(colour: np.ndarray) -> float:
    rgb = np.clip(colour, 0, 255).astype(np.float32)[None, None] / 255
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[0, 0, 0])


def any_background(rng: np.random.Generator, smooth: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    """One of ``BACKGROUNDS`` for the sequence: the smooth low-saturation one given, a strongly saturated
    colour field, stripes, a checkerboard, or high-frequency noise (two colours of any saturation); half of the
    time the field's hue or one of the two colours is an object's (camouflage)."""
    height, width = smooth.shape[:2]
    kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    if kind == "smooth":
        return smooth
    pair = [_colour(rng.uniform(0, 360), rng.uniform(0, 1), rng.uniform(0.35, 1.0)) for _ in range(2)]
    camouflage = bool(colours) and rng.uniform() < 0.5
    if camouflage:
        pair[0] = np.clip(colours[int(rng.integers(len(colours)))] + rng.normal(0, 12, 3), 0, 255)
    if kind == "saturated":
        hue = _hue(pair[0]) if camouflage else rng.uniform(0, 360)
        coarse = np.stack([_colour(hue + rng.uniform(-40, 40), rng.uniform(0.75, 1.0), rng.uniform(0.45, 1.0))
                           for _ in range(12)]).reshape(3, 4, 3)
        field = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    else:
        y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
        angle, half = rng.uniform(0, math.pi), rng.uniform(3, 12)  # stripe / square size [px]
        u, v = x * math.cos(angle) + y * math.sin(angle), -x * math.sin(angle) + y * math.cos(angle)
        if kind == "stripes":
            weight = np.floor(u / half) % 2
        elif kind == "checker":
            weight = (np.floor(u / half) + np.floor(v / half)) % 2
        else:  # high-frequency noise
            noise = cv2.GaussianBlur(rng.uniform(0, 1, (height, width)).astype(np.float32), (0, 0),
                                     rng.uniform(0.5, 1.0))
            weight = np.clip((noise - noise.mean()) / (noise.std() + 1e-6) * 0.5 + 0.5, 0, 1)
        w = weight.astype(np.float32)[..., None]
        field = w * pair[0].astype(np.float32) + (1 - w) * pair[1].astype(np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 8, (height, width, 3)).astype(np.float32), (0, 0), 1.0)
    return np.clip(field + grain, 0, 255)
