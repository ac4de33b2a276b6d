"""The Jacquard grasping dataset in its released layout.

On disk (``Jacquard_Dataset_<k>/`` parts under the root, or object folders directly)::

    <object id>/<n>_<object id>_RGB.png              colour image (1024x1024), scene n of the object
    <object id>/<n>_<object id>_grasps.txt           one grasp per line: "x;y;theta;w;h"
    <object id>/<n>_<object id>_mask.png             object mask (0 background, non-zero object)
    <object id>/<n>_<object id>_perfect_depth.tiff   optional float32 rendered depth
    <object id>/<n>_<object id>_stereo_depth.tiff    optional float32 simulated stereo depth, -1 = no match

Convention. In a grasp line x, y is the centre in image pixels (x = column, y = row, origin top-left),
theta the angle in degrees, w the opening (jaw to jaw) and h the jaw size; the dataset notes that y points
down so the angle is mirrored with respect to the usual anti-clockwise one. GG-CNN pins the sign down:
``load_from_jacquard_file`` builds ``Grasp(centre, -theta)`` in its anti-clockwise-on-screen convention and
``Grasp.to_jacquard`` writes ``-angle`` back, i.e. theta turns from +x toward +y (clockwise on screen), which
is the package's direction. So: centre = (x, y), angle = radians(theta) wrapped to [-pi/2, pi/2),
width = w, jaw = h. Lines repeating one grasp with several jaw sizes are all kept (each is a labelled grasp).

Depth tiffs are float32 and returned as stored times ``depth_scale`` (default 1: taken to be metres), with
NaN where there is no measurement: the stereo tiffs mark those pixels -1 (every value that is not finite or
not positive loads as NaN, ``types.depth_metres``).

Each image is a one-frame Sequence holding one object, id 1; ``load_masks`` gives the mask as an int label
image (object pixels = 1). ``ReadReport`` counts images (``read``, ``rejected``: a corrupt image or mask, a
mask of another size, or no valid grasp line) and grasp lines (``annotations``, ``rejected_annotations`` as
``file:line``) apart.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

import numpy as np

from spgrasp_ros.data.readers.cornell import read_depth_tiff
from spgrasp_ros.data.readers.files import group_files
from spgrasp_ros.data.types import (
    DatasetError,
    Frame,
    GraspSet,
    ObjectLabel,
    ReadReport,
    Sequence,
    check_image,
    read_label_image,
    read_rgb,
)

FILE_PATTERN = re.compile(r"^(\d+_\w+?)_(RGB\.png|grasps\.txt)$")  # <n>_<object id>_<kind>
IMAGE, GRASPS, MASK = "RGB.png", "grasps.txt", "mask.png"
DEPTH_FILES = {"perfect": "perfect_depth.tiff", "stereo": "stereo_depth.tiff"}
DEPTH_SCALE = 1.0  # metres per unit of the depth tiffs (taken to be metres; see module docstring)
FIELDS = 5  # x;y;theta;w;h
OBJECT_ID = 1  # the single object of every Jacquard image


def _parse_grasp_line(text: str) -> list[float]:
    """[x, y, theta_deg, w, h] of one line; ValueError naming the problem."""
    fields = text.split(";")
    try:
        if len(fields) != FIELDS:
            raise ValueError
        values = [float(field) for field in fields]
    except ValueError:
        raise ValueError(f"malformed grasp line {text!r} (expected 'x;y;theta;w;h')") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError("NaN or infinite value")
    if values[3] <= 0 or values[4] <= 0:
        raise ValueError(f"non-positive opening or jaw size ({values[3]}, {values[4]})")
    return values


def read_grasp_file(path: Path, report: ReadReport) -> GraspSet:
    """The well-formed grasps of a Jacquard grasp file in the package convention; bad lines are rejected."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: unreadable grasp file ({error})") from error
    rows = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue  # blank lines carry no grasp
        try:
            rows.append(_parse_grasp_line(text))
        except ValueError as error:
            report.reject_annotation(f"{path}:{number}", str(error))
    if not any(text.strip() for text in lines):
        raise DatasetError(f"{path}: empty annotation file")
    if not rows:
        raise DatasetError(f"{path}: no valid grasp line")
    values = np.asarray(rows, dtype=np.float64)
    return GraspSet.create(values[:, :2], np.radians(values[:, 2]), values[:, 3], values[:, 4])


