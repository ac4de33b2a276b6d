"""GraspNet-1Billion in its released layout, with its rectangle grasp labels.

On disk (graspnetAPI ``GraspNet.__init__`` / ``loadRGB`` / ``loadDepth`` / ``loadMask`` / ``loadGrasp``)::

    scenes/scene_0000/object_id_list.txt        dataset ids of the scene's objects (not read)
    scenes/scene_0000/<camera>/camK.npy         3x3 intrinsics [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    scenes/scene_0000/<camera>/rgb/0000.png     colour view 0 ... 0255.png (256 views per scene)
    scenes/scene_0000/<camera>/depth/0000.png   uint16 depth in millimetres (graspnetAPI divides by 1000)
    scenes/scene_0000/<camera>/label/0000.png   object label image: 0 background, dataset object id + 1
    scenes/scene_0000/<camera>/rect/0000.npy    float32 [N, 7] rectangle grasps (the rect_labels download)

with ``<camera>`` = ``kinect`` or ``realsense``. A rect row is ``center_x, center_y, open_x, open_y, height,
score, object_id`` (graspnetAPI ``RectGrasp``): centre and open point in image pixels (x = column, y = row,
origin top-left), the open point being where one jaw touches (``to_opencv_image`` draws the rectangle from
``axis = open - center``; ``to_grasp`` takes width = 2 |open - center|), height = extent across the closing
direction, score = label quality (higher is better: 1.1 - friction coefficient), object_id = dataset object
id (0 ... 87). graspnet-baseline's ``load_grasp_labels`` keys objects by id + 1 "to align with label png".

Convention: centre = (center_x, center_y); angle = direction of (open - centre) from +x toward +y, wrapped
to [-pi/2, pi/2) (the jaw on the other side gives the same grasp); width = 2 |open - centre|; jaw = height.
Object id = dataset object id + 1, so that it equals the object's value in ``label/NNNN.png`` and 0 stays
background; ``load_masks`` returns that label image, ``load_depth`` metres.

The 256 views of one scene and camera are one Sequence (the camera moves along a trajectory), frames in
view order named ``scene_NNNN/<camera>/VVVV``. The grasps must be in ``Frame.objects``, so the rect files of
the requested scenes and views are read when the dataset is read (pass ``scenes`` / ``views`` to bound that);
images, depth and labels load lazily (depth as metres, NaN where the PNG holds 0). An object with no grasp
left in a view is not listed in that frame. ``ReadReport`` counts views (``read``, ``rejected``: rejected
scenes and views, e.g. a corrupt image or a label image of another size) and rect rows (``annotations``;
``rejected_annotations``: one entry per rect file with bad rows) apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

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

CAMERAS = ("kinect", "realsense")
VIEWS_PER_SCENE = 256  # annotated views of every scene and camera
SCENE_PATTERN = re.compile(r"^scene_(\d{4})$")
DEPTH_SCALE = 0.001  # metres per unit of the uint16 depth PNGs (millimetres)
RECT_COLUMNS = ("center_x", "center_y", "open_x", "open_y", "height", "score", "object_id")
OBJECT_ID_OFFSET = 1  # package object id = dataset object id + 1 = the object's value in label/NNNN.png
VIEW_FILES = {"rgb": "png", "depth": "png", "label": "png", "rect": "npy"}  # per-view folder -> extension


def _load_depth(path: Path) -> np.ndarray:
    """uint16 millimetre depth as float32 metres (NaN = no measurement)."""
    return depth_metres(read_label_image(path), DEPTH_SCALE, path)


def _load_rect_rows(path: Path) -> np.ndarray:
    """The [N, 7] rows of a rect file as float64; DatasetError when it is not one."""
    try:
        rows = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: not a readable .npy file ({error})") from error
    if rows.ndim != 2 or rows.shape[1] != len(RECT_COLUMNS):
        raise DatasetError(f"{path}: shape {list(rows.shape)}, expected [N, {len(RECT_COLUMNS)}] "
                           f"({', '.join(RECT_COLUMNS)})")
    return rows.astype(np.float64)


def rect_rows_to_objects(rows: np.ndarray, min_score: float | None, where: Path,
                         report: ReadReport) -> list[ObjectLabel]:
    """Rect rows -> one ObjectLabel per object (package convention); bad rows rejected, one entry a file."""
    half_opening = rows[:, 2:4] - rows[:, 0:2]
    half_width = np.linalg.norm(half_opening, axis=1)
    valid = np.all(np.isfinite(rows), axis=1) & (half_width > 0) & (rows[:, 4] > 0)
    if not np.all(valid):
        report.reject_annotation(where, f"{np.count_nonzero(~valid)} of {len(rows)} rows with non-finite values, "
                             "open point at the centre or non-positive height")
    keep = valid if min_score is None else valid & (rows[:, 5] >= min_score)
    rows, half_opening, half_width = rows[keep], half_opening[keep], half_width[keep]
    report.annotations += len(rows)
    ids = np.round(rows[:, 6]).astype(np.int64) + OBJECT_ID_OFFSET
    objects = []
    for object_id in np.unique(ids):
        mine = ids == object_id
        angles = np.arctan2(half_opening[mine, 1], half_opening[mine, 0])
        grasps = GraspSet.create(rows[mine, 0:2], angles, 2 * half_width[mine], rows[mine, 4])
        objects.append(ObjectLabel(int(object_id), grasps))
    return objects


def _read_view(folder: Path, name: str, view: int, min_score: float | None, report: ReadReport) -> Frame:
    """One view as a Frame; DatasetError naming the missing or broken file."""
    paths = {kind: folder / kind / f"{view:04d}.{ext}" for kind, ext in VIEW_FILES.items()}
    missing = [f"{kind}/{p.name}" for kind, p in paths.items() if not p.is_file()]
    if missing:
        raise DatasetError(f"{folder}: view {view:04d} lacks {', '.join(missing)}")
    size = check_image(paths["rgb"])
    if (label_size := check_image(paths["label"])) != size:
        raise DatasetError(f"{paths['label']}: label image of {label_size[0]}x{label_size[1]} px for an image of "
                           f"{size[0]}x{size[1]} px")
    objects = rect_rows_to_objects(_load_rect_rows(paths["rect"]), min_score, paths["rect"], report)
    return Frame(name=f"{name}/{view:04d}", load_image=lambda p=paths["rgb"]: read_rgb(p), objects=objects,
                 load_masks=lambda p=paths["label"]: read_label_image(p),
                 load_depth=lambda p=paths["depth"]: _load_depth(p))


def _load_intrinsics(path: Path) -> np.ndarray:
    """The 3x3 camera matrix; DatasetError when missing or malformed."""
    if not path.is_file():
        raise DatasetError(f"{path}: missing camera intrinsics")
    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: not a readable .npy file ({error})") from error
    if matrix.shape != (3, 3):
        raise DatasetError(f"{path}: shape {list(matrix.shape)}, expected [3, 3]")
    return matrix.astype(np.float64)


def _read_scene(root: Path, scene: int, camera: str, views: list[int], min_score: float | None,
                report: ReadReport) -> Sequence | None:
    """One scene's views as a Sequence (None when no view is readable); rejects what cannot be read."""
    folder = root / "scenes" / f"scene_{scene:04d}" / camera
    name = f"scene_{scene:04d}/{camera}"
    try:
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder (scene or camera missing)")
        intrinsics = _load_intrinsics(folder / "camK.npy")
    except DatasetError as error:
        report.reject(folder, str(error))
        return None
    frames, kept = [], []
    for view in views:
        try:
            frames.append(_read_view(folder, name, view, min_score, report))
            kept.append(view)
            report.read += 1
        except DatasetError as error:
            report.reject(folder / f"{view:04d}", str(error))
    meta = {"source": "graspnet", "scene": scene, "camera": camera, "K": intrinsics, "views": kept}
    return Sequence(name, frames, meta=meta) if frames else None


