"""Synthetic tabletop videos with analytic ground truth (``spgrasp synth``): what the demo model learns from.

Each sequence: a textured background, 1..N objects (bars, ellipses, discs, squares) of random colour and size
that slide and rotate (bouncing off the borders), slow global lighting changes and sensor noise, and an
occluder that hides one object completely for 1..8 frames (it follows the object, which keeps moving). Per
frame and object: the modal mask (what can be seen), a visibility flag (at least ``min_visible_fraction`` of
the object's own area can be seen), and the grasps that are correct for the shape, derived analytically from
its pose:

- bar (length L > thickness T): closing across the bar at 5 points along its middle 60 %, width = margin * T;
- ellipse (semi-axes a > b): closing across the minor axis at 5 points along the major one, width = margin *
  the local chord;
- disc (radius r): at the centre, any closing direction (every 15 degrees), width = margin * 2r;
- square (side d): closing along either side direction, at the centre and offset along the jaws.

The jaw size of every ground-truth rectangle is ``jaw_ratio`` * width (the decoder's convention). Everything
is deterministic given the seed. ``write_synthetic`` stores sequences in the recorded-sequence format.

Harder scenes (``SynthConfig`` options, all off by default; named suites in ``data.synth_suites``). With every
option off a scene is exactly the one the bundled model was trained on: the options draw from random streams
of their own (``synthetic_scenes.stream``), never from the scene's main one.

- ``twins``: that many objects get a look-alike (same shape, size, colour and spin, an id of its own) that
  starts elsewhere and crosses the original around the middle of the clip; who is drawn on top is random, so
  sometimes the original is hidden under its twin. ``twins_prompted=False`` makes the twins distractors:
  ``Sequence.meta["unprompted_ids"]`` lists them (they are not prompted or scored, but a grasp landing on one
  can be seen in the label image and their ``ObjectLabel``s).
- long occlusions while moving: ``occlusion_frames=(10, 30)``, ``occlusion_probability=1`` with longer
  ``frames``.
- ``reentry``: one object moves out of the view (not bouncing), stays fully out for ``reentry_frames`` frames
  and comes back in from another border.
- ``min_speed_fraction``: speed = uniform(min_speed_fraction, 1) * ``max_speed`` (fast motion with
  ``max_spin``).
- ``camera_pan`` (peak px/frame of a smooth drift up to ~20 px) and ``camera_shake`` (px std of per-frame
  jitter): the whole world moves in the view; bodies, background and grasps are seen at world - offset.
- ``lighting="moving"``: a soft light spot crossing the view plus stronger global brightness swings.
- ``layout="cluster"``: objects start packed around the centre (two rows, neighbours touching).
- ``background="any"``: per sequence the smooth low-saturation background, a strongly saturated colour field,
  stripes, a checkerboard or high-frequency noise, half of the time sharing an object's colour.

Where objects can leave the view (camera, reentry) visibility is measured against the object's full area
(``synthetic_bodies.full_area``), so an object half out of the view is not visible. The other scenes keep the
area inside the image as the training labels had it (their centres stay half a length inside the borders,
so at most a corner of a bar or square sticks out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from spgrasp_ros.data import synthetic_scenes as scenes
from spgrasp_ros.data.recorded import SequenceWriter
from spgrasp_ros.data.synthetic_bodies import SHAPES, Body, body_grasps, draw, full_area, move, shifted
from spgrasp_ros.data.types import Frame, ObjectLabel, Sequence

LAYOUTS = ("bands", "cluster")
LIGHTING = ("global", "moving")
BACKGROUND_CHOICES = ("smooth", "any")


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
    # harder scenes (module docstring); the defaults are the scenes the bundled model was trained on
    min_speed_fraction: float = 0.3  # speed = uniform(min_speed_fraction, 1) * max_speed
    twins: int = 0  # objects that get a look-alike crossing them
    twins_prompted: bool = True  # False: the twins are distractors listed in meta["unprompted_ids"]
    reentry: bool = False  # one object leaves the view and comes back from another border
    reentry_frames: tuple[int, int] = (5, 20)  # how long it stays fully out
    camera_pan: float = 0.0  # peak speed of the camera's smooth drift [px/frame] (amplitude up to ~20 px)
    camera_shake: float = 0.0  # per-frame camera jitter [px std]
    lighting: str = "global"  # "global" (brightness swing) or "moving" (a light spot crossing + larger swing)
    layout: str = "bands"  # "bands" (one vertical band per object) or "cluster" (packed, touching)
    background: str = "smooth"  # "smooth" (low saturation) or "any" (saturated, stripes, checker, noise too)

    def __post_init__(self) -> None:
        for name in ("size", "object_size", "occlusion_frames", "reentry_frames"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name, value, allowed in (("layout", self.layout, LAYOUTS), ("lighting", self.lighting, LIGHTING),
                                     ("background", self.background, BACKGROUND_CHOICES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.twins < 0 or self.camera_pan < 0 or self.camera_shake < 0:
            raise ValueError("twins, camera_pan and camera_shake must be >= 0")
        if not 0 <= self.min_speed_fraction <= 1:
            raise ValueError(f"min_speed_fraction must be in [0, 1], got {self.min_speed_fraction}")
        if not 1 <= self.reentry_frames[0] <= self.reentry_frames[1]:
            raise ValueError(f"reentry_frames must be (low, high) with 1 <= low <= high, got {self.reentry_frames}")

    @property
    def moving_camera(self) -> bool:
        """Whether the view moves over the world."""
        return self.camera_pan > 0 or self.camera_shake > 0


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    coarse = rng.uniform(60, 200, (4, 5, 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 14, (height, width, 3)).astype(np.float32), (0, 0), 1.2)
    return np.clip(smooth + grain, 0, 255)


def _start_cells(config: SynthConfig, count: int) -> list[tuple[float, float, float, float]]:
    """Boxes the objects' centres start in: one vertical band each (so objects begin apart), or a cluster."""
    width, height = config.size
    if config.layout == "cluster":
        return scenes.cluster_cells(count, width, height)
    columns = max(1, count)
    return [(width * i / columns + 0.2 * width / columns, 0.3 * height,
             width * (i + 1) / columns - 0.2 * width / columns, 0.7 * height) for i in range(count)]


