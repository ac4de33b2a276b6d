"""Helpers for the dataset-reader tests: tiny images and hand-computed grasp rectangles."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 40, 30  # fixture image size [px]

# A grasp centred at (20, 15) whose closing direction points down-right at +30 degrees on screen
# (d = (cos 30, sin 30)), opening 10 px, jaw 4 px. Corners c -/+ 5 d -/+ 2 n with n = (-sin 30, cos 30),
# worked out by hand; listed with the closing edge first (corner 0 -> 1 = (8.660254, 5.0)), as Cornell does.
DOWN_RIGHT_30 = [(16.669873, 10.767949), (25.330127, 15.767949),
                 (23.330127, 19.232051), (14.669873, 14.232051)]
DOWN_RIGHT_30_CENTER, DOWN_RIGHT_30_ANGLE = (20.0, 15.0), math.pi / 6

# The same grasp mirrored top-bottom about y = 15: closing up-right at -30 degrees on screen.
UP_RIGHT_30 = [(16.669873, 19.232051), (25.330127, 14.232051),
               (23.330127, 10.767949), (14.669873, 15.767949)]

# Axis-aligned: centre (10, 7), closing along +x, opening 10, jaw 4.
ALONG_X = [(5.0, 5.0), (15.0, 5.0), (15.0, 9.0), (5.0, 9.0)]


def write_rgb(path: Path, seed: int = 0, size: tuple[int, int] = (WIDTH, HEIGHT)) -> np.ndarray:
    """A random colour image written as an 8-bit PNG (BGR on disk, as cv2 writes); returns it as RGB."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return rgb


def write_png(path: Path, image: np.ndarray) -> None:
    """A single-channel 8/16-bit image as PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def _number(value: float) -> str:
    """Like the Cornell files: "253", "319.7" (no trailing zeros)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def corner_lines(*rectangles: list[tuple[float, float]]) -> str:
    """Rectangles as a Cornell-style file: one "x y" corner per line, four lines per rectangle."""
    return "".join(f"{_number(x)} {_number(y)}\n" for rectangle in rectangles for x, y in rectangle)


def write_text(path: Path, text: str) -> Path:
    """A text file (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def truncate_file(path: Path) -> Path:
    """Cut a file to half its length, as an interrupted copy or download leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def corrupt_file(path: Path) -> Path:
    """Flip the bits of a few bytes in the middle of a file (its length unchanged), as a bad disk leaves it."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4] = bytes(b ^ 0xFF for b in data[middle:middle + 4])
    path.write_bytes(bytes(data))
    return path


def write_cornell(folder: Path, count: int) -> list[Path]:
    """A Cornell folder of ``count`` images (pcd0001r.png ...), each with two positive rectangles in
    pcdNNNNcpos.txt; returns the image paths."""
    images = []
    for number in range(1, count + 1):
        images.append(folder / f"pcd{number:04d}r.png")
        write_rgb(images[-1], seed=number)
        write_text(folder / f"pcd{number:04d}cpos.txt", corner_lines(DOWN_RIGHT_30, ALONG_X))
    return images
