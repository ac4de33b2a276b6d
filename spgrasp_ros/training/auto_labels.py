"""``spgrasp label``: labels for a recording, from one prompt, so a recipe can fine-tune on it.

A recording of the ZED node (``record_path``) or of ``spgrasp bag to-sequence`` is a recorded sequence with no
objects. Given a box per object on its first frame, the tracker follows them through the recording and each
frame gets, per object, its tracked mask (the label image), whether it is visible, and its grasps from the
mask's geometry (``grasps.mask_geometry``, with the frame's depth and the camera's fx when recorded): the same
labels a person would draw, written as a new recorded sequence (colour, depth and stamps copied).

These are pseudo-labels: a model fine-tuned on them learns to segment and grasp the user's own objects the
way the tracker and the geometry rule see them (self-training; SPGrasp's own labels are human). Check them by
eye first: ``spgrasp label`` also writes ``labels.mp4``, the masks and best grasps drawn on every frame.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from spgrasp_ros.data.recorded import SequenceWriter, camera_intrinsics, read_sequence
from spgrasp_ros.data.types import GraspSet, ObjectLabel
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.streaming import GraspTracker
from spgrasp_ros.visualize import draw_result


def _labels(output) -> tuple[list[ObjectLabel], np.ndarray]:
    """The frame's object labels (visible, grasps best first) and its label image."""
    objects = []
    for state in output.result.objects:
        grasps = [g for g in output.result.grasps if g.object_id == state.id] if state.visible else []
        objects.append(ObjectLabel(state.id, GraspSet.create(
            np.array([g.center for g in grasps], float).reshape(-1, 2), np.array([g.angle for g in grasps], float),
            np.array([g.width for g in grasps], float), np.array([g.jaw_size for g in grasps], float)),
            bool(state.visible)))
    return objects, output.label_image()


def label_recording(tracker: GraspTracker, recording: str | Path, out: str | Path,
                    boxes: list[list[float]], progress: bool = True) -> dict:
    """Track ``boxes`` (x_min, y_min, x_max, y_max px, one per object, on the first frame) through the
    recorded sequence ``recording`` and write it with labels to ``out``; returns a summary (frames, objects,
    visible object-frames, grasps). ValueError for no box; DatasetError for an unreadable recording."""
    if not boxes:
        raise ValueError("spgrasp label needs at least one --box on the first frame")
    sequence = read_sequence(recording)
    tracker.config = dataclasses.replace(tracker.config, grasp_source="geometry")
    tracker.reset(restart_ids=True)
    meta = sequence.meta
    camera = meta.get("camera")
    intrinsics = camera_intrinsics(meta)
    fx = intrinsics[0] if intrinsics else None
    stamps = meta.get("stamps_ns")
    width, height = meta["size"]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    video = cv2.VideoWriter(str(out.parent / f"{out.name}_labels.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                            float(meta.get("fps", 10.0)), (width, height))
    visible = grasps = 0
    with SequenceWriter(out, (width, height), float(meta.get("fps", 30.0)), camera=camera,
                        frame_id=meta.get("frame_id")) as writer:
        for index, frame in enumerate(tqdm(sequence.frames, desc="label", disable=not progress)):
            rgb, depth = frame.load_image(), frame.load_depth()
            prompt = Prompt.create(boxes=boxes) if index == 0 else None
            output = tracker.step(rgb, prompt, (depth, fx) if depth is not None and fx else None)
            objects, label_image = _labels(output)
            visible += sum(o.visible for o in objects)
            grasps += sum(len(o.grasps) for o in objects)
            writer.write(rgb, objects, label_image, depth, stamps[index] if stamps else None)
            picture = draw_result(rgb, output.result, output.masks, label=f"frame {index}")
            video.write(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    video.release()
    return {"frames": len(sequence.frames), "objects": len(boxes), "visible_object_frames": visible,
            "grasps": grasps, "out": str(out), "video": str(out.parent / f"{out.name}_labels.mp4")}