def _load_mask(path: Path) -> np.ndarray:
    """The object mask as an int32 label image: 1 on the object, 0 elsewhere."""
    return (read_label_image(path) > 0).astype(np.int32)


def _order(item: tuple[tuple[Path, str], dict]) -> tuple[str, int, str]:
    """Sort key: folder, then scene number n, then name."""
    (folder, stem), _ = item
    return str(folder), int(stem.split("_", 1)[0]), stem


def _read_item(folder: Path, stem: str, files: dict[str, Path], masks: bool, depth: str | None,
               depth_scale: float, report: ReadReport) -> Sequence:
    """One image with its grasps as a one-frame Sequence; DatasetError when unusable."""
    if GRASPS not in files:
        raise DatasetError(f"{files[IMAGE]}: no {stem}_{GRASPS}")
    mask_path = folder / f"{stem}_{MASK}"
    if masks and not mask_path.is_file():
        raise DatasetError(f"{files[IMAGE]}: no {stem}_{MASK}")
    size = check_image(files[IMAGE])
    if masks and (mask_size := check_image(mask_path)) != size:
        raise DatasetError(f"{mask_path}: mask of {mask_size[0]}x{mask_size[1]} px for an image of "
                           f"{size[0]}x{size[1]} px")
    grasps = read_grasp_file(files[GRASPS], report)
    report.annotations += len(grasps)
    depth_path = folder / f"{stem}_{DEPTH_FILES[depth]}" if depth else None
    frame = Frame(
        name=stem, load_image=lambda p=files[IMAGE]: read_rgb(p), objects=[ObjectLabel(OBJECT_ID, grasps)],
        load_masks=(lambda p=mask_path: _load_mask(p)) if masks else (lambda: None),
        load_depth=(lambda p=depth_path: read_depth_tiff(p, depth_scale)) if depth_path else (lambda: None))
    scene, object_name = stem.split("_", 1)
    return Sequence(stem, [frame], meta={"source": "jacquard", "object": object_name, "scene": int(scene),
                                         "path": str(files[IMAGE])})


def read_jacquard(root: str | Path, masks: bool = True,
                  depth: Literal["perfect", "stereo"] | None = "perfect",
                  depth_scale: float = DEPTH_SCALE) -> tuple[list[Sequence], ReadReport]:
    """Every annotated image under ``root`` as a one-frame Sequence (sorted), and the read report.

    ``masks``: require ``*_mask.png`` (a frame without it is rejected) and load it; False: no masks.
    ``depth``: which depth tiff ``load_depth`` reads ("perfect" or "stereo"; None: no depth); a missing
    depth file loads as None. ``depth_scale``: metres per unit of the tiffs.
    """
    if depth is not None and depth not in DEPTH_FILES:
        raise ValueError(f"depth must be one of {sorted(DEPTH_FILES)} or None, got {depth!r}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    items = group_files(root, "*_*_*", FILE_PATTERN)
    if not items:
        raise DatasetError(f"{root}: no Jacquard files (<n>_<id>_RGB.png, <n>_<id>_grasps.txt) found")
    report, sequences = ReadReport(), []
    for (folder, stem), files in sorted(items.items(), key=_order):
        if IMAGE not in files:  # an annotation, not an image: it does not count against the images
            report.reject_annotation(files[GRASPS], f"grasp file without its image {stem}_{IMAGE}")
            continue
        try:
            sequences.append(_read_item(folder, stem, files, masks, depth, depth_scale, report))
            report.read += 1
        except DatasetError as error:
            report.reject(folder / stem, str(error))
    report.check(f"Jacquard dataset in {root}")
    return sequences, report
