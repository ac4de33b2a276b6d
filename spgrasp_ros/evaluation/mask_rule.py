"""``spgrasp eval --masks ground-truth``: the mask-geometry grasp rule alone, on the datasets' own masks.

No tracker runs: each frame's visible objects get the grasps ``grasps.mask_geometry`` computes from their
ground-truth masks (with the frame's depth and the sequence's focal length when both exist: the opening limit
in metres and the contact flatness), and the same scorer as ``evaluate`` counts the top-1 grasp with the
paper's rectangle metric. Frames without masks (Cornell) have nothing to measure and are skipped; a split
without any masks is reported as such. The cell is ``ground_truth_masks``.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from tqdm import tqdm

from spgrasp_ros.data.recorded import camera_intrinsics
from spgrasp_ros.data.types import DatasetError, Sequence
from spgrasp_ros.evaluation.evaluate import load_frame
from spgrasp_ros.evaluation.scoring import SequenceScorer
from spgrasp_ros.evaluation.tally import Tally
from spgrasp_ros.grasps.mask_geometry import GeometryConfig, mask_grasps
from spgrasp_ros.results import TRACKING, FrameResult, ObjectState

CELL = "ground_truth_masks"


def _fx(sequence: Sequence) -> float | None:
    """The sequence's focal length [px]: recorded sequences' ``camera.fx``, GraspNet's ``K``; else None."""
    intrinsics = camera_intrinsics(sequence.meta)
    if intrinsics is not None:
        return intrinsics[0]
    if sequence.meta.get("K") is not None:
        return float(np.asarray(sequence.meta["K"], dtype=float)[0, 0])
    return None


def _frame_result(frame, masks: np.ndarray, t: int, config: GeometryConfig, depth: np.ndarray | None,
                  fx: float | None) -> tuple[FrameResult, np.ndarray]:
    """The rule's result for every visible object of a frame, and their masks [N, H, W] in result order."""
    start = time.perf_counter()
    states, grasps, object_masks = [], [], []
    for label in sorted(frame.objects, key=lambda o: o.object_id):
        mask = masks == label.object_id
        if not label.visible or not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        states.append(ObjectState(label.object_id, True, 1.0, int(mask.sum()),
                                  (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)),
                                  t, 0, TRACKING))
        grasps.extend(dataclasses.replace(g, source="geometry")
                      for g in mask_grasps(label.object_id, mask, config, depth, fx))
        object_masks.append(mask)
    result = FrameResult(image_size=(masks.shape[1], masks.shape[0]), frame_index=t, objects=tuple(states),
                         grasps=tuple(sorted(grasps, key=lambda g: -g.score)),
                         processing_ms=(time.perf_counter() - start) * 1000.0)
    stacked = np.stack(object_masks) if object_masks else np.zeros((0, *masks.shape), bool)
    return result, stacked


def evaluate_mask_rule(splits: dict[str, list[Sequence]], config: GeometryConfig = GeometryConfig(),
                       progress: bool = True) -> dict:
    """{split: {``CELL``: figures}}: the geometry rule's top-1 grasps on each frame's ground-truth masks."""
    results: dict = {}
    for split, sequences in splits.items():
        tally, with_masks = Tally(), 0
        for sequence in tqdm(sequences, desc=f"{split} {CELL}", disable=not progress):
            scorer = SequenceScorer(tally)
            scorer.mapping.update({i: i for i in sequence.object_ids()})
            fx = _fx(sequence)
            for t, frame in enumerate(sequence.frames):
                try:
                    image, masks = load_frame(frame)
                    depth = frame.load_depth() if fx else None
                except DatasetError as error:
                    tally.unreadable.append((frame.name, str(error)))
                    continue
                if masks is None:
                    continue
                with_masks += 1
                result, object_masks = _frame_result(frame, masks, t, config, depth, fx)
                tally.latencies_ms.append(result.processing_ms)
                scorer.score(t, frame, masks, result, object_masks)
            scorer.finish()
        figures = tally.summary()
        figures["frames_with_masks"] = with_masks
        results[split] = {CELL: figures}
    return results
