"""Synthetic tabletop videos with analytic ground truth (``spgrasp synth``): what the demo model learns from.

Each sequence: a textured background, 1..N objects (bars, ellipses, discs, squares) of random colour and size
that slide and rotate (bouncing off the borders), slow global lighting changes and sensor noise, and an
occluder that hides one object completely for 1..8 frames. Per frame and object: the modal mask (what can be
seen), a visibility flag (at least ``min_visible_fraction`` of the object's own area can be seen), and the
grasps that are correct for the shape, derived analytically from its pose:

- bar (length L > thickness T): closing across the bar at 5 points along its middle 60 %, width = margin * T;
- ellipse (semi-axes a > b): closing across the minor axis at 5 points along the major one, width = margin *
  the local chord;
- disc (radius r): at the centre, any closing direction (every 15 degrees), width = margin * 2r;
- square (side d): closing along either side direction, at the centre and offset along the jaws.

The jaw size of every ground-truth rectangle is ``jaw_ratio`` * width (the decoder's convention). Everything
is deterministic given the seed. ``write_synthetic`` stores sequences in the recorded-sequence format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from spgrasp_ros.data.recorded import SequenceWriter
from spgrasp_ros.data.types import Frame, GraspSet, ObjectLabel, Sequence

SHAPES = ("bar", "ellipse", "disc", "square")


@dataclass(frozen=True)
class SynthConfig:
    """Scene statistics; every size is relative to the image's shorter side unless noted."""

    size: tuple[int, int] = (160, 120)  # (W, H) px
    frames: int = 24
    min_objects: int = 1
    max_objects: int = 3
    object_size: tuple[float, float] = (0.22, 0.38)  # long extent of an object, fraction of the shorter side
    max_speed: float = 1.5  # px per frame
    max_spin: float = 0.04  # rad per frame
    occlusion_probability: float = 0.6  # chance that a sequence has an occlusion
    occlusion_frames: tuple[int, int] = (1, 8)  # how long the occluded object stays hidden
    min_visible_fraction: float = 0.5  # visible when at least this much of the object can be seen
    grasp_margin: float = 1.2  # gripper opening = margin * the object's thickness there
    jaw_ratio: float = 0.5  # ground-truth jaw size = jaw_ratio * width
    noise_std: float = 4.0  # sensor noise, grey levels
    lighting_amplitude: float = 0.12  # relative brightness swing over the sequence


@dataclass
class _Body:
    shape: str
    length: float  # long extent [px]
    thickness: float  # short extent [px] (= length for discs and squares)
    colour: np.ndarray
    position: np.ndarray  # centre (x, y) [px]
    angle: float  # orientation of the long axis [rad]
    velocity: np.ndarray
    spin: float


