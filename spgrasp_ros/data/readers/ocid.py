"""The OCID-grasp dataset (OCID scenes with grasp rectangles) in its released layout.

On disk, sequence folders nested under the root (e.g. ``ARID20/table/top/seq08/``), each holding::

    rgb/<name>.png                          colour image (640x480); names are capture timestamps
    depth/<name>.png                        optional uint16 depth in millimetres (0 = no measurement)
    Annotations/<stem>.txt                  every grasp rectangle of the image: 4 lines "x y" per rectangle
    Annotations_per_class/<stem>/<c>/...    the same rectangles split by object class c (not read)
    seg_mask_labeled_combi/<name>.png       semantic mask: class id per pixel (not read)
    seg_mask_instances_combi/<name>.png     instance mask: object instance id per pixel, 0 = background

(``grasp_det_seg_cnn`` ``data_OCID/dataset.py`` reads rgb/, Annotations/ and seg_mask_labeled_combi/; the
instance masks are read by OCID-grasp users such as the OCID-VLG loaders.) Instances are numbered in the
order the objects were placed into the scene, so an instance id names the same object in every frame of a
sequence; it is used as the object id, and ``load_masks`` returns the instance mask.

Association. The annotation files tie rectangles to classes at most, never to instances, so each rectangle
is given to the instance under its centre (rounded to the nearest pixel) in the instance mask; a rectangle
whose centre lies on background or outside the image is rejected and counted. The instance masks are
therefore read when the dataset is read; images, depth and masks for use load lazily.

Convention. Corner lines are "x y" (x = column, y = row, origin top-left) as in Cornell, but the
rectangles are ordered the other way round: edge 0 -> 1 runs along a gripper plate and edge 1 -> 2 along
the opening. Evidence: per-class maxima of the length along edge 1 -> 2, used as opening limits by
OCID-grasp training code, are object-sized (e.g. 23 px for bowls grasped at the rim, 140 px for cereal
boxes); a COCO converter for both datasets swaps width and height between Cornell and OCID;
``grasp_det_seg_cnn`` itself treats the two edges symmetrically. So the corners are re-listed starting at
corner 1 (``closing_edge_start``) and converted as Cornell's: centre = mean of the corners, angle =
direction of edge 1 -> 2 from +x toward +y (clockwise on screen), width = |edge 1 -> 2|, jaw = |edge 0 -> 1|.

Each sequence folder is one Sequence, frames in file-name (= time) order. ``ReadReport`` counts images
(``read``, ``rejected``: a missing or corrupt file, a mask of another size, no rectangle on an object) and
rectangles (``annotations``, ``rejected_annotations``, with annotation files that have no image) apart.
Depth loads as float32 metres with NaN where there is no measurement (0 in the PNGs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spgrasp_ros.data.readers.cornell import grasps_from_corners, read_corner_file
from spgrasp_ros.data.types import (
    DatasetError,
    Frame,
    GraspSet,
    ObjectLabel,
    ReadReport,
    Sequence,
    check_image,
    depth_metres,
    read_label_image,
    read_rgb,
)

RGB_DIR, DEPTH_DIR, ANNOTATION_DIR = "rgb", "depth", "Annotations"
INSTANCE_DIR = "seg_mask_instances_combi"
DEPTH_SCALE = 0.001  # metres per unit of the uint16 depth PNGs (millimetres)
CLOSING_EDGE_START = 1  # the corner where OCID's closing edge starts (corner 1 -> 2; see module docstring)


def _load_depth(path: Path) -> np.ndarray | None:
    """uint16 millimetre depth as float32 metres (NaN = no measurement); None when the frame has no depth file."""
    if not path.is_file():
        return None
    return depth_metres(read_label_image(path), DEPTH_SCALE, path)


def _assign_to_instances(grasps: GraspSet, first_lines: list[int], instances: np.ndarray, where: Path,
                         report: ReadReport) -> dict[int, list[int]]:
    """Instance id -> indices of the grasps whose centre lies on it; the others are rejected."""
    height, width = instances.shape
    owners: dict[int, list[int]] = {}
    for index, (x, y) in enumerate(grasps.centers):
        col, row = int(round(x)), int(round(y))
        label = int(instances[row, col]) if 0 <= row < height and 0 <= col < width else -1
        if label <= 0:
            place = "outside the image" if label < 0 else "on background in the instance mask"
            report.reject_annotation(f"{where}:{first_lines[index]}-{first_lines[index] + 3}",
                          f"rectangle centre ({x:.1f}, {y:.1f}) lies {place}")
            continue
        owners.setdefault(label, []).append(index)
    return owners


def _subset(grasps: GraspSet, indices: list[int]) -> GraspSet:
    """The grasps at ``indices``."""
    return GraspSet(*(getattr(grasps, name)[indices] for name in ("centers", "angles", "widths", "jaws")))


def _read_frame(folder: Path, name: str, image: Path, closing_edge_start: int, report: ReadReport) -> Frame:
    """One image with its rectangles given to instances; DatasetError when unusable."""
    annotation = folder / ANNOTATION_DIR / f"{image.stem}.txt"
    mask_path = folder / INSTANCE_DIR / image.name
    if not annotation.is_file():
        raise DatasetError(f"{image}: no annotation {ANNOTATION_DIR}/{annotation.name}")
    if not mask_path.is_file():
        raise DatasetError(f"{image}: no instance mask {INSTANCE_DIR}/{image.name}")
    width, height = check_image(image)
    instances = read_label_image(mask_path)
    if instances.shape != (height, width):
        raise DatasetError(f"{mask_path}: instance mask of {instances.shape[1]}x{instances.shape[0]} px for an "
                           f"image of {width}x{height} px")
    corners, first_lines = read_corner_file(annotation, report)
    grasps = grasps_from_corners(np.roll(corners, -closing_edge_start, axis=1))
    owners = _assign_to_instances(grasps, first_lines, instances, annotation, report)
    if not owners:
        raise DatasetError(f"{annotation}: no rectangle on an object instance")
    present = sorted(int(i) for i in np.unique(instances) if i > 0)
    objects = [ObjectLabel(i, _subset(grasps, owners.get(i, []))) for i in present]
    report.annotations += sum(len(o.grasps) for o in objects)
    depth = folder / DEPTH_DIR / image.name
    return Frame(name=f"{name}/{image.stem}", load_image=lambda p=image: read_rgb(p), objects=objects,
                 load_masks=lambda p=mask_path: read_label_image(p),
                 load_depth=lambda p=depth: _load_depth(p))


def _read_sequence(folder: Path, name: str, closing_edge_start: int, report: ReadReport) -> Sequence | None:
    """The readable frames of one sequence folder (None when none is); rejects the others."""
    frames, images = [], sorted((folder / RGB_DIR).glob("*.png"))
    for image in images:
        try:
            frames.append(_read_frame(folder, name, image, closing_edge_start, report))
            report.read += 1
        except DatasetError as error:
            report.reject(image, str(error))
    orphans = {p.stem for p in (folder / ANNOTATION_DIR).glob("*.txt")} - {p.stem for p in images}
    for stem in sorted(orphans):
        report.reject_annotation(folder / ANNOTATION_DIR / f"{stem}.txt",
                                 f"annotation without its image {RGB_DIR}/{stem}.png")
    return Sequence(name, frames, meta={"source": "ocid", "path": str(folder)}) if frames else None


def read_ocid(root: str | Path,
              closing_edge_start: int = CLOSING_EDGE_START) -> tuple[list[Sequence], ReadReport]:
    """Every sequence folder (one holding ``rgb/``) under ``root`` as a Sequence, and the read report.

    ``closing_edge_start``: the corner index where the closing edge of a rectangle starts (1 for OCID-grasp;
    0 would read the files with Cornell's corner order).
    """
    if closing_edge_start not in range(4):
        raise ValueError(f"closing_edge_start must be a corner index 0..3, got {closing_edge_start}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    folders = sorted({p.parent for p in root.rglob(RGB_DIR) if p.is_dir()})
    if not any((f / RGB_DIR).glob("*.png") for f in folders):
        raise DatasetError(f"{root}: no OCID sequence folders (with {RGB_DIR}/*.png) found")
    report, sequences = ReadReport(), []
    for folder in folders:
        name = folder.relative_to(root).as_posix() if folder != root else root.name
        sequence = _read_sequence(folder, name, closing_edge_start, report)
        if sequence is not None:
            sequences.append(sequence)
    report.check(f"OCID-grasp dataset in {root}")
    return sequences, report
