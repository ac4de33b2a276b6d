"""The recorded-sequence format: a user's own camera recordings (and ``spgrasp synth``'s scenes) on disk.

One folder per sequence::

    <sequence>/
      sequence.json        {"format": "spgrasp_ros.sequence/1", "name": str, "size": [W, H], "fps": float,
                            "frames": N, "objects": {"<id>": {"name": str}, ...},
                            "camera": {"fx", "fy", "cx", "cy"} (optional), "depth_scale": 0.001 (with depth),
                            "frame_id": str (optional: the camera's optical frame, as a ROS header names it)}
      rgb/000000.png       colour frames (8-bit PNG)
      masks/000000.png     optional label images: pixel = object id (uint8, or uint16 above 255), 0 = background
      depth/000000.png     optional registered depth, uint16, metres = value * depth_scale, 0 = no measurement
      annotations.jsonl    one line per frame, in frame order:
                           {"frame": 0, "objects": [{"id": 1, "visible": true,
                                                     "grasps": [[cx, cy, angle, width, jaw], ...]}, ...],
                            "stamp_ns": int (optional: the frame's capture stamp, as a ROS header has it)}

Grasps use the package convention (``spgrasp_ros.data.types``): pixels, x right, y down; angle = closing
direction from +x toward +y in radians; width = opening; jaw = extent across it. ``visible: false`` marks
an occluded object (its grasps, if any, are not scored). ``sequence.json`` is written last, so a folder
without it is an unfinished recording. Reading checks every frame file (``types.check_image``): a sequence
with a missing, corrupt or wrongly sized frame or mask is rejected, naming the file. Depth loads as metres
with NaN where there is no measurement. When every line has a ``stamp_ns``, the sequence's meta lists them as
``stamps_ns`` (frame order).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
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

FORMAT = "spgrasp_ros.sequence/1"
DEPTH_SCALE = 0.001  # metres per unit of the uint16 depth PNGs (millimetres)


def camera_intrinsics(meta: dict) -> tuple[float, float, float, float] | None:
    """(fx, fy, cx, cy) [px] of a recorded sequence's ``camera`` entry (``sequence.json``), or None without one."""
    camera = meta.get("camera")
    if not isinstance(camera, dict) or not camera:
        return None
    return tuple(float(camera[k]) for k in ("fx", "fy", "cx", "cy"))