def _random_body(rng: np.random.Generator, config: SynthConfig, cell: tuple[float, float, float, float]) -> Body:
    short = min(config.size)
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    length = rng.uniform(*config.object_size) * short
    thickness = length if shape in ("disc", "square") else length * rng.uniform(0.3, 0.55)
    if shape == "square":
        length = thickness = length * 0.75
    x0, y0, x1, y1 = cell
    position = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
    speed, heading = rng.uniform(config.min_speed_fraction, 1.0) * config.max_speed, rng.uniform(0, 2 * math.pi)
    colour = rng.uniform(0, 255, 3)
    colour[int(rng.integers(3))] = rng.choice([20.0, 235.0])  # saturated, so objects stand out
    return Body(shape, length, thickness, colour, position, rng.uniform(-math.pi, math.pi),
                speed * np.array([math.cos(heading), math.sin(heading)]), rng.uniform(-1, 1) * config.max_spin)


@dataclass
class SyntheticClip:
    """A generated sequence held in memory: images [T] HxWx3 uint8, label images [T] HxW uint8 (object id),
    per-frame object labels; ``unprompted_ids``: look-alike distractors not to prompt or score; ``scene``: what
    the harder options did (twin pairs, the re-entering object and its frames out, camera offsets)."""

    name: str
    images: list[np.ndarray]
    masks: list[np.ndarray]
    objects: list[list[ObjectLabel]]
    unprompted_ids: list[int] = field(default_factory=list)
    scene: dict = field(default_factory=dict)

    def to_sequence(self) -> Sequence:
        """As an in-memory ``Sequence`` (same form as the dataset readers produce); ``meta`` carries
        ``unprompted_ids`` and ``scene`` when there are any."""
        frames = [Frame(f"{self.name}/{t:06d}", lambda im=image: im, objects, lambda m=mask: m.astype(np.int32))
                  for t, (image, mask, objects) in enumerate(zip(self.images, self.masks, self.objects))]
        meta = {"source": "synthetic"}
        if self.unprompted_ids:
            meta["unprompted_ids"] = list(self.unprompted_ids)
        if self.scene:
            meta["scene"] = self.scene
        return Sequence(self.name, frames, meta=meta)


