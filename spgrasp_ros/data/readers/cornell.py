"""The Cornell grasping dataset in its released layout.

On disk (folders ``01/`` ... ``10/`` under the root; a flat folder works too; ``backgrounds/`` is ignored)::

    pcd0100r.png       colour image, 640x480
    pcd0100cpos.txt    positive (graspable) rectangles: 4 lines "x y" per rectangle, one corner per line
    pcd0100cneg.txt    negative rectangles (not ground truth; not read)
    pcd0100.txt        point cloud (not read)
    pcd0100d.tiff      optional float32 depth in metres, made by GG-CNN's ``generate_cornell_depth.py`` from
                       the point cloud (real files: median about 1.2, maximum about 2.0); pixels without a
                       point (not finite or <= 0) load as NaN

Convention. A corner line is "x y": x = column, y = row, in image pixels with the origin at the top-left
(GG-CNN ``_gr_text_to_no`` reads x first and swaps to [row, col]). Corners are listed around the rectangle
and the first edge, corner 0 -> 1, runs along the gripper's opening: GG-CNN takes its length as the grasp
width and its direction as the grasp angle (``GraspRectangle.length`` / ``.angle``). That is exactly the
corner order of ``spgrasp_ros.grasps.rectangles``, so ``grasp_from_corners`` converts directly: centre =
mean of the corners, angle = direction of edge 0 -> 1 from +x toward +y (clockwise on screen; GG-CNN's
``arctan2(-dy, dx)`` is the same direction measured anti-clockwise, i.e. the negated angle), width =
|edge 0 -> 1|, jaw = |edge 1 -> 2|.

Each image is a one-frame Sequence holding one object, id 1 (Cornell has one object per image and no masks).
Some released files contain NaN corners: that rectangle is rejected and counted. ``ReadReport`` counts images
(``read``, ``rejected``: an image is rejected when its file is corrupt or none of its rectangles is valid) and
rectangles (``annotations``, ``rejected_annotations`` as ``file:lines``) apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from spgrasp_ros.data.readers.files import group_files
from spgrasp_ros.data.types import (
    DatasetError,
    Frame,
    GraspSet,
    ObjectLabel,
    ReadReport,
    Sequence,
    check_image,
    depth_metres,
    read_rgb,
)
from spgrasp_ros.grasps.rectangles import grasp_from_corners

FILE_PATTERN = re.compile(r"^(pcd\d{4})(r\.png|cpos\.txt)$")  # pcdb* background images do not match
IMAGE_SUFFIX, POSITIVE_SUFFIX, DEPTH_SUFFIX = "r.png", "cpos.txt", "d.tiff"
DEPTH_SCALE = 1.0  # metres per unit of the generated depth tiffs (they hold metres)
OBJECT_ID = 1  # the single object of every Cornell image
MIN_EDGE = 1e-6  # [px] shorter edges make a degenerate rectangle


def _parse_corners(lines: list[str]) -> np.ndarray:
    """[4, 2] corners from four "x y" lines; ValueError naming the problem."""
    if len(lines) != 4:
        raise ValueError(f"incomplete rectangle ({len(lines)} of 4 lines)")
    corners = []
    for text in lines:
        fields = text.split()
        try:
            if len(fields) != 2:
                raise ValueError
            corners.append([float(fields[0]), float(fields[1])])
        except ValueError:
            raise ValueError(f"malformed corner line {text!r} (expected 'x y')") from None
    corners = np.asarray(corners)
    if not np.all(np.isfinite(corners)):
        raise ValueError("NaN or infinite corner")
    if np.any(np.linalg.norm(corners - np.roll(corners, -1, axis=0), axis=1) < MIN_EDGE):
        raise ValueError("degenerate rectangle (zero-length edge)")
    return corners


def read_corner_file(path: Path, report: ReadReport) -> tuple[np.ndarray, list[int]]:
    """[K, 4, 2] corners (x, y) of the well-formed rectangles of a Cornell-style file (4 lines each), and the
    line number of each one's first corner.

    Malformed rectangles are rejected into ``report`` (``reject_annotation``) as ``path:first-last line``; an
    empty file raises.
    """
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: unreadable annotation file ({error})") from error
    while lines and not lines[-1].strip():
        lines.pop()  # trailing newlines only: a blank line inside the file is malformed
    if not lines:
        raise DatasetError(f"{path}: empty annotation file")
    rectangles, first_lines = [], []
    for start in range(0, len(lines), 4):
        block = lines[start:start + 4]
        try:
            rectangles.append(_parse_corners(block))
            first_lines.append(start + 1)
        except ValueError as error:
            report.reject_annotation(f"{path}:{start + 1}-{start + len(block)}", str(error))
    return np.asarray(rectangles, dtype=np.float64).reshape(-1, 4, 2), first_lines


def grasps_from_corners(corners: np.ndarray) -> GraspSet:
    """Rectangles whose first edge (corner 0 -> 1) is the closing direction, as a GraspSet."""
    centers, angles, widths, jaws = grasp_from_corners(corners)
    return GraspSet.create(centers, angles, widths, jaws)


def read_depth_tiff(path: Path, scale: float) -> np.ndarray | None:
    """A float depth tiff times ``scale`` as float32 metres (NaN = no measurement, ``types.depth_metres``);
    None when the file does not exist."""
    if not path.is_file():
        return None
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None:
        raise DatasetError(f"{path}: not a readable depth image")
    return depth_metres(depth, scale, path)


def _read_item(folder: Path, stem: str, files: dict[str, Path], depth_scale: float,
               report: ReadReport) -> Sequence:
    """One image and its positive rectangles as a one-frame Sequence; DatasetError when unusable."""
    if POSITIVE_SUFFIX not in files:
        raise DatasetError(f"{files[IMAGE_SUFFIX]}: no {stem}{POSITIVE_SUFFIX} (positive rectangles)")
    image, depth = files[IMAGE_SUFFIX], folder / f"{stem}{DEPTH_SUFFIX}"
    check_image(image)
    corners, _ = read_corner_file(files[POSITIVE_SUFFIX], report)
    if len(corners) == 0:
        raise DatasetError(f"{files[POSITIVE_SUFFIX]}: no valid rectangle")
    report.annotations += len(corners)
    frame = Frame(name=stem, load_image=lambda p=image: read_rgb(p),
                  objects=[ObjectLabel(OBJECT_ID, grasps_from_corners(corners))],
                  load_depth=lambda p=depth: read_depth_tiff(p, depth_scale))
    return Sequence(stem, [frame], meta={"source": "cornell", "path": str(image)})


def read_cornell(root: str | Path, depth_scale: float = DEPTH_SCALE) -> tuple[list[Sequence], ReadReport]:
    """Every annotated image under ``root`` as a one-frame Sequence (sorted by name), and the read report.

    ``depth_scale``: metres per unit of the optional ``pcdNNNNd.tiff`` files (default 1: they hold metres).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    items = group_files(root, "pcd*", FILE_PATTERN)
    if not items:
        raise DatasetError(f"{root}: no Cornell files (pcdNNNNr.png, pcdNNNNcpos.txt) found")
    report, sequences = ReadReport(), []
    for (folder, stem), files in sorted(items.items(), key=lambda item: (item[0][1], str(item[0][0]))):
        if IMAGE_SUFFIX not in files:  # an annotation, not an image: it does not count against the images
            report.reject_annotation(files[POSITIVE_SUFFIX], f"annotation without its image {stem}{IMAGE_SUFFIX}")
            continue
        try:
            sequences.append(_read_item(folder, stem, files, depth_scale, report))
            report.read += 1
        except DatasetError as error:
            report.reject(folder / stem, str(error))
    report.check(f"Cornell dataset in {root}")
    return sequences, report