class SequenceWriter:
    """Writes one sequence frame by frame; ``close`` writes ``sequence.json``. Use as a context manager."""

    def __init__(self, folder: str | Path, size: tuple[int, int], fps: float = 30.0,
                 object_names: dict[int, str] | None = None, camera: dict | None = None,
                 frame_id: str | None = None) -> None:
        self.folder = Path(folder)
        if (self.folder / "sequence.json").exists():
            raise FileExistsError(f"{self.folder} already holds a recorded sequence")
        (self.folder / "rgb").mkdir(parents=True, exist_ok=True)
        self.size = tuple(size)  # (W, H)
        self.fps = fps
        self.object_names = dict(object_names or {})
        self.camera = camera
        self.frame_id = frame_id
        self._count = 0
        self._has_depth = False
        self._annotations = open(self.folder / "annotations.jsonl", "w")

    def write(self, rgb: np.ndarray, objects: list[ObjectLabel], masks: np.ndarray | None = None,
              depth_m: np.ndarray | None = None, stamp_ns: int | None = None) -> None:
        """Append a frame: HxWx3 uint8 RGB, its object labels, optional HxW label image, depth [m] and capture
        stamp [ns]."""
        height, width = rgb.shape[:2]
        if (width, height) != self.size or rgb.dtype != np.uint8 or rgb.ndim != 3:
            raise ValueError(f"frame {self._count}: expected {self.size[0]}x{self.size[1]}x3 uint8, "
                             f"got {rgb.dtype} {list(rgb.shape)}")
        name = f"{self._count:06d}.png"
        cv2.imwrite(str(self.folder / "rgb" / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if masks is not None:
            (self.folder / "masks").mkdir(exist_ok=True)
            dtype = np.uint8 if masks.max(initial=0) < 256 else np.uint16
            cv2.imwrite(str(self.folder / "masks" / name), masks.astype(dtype))
        if depth_m is not None:
            (self.folder / "depth").mkdir(exist_ok=True)
            valid = np.isfinite(depth_m) & (depth_m > 0)
            units = np.where(valid, np.round(np.nan_to_num(depth_m) / DEPTH_SCALE), 0).clip(0, 65535)
            cv2.imwrite(str(self.folder / "depth" / name), units.astype(np.uint16))
            self._has_depth = True
        line = {"frame": self._count, "objects": [
            {"id": int(o.object_id), "visible": bool(o.visible),
             "grasps": np.column_stack([o.grasps.centers, o.grasps.angles, o.grasps.widths,
                                        o.grasps.jaws]).round(4).tolist()} for o in objects]}
        if stamp_ns is not None:
            line["stamp_ns"] = int(stamp_ns)
        self._annotations.write(json.dumps(line) + "\n")
        for o in objects:
            self.object_names.setdefault(int(o.object_id), f"object {o.object_id}")
        self._count += 1

    def close(self) -> None:
        """Finish the sequence (writes ``sequence.json``)."""
        if self._annotations.closed:
            return
        self._annotations.close()
        meta = {"format": FORMAT, "name": self.folder.name, "size": list(self.size), "fps": self.fps,
                "frames": self._count, "objects": {str(k): {"name": v} for k, v in sorted(self.object_names.items())}}
        if self.camera:
            meta["camera"] = self.camera
        if self._has_depth:
            meta["depth_scale"] = DEPTH_SCALE
        if self.frame_id:
            meta["frame_id"] = self.frame_id
        (self.folder / "sequence.json").write_text(json.dumps(meta, indent=2))

    def __enter__(self) -> "SequenceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _parse_objects(line: dict, where: str) -> list[ObjectLabel]:
    objects = []
    for entry in line.get("objects", []):
        grasps = np.asarray(entry.get("grasps", []), dtype=np.float64).reshape(-1, 5) if entry.get("grasps") \
            else np.zeros((0, 5))
        if not np.all(np.isfinite(grasps)) or np.any(grasps[:, 3:] < 0):
            raise DatasetError(f"{where}: object {entry.get('id')} has non-finite or negative grasp values")
        objects.append(ObjectLabel(int(entry["id"]), GraspSet.create(grasps[:, :2], grasps[:, 2], grasps[:, 3],
                                                                     grasps[:, 4]), bool(entry.get("visible", True))))
    return objects


def read_sequence(folder: str | Path) -> Sequence:
    """One recorded sequence folder."""
    folder = Path(folder)
    meta_path = folder / "sequence.json"
    if not meta_path.is_file():
        raise DatasetError(f"{folder}: no sequence.json (not a recorded sequence, or an unfinished one)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetError(f"{meta_path}: invalid JSON ({error})") from error
    if meta.get("format") != FORMAT:
        raise DatasetError(f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    annotations = folder / "annotations.jsonl"
    if not annotations.is_file():
        raise DatasetError(f"{folder}: annotations.jsonl is missing")
    lines = [line for line in annotations.read_text().splitlines() if line.strip()]
    if len(lines) != meta["frames"]:
        raise DatasetError(f"{annotations}: {len(lines)} lines for {meta['frames']} frames")
    scale = float(meta.get("depth_scale", DEPTH_SCALE))
    expected = tuple(meta.get("size", ()))  # (W, H) of every frame
    frames, stamps = [], []
    for index, text in enumerate(lines):
        where = f"{annotations}:{index + 1}"
        try:
            line = json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{where}: invalid JSON ({error})") from error
        if line.get("frame") != index:
            raise DatasetError(f"{where}: frame {line.get('frame')}, expected {index}")
        if isinstance(line.get("stamp_ns"), int):
            stamps.append(line["stamp_ns"])
        name = f"{index:06d}.png"
        rgb = folder / "rgb" / name
        if not rgb.is_file():
            raise DatasetError(f"{rgb}: missing colour frame")
        mask_path, depth_path = folder / "masks" / name, folder / "depth" / name
        for path in (rgb, mask_path) if mask_path.is_file() else (rgb,):
            size = check_image(path)
            if expected and size != expected:
                raise DatasetError(f"{path}: {size[0]}x{size[1]} px, the sequence is {expected[0]}x{expected[1]}")
        frames.append(Frame(
            name=f"{folder.name}/{index:06d}",
            load_image=lambda p=rgb: read_rgb(p),
            objects=_parse_objects(line, where),
            load_masks=lambda p=mask_path: read_label_image(p) if p.is_file() else None,
            load_depth=lambda p=depth_path: depth_metres(read_label_image(p), scale, p) if p.is_file() else None,
        ))
    meta = {k: v for k, v in meta.items() if k != "format"} | {"source": "recorded"}
    if lines and len(stamps) == len(lines):
        meta["stamps_ns"] = stamps
    return Sequence(folder.name, frames, meta=meta)


def read_recorded(root: str | Path) -> tuple[list[Sequence], ReadReport]:
    """A sequence folder, or a folder of sequence folders (unreadable ones are rejected with the reason)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    folders = [root] if (root / "sequence.json").exists() else sorted(p for p in root.iterdir() if p.is_dir())
    report, sequences = ReadReport(unit="sequences"), []
    for folder in folders:
        try:
            sequences.append(read_sequence(folder))
            report.read += 1
        except DatasetError as error:
            report.reject(folder, str(error))
    report.check(f"recorded sequences in {root}")
    return sequences, report
