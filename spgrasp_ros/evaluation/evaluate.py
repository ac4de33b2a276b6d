"""``spgrasp eval``: the grasp metric of the paper over tracked sequences, per split and prompt interval.

For every sequence the tracker gets a box prompt (the ground-truth mask's box, or the grasp rectangles' box
without masks) for each object visible on the first frame, then streams the frames. With a prompt interval
k > 0, every k-th frame re-prompts the objects visible there (as the paper's "every 8 frames" protocol);
k = 0 prompts the first frame only. For each frame and each object that is visible in the ground truth and
has grasps, the top-1 predicted grasp counts as correct when it matches a ground-truth rectangle
(``metrics.RectangleMetric``: IoU > 0.25, angle difference < 30 degrees); no prediction counts as wrong.
Also reported: object-mask IoU, the lost-target rate (visible in the ground truth, reported lost), the
false-presence rate (hidden in the ground truth, reported visible), per-frame latency, and accuracy by
frames since the object reappeared after an occlusion.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from spgrasp_ros.data.types import Frame, Sequence, object_box
from spgrasp_ros.evaluation.metrics import RectangleMetric
from spgrasp_ros.grasps.rectangles import grasp_corners
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.results import FrameResult
from spgrasp_ros.settings import parse_overrides, parse_size
from spgrasp_ros.timing import summarise
from spgrasp_ros.tracker.streaming import GraspTracker

NEVER_OCCLUDED = -1  # key of the "frames since occlusion" histogram for objects never hidden so far


@dataclass
class Tally:
    """Counts of one evaluation cell (a split and a prompt interval)."""

    scored: int = 0
    correct: int = 0
    lost: int = 0
    hidden: int = 0
    false_presence: int = 0
    mask_ious: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    since_occlusion: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def summary(self) -> dict:
        """JSON-ready figures."""
        def rate(a: int, b: int) -> float | None:
            return a / b if b else None
        latency = summarise(self.latencies_ms or [0.0])
        return {
            "grasp_accuracy": rate(self.correct, self.scored), "scored": self.scored,
            "mask_iou": float(np.mean(self.mask_ious)) if self.mask_ious else None,
            "lost_rate": rate(self.lost, self.scored), "false_presence_rate": rate(self.false_presence, self.hidden),
            "latency_ms": {k: latency[k] for k in ("median", "p90")},
            "accuracy_by_frames_since_occlusion": {
                str(k): {"accuracy": v[1] / v[0], "scored": v[0]} for k, v in sorted(self.since_occlusion.items())},
        }


def evaluate_sequence(tracker: GraspTracker, sequence: Sequence, interval: int, tally: Tally,
                      metric: RectangleMetric = RectangleMetric()) -> None:
    """Track one sequence with prompts every ``interval`` frames (0: first only) and add to ``tally``."""
    tracker.reset()
    mapping: dict[int, int] = {}  # ground-truth object id -> tracker object id
    last_hidden: dict[int, int] = {}
    for t, frame in enumerate(sequence.frames):
        image, masks = frame.load_image(), frame.load_masks()
        prompt = None
        if t == 0 or (interval > 0 and t % interval == 0):
            targets = [o.object_id for o in frame.objects if o.visible and (t == 0 or o.object_id in mapping)]
            size = (image.shape[1], image.shape[0])
            boxes = {i: object_box(frame, i, masks, size) for i in targets}
            boxes = {i: b.tolist() for i, b in boxes.items() if b is not None}
            if boxes:
                remove = [mapping[i] for i in boxes if i in mapping]
                prompt = Prompt.create(boxes=list(boxes.values()), append=t > 0, remove_ids=remove)
        if prompt is None and not mapping:
            continue
        out = tracker.step(image, prompt)
        if prompt is not None:
            mapping.update(zip(boxes, out.created_ids))
        tally.latencies_ms.append(out.result.processing_ms)
        score_frame(tally, frame, masks, out.result, out.masks, mapping, last_hidden, t, metric)


def score_frame(tally: Tally, frame: Frame, masks: np.ndarray | None, result: FrameResult,
                predicted_masks: np.ndarray | None, mapping: dict[int, int], last_hidden: dict[int, int], t: int,
                metric: RectangleMetric = RectangleMetric()) -> None:
    """Add one tracked frame to ``tally``: top-1 grasp per prompted object (``mapping``: ground-truth id ->
    tracker id), lost and false-presence counts, mask IoU. ``last_hidden`` (ground-truth id -> last frame index
    it was hidden) is updated; ``predicted_masks`` [N, H, W] in the order of ``result.objects``, or None."""
    states = {s.id: (s, predicted_masks[k] if predicted_masks is not None else None)
              for k, s in enumerate(result.objects)}
    for label in frame.objects:
        if label.object_id not in mapping or mapping[label.object_id] not in states:
            continue
        state, predicted_mask = states[mapping[label.object_id]]
        if not label.visible:
            tally.hidden += 1
            tally.false_presence += int(state.visible)
            last_hidden[label.object_id] = t
            continue
        if not len(label.grasps):
            continue
        tally.scored += 1
        tally.lost += int(not state.visible)
        best = result.best_grasp(state.id)
        correct = False
        if best is not None:
            predicted = grasp_corners(np.array([best.center]), best.angle, best.width, best.jaw_size)
            truth = grasp_corners(label.grasps.centers, label.grasps.angles, label.grasps.widths, label.grasps.jaws)
            correct = bool(metric.is_correct(predicted, [best.angle], truth, label.grasps.angles)[0])
        tally.correct += int(correct)
        since = t - last_hidden[label.object_id] if label.object_id in last_hidden else NEVER_OCCLUDED
        cell = tally.since_occlusion[since]
        cell[0] += 1
        cell[1] += int(correct)
        if masks is not None and predicted_mask is not None:
            truth_mask = masks == label.object_id
            union = np.logical_or(truth_mask, predicted_mask).sum()
            tally.mask_ious.append(float(np.logical_and(truth_mask, predicted_mask).sum() / union) if union else 1.0)


def evaluate(tracker: GraspTracker, splits: dict[str, list[Sequence]], intervals: tuple[int, ...] = (0, 8, 1),
             progress: bool = True) -> dict:
    """{split: {"interval_<k>": figures}} for every split and prompt interval."""
    results: dict = {}
    for split, sequences in splits.items():
        results[split] = {}
        for interval in intervals:
            tally = Tally()
            for sequence in tqdm(sequences, desc=f"{split} k={interval}", disable=not progress):
                evaluate_sequence(tracker, sequence, interval, tally)
            results[split][f"interval_{interval}"] = tally.summary()
    return results


def plot_results(results: dict, out_dir: Path) -> list[Path]:
    """accuracy_vs_prompt_interval.png and accuracy_vs_frames_since_occlusion.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    splits = list(results)
    intervals = list(next(iter(results.values()))) if results else []
    width = 0.8 / max(1, len(splits))
    for s, split in enumerate(splits):
        values = [(results[split][k]["grasp_accuracy"] or 0.0) * 100 for k in intervals]
        ax.bar(np.arange(len(intervals)) + s * width, values, width, label=split)
    labels = {"interval_0": "first frame only", "interval_1": "every frame"}
    ax.set_xticks(np.arange(len(intervals)) + width * (len(splits) - 1) / 2,
                  [labels.get(k, f"every {k.split('_')[1]} frames") for k in intervals])
    paths.append(_save_accuracy_plot(fig, ax, "Accuracy vs prompt interval (IoU > 0.25, angle < 30 deg)",
                                     out_dir / "accuracy_vs_prompt_interval.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    for split in splits:
        cells = results[split].get("interval_0", {}).get("accuracy_by_frames_since_occlusion", {})
        after = sorted((int(k), v) for k, v in cells.items() if int(k) >= 0)
        if after:
            ax.plot([k for k, _ in after], [v["accuracy"] * 100 for _, v in after], marker="o", label=split)
        if str(NEVER_OCCLUDED) in cells:
            ax.axhline(cells[str(NEVER_OCCLUDED)]["accuracy"] * 100, linestyle="--", alpha=0.6,
                       label=f"{split}: never occluded")
    ax.set_xlabel("frames since the object reappeared")
    paths.append(_save_accuracy_plot(fig, ax, "Recovery after occlusion (prompt on the first frame only)",
                                     out_dir / "accuracy_vs_frames_since_occlusion.png"))
    return paths


def _save_accuracy_plot(fig, ax, title: str, path: Path) -> Path:
    """Common finish of the accuracy plots: percent axis, title, legend, written to ``path``."""
    import matplotlib.pyplot as plt

    ax.set_ylabel("grasp accuracy [%]")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_results(results: dict, out_dir: Path, meta: dict) -> list[Path]:
    """eval.json plus the plots."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "eval.json"
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return [path, *plot_results(results, out_dir)]


def parse_data_spec(spec: str) -> tuple[str, list[Sequence]]:
    """``synthetic[:seed=100000,sequences=20,frames=24,size=160x120]`` or ``<kind>:<path>`` (kind: recorded,
    cornell, jacquard, ocid, graspnet) -> (split name, sequences)."""
    import dataclasses

    from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
    from spgrasp_ros.training.sources import SourceConfig, read_source

    kind, _, rest = spec.partition(":")
    if kind == "synthetic":
        options = {key: str(value) for key, value in parse_overrides(item for item in rest.split(",") if item)}
        unknown = set(options) - {"seed", "sequences", "frames", "size", "max_objects"}
        if unknown:
            raise ValueError(f"unknown synthetic options {sorted(unknown)} in {spec!r}")
        seed, count = int(options.get("seed", 100000)), int(options.get("sequences", 20))
        config = SynthConfig()
        if "size" in options:
            config = dataclasses.replace(config, size=parse_size(options["size"], f"size in {spec!r}"))
        if "frames" in options:
            config = dataclasses.replace(config, frames=int(options["frames"]))
        if "max_objects" in options:
            config = dataclasses.replace(config, max_objects=int(options["max_objects"]))
        return f"synthetic@{seed}", [generate_clip(config, seed + i).to_sequence() for i in range(count)]
    if not rest:
        raise ValueError(f"data spec {spec!r}: expected <kind>:<path> or synthetic[:options]")
    sequences, report = read_source(SourceConfig(kind=kind, root=rest))
    print(f"{kind} {rest}: {report.summary()}")
    return kind, sequences