@dataclass
class _Scene:
    """The moving parts of one sequence: bodies (index + 1 = id), draw order, and the optional pieces."""

    bodies: list[Body]
    order: list[int]
    twins: list[tuple[int, int]] = field(default_factory=list)  # (original id, twin id)
    reentry: scenes.Reentry | None = None
    camera: scenes.Camera | None = None
    light: scenes.MovingLight | None = None


def _add_options(config: SynthConfig, seed: int, scene: _Scene) -> None:
    """Twins, the re-entering object and moving light (each from its own random stream)."""
    width, height = config.size
    count = len(scene.bodies)
    if config.twins > 0:
        rng = scenes.stream(seed, "twins")
        for index in sorted(rng.choice(count, min(config.twins, count), replace=False).tolist()):
            twin = scenes.plan_twin(rng, scene.bodies[index], config.frames, width, height, config.max_speed)
            scene.bodies.append(twin)
            place = scene.order.index(index) + int(rng.integers(2))  # under (0) or over (1) its original
            scene.order.insert(place, len(scene.bodies) - 1)
            scene.twins.append((index + 1, len(scene.bodies)))
    if config.reentry:
        paired = {i - 1 for pair in scene.twins for i in pair}
        candidates = [i for i in range(count) if i not in paired] or list(range(count))
        scene.reentry = scenes.Reentry.plan(scenes.stream(seed, "reentry"), scene.bodies, candidates, config.frames,
                                            width, height, config.reentry_frames)
    if config.lighting == "moving":
        scene.light = scenes.MovingLight.plan(scenes.stream(seed, "lighting"), width, height,
                                              config.lighting_amplitude)


def _scene_info(scene: _Scene) -> dict:
    info: dict = {}
    if scene.twins:
        info["twins"] = [list(pair) for pair in scene.twins]
    if scene.reentry is not None:
        info["reentry"] = {"object_id": scene.reentry.index + 1, "out": scene.reentry.out,
                           "back": scene.reentry.back}
    if scene.camera is not None:
        info["camera_offsets"] = scene.camera.offsets.tolist()
    return info