def _local_grasps(body: _Body, config: SynthConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grasps in the body frame (x along the long axis): centres [K, 2], closing angles [K], widths [K]."""
    m, length, thick = config.grasp_margin, body.length, body.thickness
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


def body_grasps(body: _Body, config: SynthConfig) -> GraspSet:
    """The body's ground-truth grasps in image pixels."""
    centres, angles, widths = _local_grasps(body, config)
    c, s = math.cos(body.angle), math.sin(body.angle)
    rotation = np.array([[c, -s], [s, c]])
    return GraspSet.create(centres @ rotation.T + body.position, angles + body.angle, widths,
                           config.jaw_ratio * widths)


SUBPIXEL_BITS = 4  # draw with 1/16 px precision (OpenCV's ``shift``)


def _draw(body: _Body, canvas: np.ndarray, value) -> None:
    """Draw the body's silhouette filled with ``value`` (a colour or a label).

    OpenCV puts pixel centres at integer coordinates, this package at i + 0.5: shapes are drawn 0.5 px
    up-left of the package coordinates so that ground truth and pixels agree.
    """
    unit = 1 << SUBPIXEL_BITS
    cx, cy = body.position[0] - 0.5, body.position[1] - 0.5
    centre = (round(cx * unit), round(cy * unit))
    degrees = math.degrees(body.angle)
    if body.shape == "disc":
        cv2.circle(canvas, centre, max(1, round(body.length / 2 * unit)), value, -1, cv2.LINE_8, SUBPIXEL_BITS)
    elif body.shape == "ellipse":
        axes = (max(1, round(body.length / 2 * unit)), max(1, round(body.thickness / 2 * unit)))
        cv2.ellipse(canvas, centre, axes, degrees, 0, 360, value, -1, cv2.LINE_8, SUBPIXEL_BITS)
    else:
        corners = cv2.boxPoints(((cx, cy), (body.length, body.thickness), degrees))
        cv2.fillPoly(canvas, [np.round(corners * unit).astype(np.int32)], value, cv2.LINE_8, SUBPIXEL_BITS)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    coarse = rng.uniform(60, 200, (4, 5, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 14, (height, width, 3)).astype(np.float32), (0, 0), 1.2)
    return np.clip(smooth + grain, 0, 255)


def _random_body(rng: np.random.Generator, config: SynthConfig, cell: tuple[float, float, float, float]) -> _Body:
    short = min(config.size)
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    length = rng.uniform(*config.object_size) * short
    thickness = length if shape in ("disc", "square") else length * rng.uniform(0.3, 0.55)
    if shape == "square":
        length = thickness = length * 0.75
    x0, y0, x1, y1 = cell
    position = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
    speed, heading = rng.uniform(0.3, 1.0) * config.max_speed, rng.uniform(0, 2 * math.pi)
    colour = rng.uniform(0, 255, 3)
    colour[int(rng.integers(3))] = rng.choice([20.0, 235.0])  # saturated, so objects stand out
    return _Body(shape, length, thickness, colour, position, rng.uniform(-math.pi, math.pi),
                 speed * np.array([math.cos(heading), math.sin(heading)]), rng.uniform(-1, 1) * config.max_spin)


def _move(body: _Body, width: int, height: int) -> None:
    body.position = body.position + body.velocity
    body.angle += body.spin
    margin = body.length / 2
    for axis, limit in ((0, width), (1, height)):
        if body.position[axis] < margin or body.position[axis] > limit - margin:
            body.velocity[axis] = -body.velocity[axis]
            body.position[axis] = np.clip(body.position[axis], margin, limit - margin)


@dataclass
class SyntheticClip:
    """A generated sequence held in memory: images [T] HxWx3 uint8, label images [T] HxW uint8 (object id),
    per-frame object labels."""

    name: str
    images: list[np.ndarray]
    masks: list[np.ndarray]
    objects: list[list[ObjectLabel]]

    def to_sequence(self) -> Sequence:
        """As an in-memory ``Sequence`` (same form as the dataset readers produce)."""
        frames = [Frame(f"{self.name}/{t:06d}", lambda im=image: im, objects, lambda m=mask: m.astype(np.int32))
                  for t, (image, mask, objects) in enumerate(zip(self.images, self.masks, self.objects))]
        return Sequence(self.name, frames, meta={"source": "synthetic"})


def generate_clip(config: SynthConfig, seed: int, name: str | None = None) -> SyntheticClip:
    """One synthetic sequence, fully determined by ``config`` and ``seed``."""
    rng = np.random.default_rng(seed)
    width, height = config.size
    count = int(rng.integers(config.min_objects, config.max_objects + 1))
    columns = max(1, count)  # one vertical band per object at the start, so objects begin apart
    bodies = [_random_body(rng, config, (width * i / columns + 0.2 * width / columns, 0.3 * height,
                                         width * (i + 1) / columns - 0.2 * width / columns, 0.7 * height))
              for i in range(count)]
    background = _background(rng, width, height)
    phase = rng.uniform(0, 2 * math.pi)
    occlusion = None  # (object index, first frame, last frame exclusive, occluder colour)
    if rng.uniform() < config.occlusion_probability and config.frames > 3:
        duration = int(rng.integers(config.occlusion_frames[0], config.occlusion_frames[1] + 1))
        start = int(rng.integers(2, max(3, config.frames - duration)))
        occlusion = (int(rng.integers(count)), start, start + duration, rng.uniform(90, 170, 3))
    images, masks, labels = [], [], []
    for t in range(config.frames):
        image, label = background.copy(), np.zeros((height, width), dtype=np.uint8)
        full_areas = []
        for index, body in enumerate(bodies):
            alone = np.zeros((height, width), dtype=np.uint8)
            _draw(body, alone, 1)
            full_areas.append(int(alone.sum()))
            _draw(body, image, body.colour.tolist())
            _draw(body, label, index + 1)
        if occlusion is not None and occlusion[1] <= t < occlusion[2]:
            target = bodies[occlusion[0]]
            occluder = _Body("ellipse", target.length * 1.6, target.length * 1.3, occlusion[3],
                             target.position + rng.normal(0, 1.0, 2), target.angle, np.zeros(2), 0.0)
            _draw(occluder, image, occluder.colour.tolist())
            _draw(occluder, label, 0)
        gain = 1.0 + config.lighting_amplitude * math.sin(2 * math.pi * t / max(config.frames, 1) + phase)
        noisy = image * gain + rng.normal(0, config.noise_std, image.shape)
        images.append(np.clip(noisy, 0, 255).astype(np.uint8))
        masks.append(label)
        objects = []
        for index, body in enumerate(bodies):
            seen = int((label == index + 1).sum())
            visible = seen >= config.min_visible_fraction * max(full_areas[index], 1)
            objects.append(ObjectLabel(index + 1, body_grasps(body, config), visible))
        labels.append(objects)
        for body in bodies:
            _move(body, width, height)
    return SyntheticClip(name or f"synth_{seed:06d}", images, masks, labels)


def write_synthetic(out: str | Path, sequences: int, config: SynthConfig, seed: int = 0,
                    progress: bool = True) -> list[Path]:
    """Generate ``sequences`` clips (seeds seed, seed+1, ...) into ``out`` in the recorded-sequence format."""
    out = Path(out)
    folders = []
    for index in tqdm(range(sequences), desc="synth", disable=not progress):
        clip = generate_clip(config, seed + index)
        folder = out / clip.name
        names = {o.object_id: f"synthetic object {o.object_id}" for o in clip.objects[0]}
        with SequenceWriter(folder, config.size, fps=30.0, object_names=names) as writer:
            for image, mask, objects in zip(clip.images, clip.masks, clip.objects):
                writer.write(image, objects, masks=mask)
        folders.append(folder)
    return folders
