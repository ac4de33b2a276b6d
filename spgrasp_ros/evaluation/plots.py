"""The plots of ``spgrasp eval``: accuracy per prompt interval, recovery after occlusion, tracking figures.

Splits of single images (the ``single_image`` cell) appear in the accuracy plot only: recovery after occlusion
and the tracking figures are drawn for the video splits, and not at all when there is nothing to draw.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spgrasp_ros.evaluation.tally import NEVER_OCCLUDED, REACQUIRE_WITHIN, SINGLE_IMAGE


def plot_results(results: dict, out_dir: Path) -> list[Path]:
    """accuracy_vs_prompt_interval.png, and for video splits accuracy_vs_frames_since_occlusion.png (when an
    object reappeared) and tracking_figures.png; a plot not drawn is removed from ``out_dir`` (a stale one
    of an earlier run would mislead)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    splits = list(results)
    cells = list(dict.fromkeys(cell for split in splits for cell in results[split]))  # in order, each once
    width = 0.8 / max(1, len(splits))
    for s, split in enumerate(splits):
        present = [i for i, cell in enumerate(cells) if cell in results[split]]
        values = [(results[split][cells[i]]["grasp_accuracy"] or 0.0) * 100 for i in present]
        ax.bar(np.array(present) + s * width, values, width, label=split)
    labels = {"interval_0": "first frame only", "interval_1": "every frame", SINGLE_IMAGE: "single images"}
    ax.set_xticks(np.arange(len(cells)) + width * (len(splits) - 1) / 2,
                  [labels.get(k, f"every {k.split('_')[1]} frames") for k in cells])
    paths.append(_save_accuracy_plot(fig, ax, "Accuracy vs prompt interval (IoU > 0.25, angle < 30 deg)",
                                     out_dir / "accuracy_vs_prompt_interval.png"))

    occlusion_path, tracking_path = out_dir / "accuracy_vs_frames_since_occlusion.png", out_dir / "tracking_figures.png"
    occlusion_path.unlink(missing_ok=True)
    tracking_path.unlink(missing_ok=True)
    recovery = {}  # split -> {frames since the object reappeared: accuracy cell} of the first-frame prompt
    for split in splits:
        histogram = results[split].get("interval_0", {}).get("accuracy_by_frames_since_occlusion", {})
        recovery[split] = {int(k): v for k, v in histogram.items()}
    if any(k >= 0 for by_k in recovery.values() for k in by_k):
        fig, ax = plt.subplots(figsize=(7, 4))
        for split, by_k in recovery.items():
            after = sorted((k, v["accuracy"]) for k, v in by_k.items() if k >= 0)
            if after:
                ax.plot([k for k, _ in after], [a * 100 for _, a in after], marker="o", label=split)
            if NEVER_OCCLUDED in by_k:
                ax.axhline(by_k[NEVER_OCCLUDED]["accuracy"] * 100, linestyle="--", alpha=0.6,
                           label=f"{split}: never occluded")
        ax.set_xlabel("frames since the object reappeared")
        paths.append(_save_accuracy_plot(fig, ax, "Recovery after occlusion (prompt on the first frame only)",
                                         occlusion_path))
    videos = {split: figures for split, figures in results.items() if SINGLE_IMAGE not in figures}
    if videos:
        paths.append(plot_tracking_figures(videos, tracking_path))
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


def plot_tracking_figures(results: dict, path: Path) -> Path:
    """One bar group per split (first-frame prompt): accuracy, false presence while hidden, reacquisition within
    3 frames, identity switches per 1,000 object-frames and best-grasp switches per 100 frame pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [("grasp accuracy [%]", lambda c: 100 * (c["grasp_accuracy"] or 0)),
               ("false presence [%]", lambda c: 100 * (c["false_presence_rate"] or 0)),
               (f"reacquired within {REACQUIRE_WITHIN} [%]",
                lambda c: 100 * (c["reacquisition"][f"within_{REACQUIRE_WITHIN}"] or 0)),
               ("identity switches / 1000", lambda c: c["identity"]["switches_per_1000"] or 0),
               ("best-grasp switches / 100", lambda c: c["best_grasp"]["switches_per_100"] or 0)]
    splits = [s for s in results if "interval_0" in results[s]] or list(results)
    fig, axes = plt.subplots(1, len(figures), figsize=(3.2 * len(figures), 3.6))
    for ax, (title, value) in zip(axes, figures):
        cells = [results[s].get("interval_0") or next(iter(results[s].values())) for s in splits]
        ax.bar(np.arange(len(splits)), [value(c) for c in cells], color="tab:blue")
        ax.set_xticks(np.arange(len(splits)), splits, rotation=60, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
    fig.suptitle("Tracking figures per split (prompt on the first frame only)")
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