def generate_clip(config: SynthConfig, seed: int, name: str | None = None) -> SyntheticClip:
    """One synthetic sequence, fully determined by ``config`` and ``seed``."""
    rng = np.random.default_rng(seed)
    width, height = config.size
    count = int(rng.integers(config.min_objects, config.max_objects + 1))
    scene = _Scene([_random_body(rng, config, cell) for cell in _start_cells(config, count)], list(range(count)))
    if config.moving_camera:
        scene.camera = scenes.Camera.plan(scenes.stream(seed, "camera"), config.frames, config.camera_pan,
                                          config.camera_shake)
    pad = scene.camera.pad if scene.camera is not None else 0
    background = _background(rng, width + 2 * pad, height + 2 * pad)
    if config.background == "any":
        background = scenes.any_background(scenes.stream(seed, "background"), background,
                                           [b.colour for b in scene.bodies])
    phase = rng.uniform(0, 2 * math.pi)
    occlusion = None  # (object index, first frame, last frame exclusive, occluder colour)
    if rng.uniform() < config.occlusion_probability and config.frames > 3:
        duration = int(rng.integers(config.occlusion_frames[0], config.occlusion_frames[1] + 1))
        start = int(rng.integers(2, max(3, config.frames - duration)))
        occlusion = (int(rng.integers(count)), start, start + duration, rng.uniform(90, 170, 3))
    _add_options(config, seed, scene)
    leaves_view = scene.camera is not None or scene.reentry is not None
    images, masks, labels = [], [], []
    for t in range(config.frames):
        offset = scene.camera.offsets[t] if scene.camera is not None else None
        seen_bodies = [shifted(body, offset) for body in scene.bodies]
        image = background.copy() if scene.camera is None else scene.camera.view(background, t, width, height)
        label = np.zeros((height, width), dtype=np.uint8)
        if leaves_view:  # against the full area: an object partly out of the view is that much less visible
            full_areas = [full_area(body) for body in seen_bodies]
        else:  # the area inside the image, as the training labels have it
            full_areas = []
            for body in seen_bodies:
                alone = np.zeros((height, width), dtype=np.uint8)
                draw(body, alone, 1)
                full_areas.append(int(alone.sum()))
        for index in scene.order:
            draw(seen_bodies[index], image, seen_bodies[index].colour.tolist())
            draw(seen_bodies[index], label, index + 1)
        if occlusion is not None and occlusion[1] <= t < occlusion[2]:
            target = seen_bodies[occlusion[0]]
            occluder = Body("ellipse", target.length * 1.6, target.length * 1.3, occlusion[3],
                            target.position + rng.normal(0, 1.0, 2), target.angle, np.zeros(2), 0.0)
            draw(occluder, image, occluder.colour.tolist())
            draw(occluder, label, 0)
        if scene.light is None:
            gain = 1.0 + config.lighting_amplitude * math.sin(2 * math.pi * t / max(config.frames, 1) + phase)
        else:
            gain = scene.light.gain(t, config.frames, phase, width, height)
        noisy = image * gain + rng.normal(0, config.noise_std, image.shape)
        images.append(np.clip(noisy, 0, 255).astype(np.uint8))
        masks.append(label)
        objects = []
        for index, body in enumerate(seen_bodies):
            seen = int((label == index + 1).sum())
            visible = seen >= config.min_visible_fraction * max(full_areas[index], 1)
            objects.append(ObjectLabel(index + 1, body_grasps(body, config.grasp_margin, config.jaw_ratio), visible))
        labels.append(objects)
        for index, body in enumerate(scene.bodies):
            if scene.reentry is not None and index == scene.reentry.index:
                scene.reentry.move(t, body, width, height)
            else:
                move(body, width, height)
    unprompted = [twin for _, twin in scene.twins] if not config.twins_prompted else []
    return SyntheticClip(name or f"synth_{seed:06d}", images, masks, labels, unprompted, _scene_info(scene))


def write_synthetic(out: str | Path, sequences: int, config: SynthConfig, seed: int = 0,
                    progress: bool = True) -> list[Path]:
    """Generate ``sequences`` clips (seeds seed, seed+1, ...) into ``out`` in the recorded-sequence format
    (unprompted twins are named so in the object names; the format has no field for them)."""
    out = Path(out)
    folders = []
    for index in tqdm(range(sequences), desc="synth", disable=not progress):
        clip = generate_clip(config, seed + index)
        folder = out / clip.name
        names = {o.object_id: f"synthetic object {o.object_id}" for o in clip.objects[0]}
        for original, twin in clip.scene.get("twins", []):
            names[twin] += f" (look-alike of {original}{', unprompted' if twin in clip.unprompted_ids else ''})"
        with SequenceWriter(folder, config.size, fps=30.0, object_names=names) as writer:
            for image, mask, objects in zip(clip.images, clip.masks, clip.objects):
                writer.write(image, objects, masks=mask)
        folders.append(folder)
    return folders
