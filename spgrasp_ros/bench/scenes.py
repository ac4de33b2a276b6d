"""The frames a benchmark runs on: coloured blocks drifting over a textured background, and their boxes.

With a folder the frames are also written as JPEGs the way sam2's video predictor reads them, and handed back
as decoded, so SPGrasp and sam2 see identical pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np


def moving_scene(width: int, height: int, objects: int, seed: int = 0
                 ) -> tuple[Iterator[np.ndarray], list[list[int]]]:
    """An endless stream of [H, W, 3] uint8 RGB frames with ``objects`` coloured blocks drifting over a
    textured background, and one xyxy box (px) per block on the first frame."""
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 220, (height, width, 3), dtype=np.uint8)
    side = max(8, min(width, height) // 6)
    starts = [(int(rng.integers(0, width - side)), int(rng.integers(0, height - side))) for _ in range(objects)]
    colours = rng.integers(0, 255, (objects, 3), dtype=np.uint8)

    def frames() -> Iterator[np.ndarray]:
        t = 0
        while True:
            image = background.copy()
            for (x, y), colour in zip(starts, colours):
                x = int((x + 2 * t) % (width - side))
                y = int((y + t) % (height - side))
                image[y:y + side, x:x + side] = colour
            yield image
            t += 1

    boxes = [[x, y, x + side, y + side] for x, y in starts]
    return frames(), boxes


def write_jpeg_frames(frames: list[np.ndarray], folder: Path, quality: int = 95) -> list[np.ndarray]:
    """Write [H, W, 3] uint8 RGB frames as ``00000.jpg``, ``00001.jpg``, ... (sam2's folder format) and return
    them as decoded back, i.e. the exact pixels sam2 will read."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    decoded = []
    for index, frame in enumerate(frames):
        path = folder / f"{index:05d}.jpg"
        Image.fromarray(frame).save(path, quality=quality)
        with Image.open(path) as image:
            decoded.append(np.asarray(image.convert("RGB")).copy())
    return decoded


def scene_frames(width: int, height: int, objects: int, count: int, jpeg_dir: Path | None = None
                 ) -> tuple[list[np.ndarray], list[list[int]]]:
    """``count`` frames of ``moving_scene`` and its boxes; with ``jpeg_dir`` also written there as sam2 reads
    them, and returned as decoded back."""
    stream, boxes = moving_scene(width, height, objects)
    frames = [next(stream) for _ in range(count)]
    if jpeg_dir is not None:
        frames = write_jpeg_frames(frames, jpeg_dir)
    return frames, boxes