def _scene_ids(root: Path, scenes: Iterable[int] | None) -> list[int]:
    """The requested scene ids, or every ``scene_NNNN`` folder under ``root/scenes``."""
    if not (root / "scenes").is_dir():
        raise DatasetError(f"{root}: no scenes/ folder (not a GraspNet-1Billion root)")
    if scenes is not None:
        return [int(s) for s in scenes]
    found = sorted(int(m.group(1)) for p in (root / "scenes").iterdir() if (m := SCENE_PATTERN.match(p.name)))
    if not found:
        raise DatasetError(f"{root / 'scenes'}: no scene_NNNN folders")
    return found


def read_graspnet(root: str | Path, camera: str = "kinect", scenes: Iterable[int] | None = None,
                  views: Iterable[int] | None = None,
                  min_score: float | None = None) -> tuple[list[Sequence], ReadReport]:
    """GraspNet-1Billion scenes seen by ``camera`` as Sequences, and the read report.

    ``scenes``: scene ids to read (default: every scene folder); ``views``: view ids per scene (default all
    256); ``min_score``: keep only grasps whose label score is at least this (default: keep all).
    """
    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    view_ids = list(range(VIEWS_PER_SCENE)) if views is None else [int(v) for v in views]
    report, sequences = ReadReport(unit="views"), []
    for scene in _scene_ids(root, scenes):
        sequence = _read_scene(root, scene, camera, view_ids, min_score, report)
        if sequence is not None:
            sequences.append(sequence)
    report.check(f"GraspNet-1Billion ({camera}) in {root}")
    return sequences, report
