"""The plots of ``spgrasp eval``: accuracy per prompt interval, recovery after occlusion, tracking figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spgrasp_ros.evaluation.tally import NEVER_OCCLUDED, REACQUIRE_WITHIN


def plot_results(results: dict, out_dir: Path) -> list[Path]:
    """accuracy_vs_prompt_interval.png, accuracy_vs_frames_since_occlusion.png and tracking_figures.png."""
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
    paths.append(plot_tracking_figures(results, out_dir / "tracking_figures.png"))
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
