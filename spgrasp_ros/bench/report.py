"""What a benchmark shows: plain-text tables for the terminal, PNG plots, and the files of a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spgrasp_ros.bench.measure import STAGES
from spgrasp_ros.bench.sweep import TARGETS, base_key, row_key


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported on first use: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_bench(result: dict, path: Path) -> None:
    """Bar chart of the median and p99 time per stage, with the frame total (and sam2's) in the title."""
    plt = _pyplot()
    names = list(result["stages_ms"])
    medians = [result["stages_ms"][n]["median"] for n in names]
    p99 = [result["stages_ms"][n]["p99"] for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    positions = np.arange(len(names))
    ax.bar(positions - 0.2, medians, 0.4, label="median")
    ax.bar(positions + 0.2, p99, 0.4, label="p99")
    ax.set_xticks(positions, names, rotation=20)
    ax.set_ylabel("ms per frame")
    s = result["settings"]
    sam2 = f", sam2 {result['sam2']['frame_ms']['median']:.1f} ms" if result.get("sam2") else ""
    model = result["model_config"]
    ax.set_title(f"{s['model']} @ {model['image_size']} px, n_hist {model['n_hist']}, "
                 f"{s['objects']} object(s), {s['mode']}, {s['device']}: frame median "
                 f"{result['frame_ms']['median']:.1f} ms{sam2}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sweep(result: dict, path: Path) -> None:
    """Per row: stacked stage medians, the end-to-end median and p99 and sam2's median (left); the ratio to
    sam2 (middle); the long stream's memory (right, when run)."""
    plt = _pyplot()
    rows = result["rows"]
    labels = [f"{r['model']} {r['image_size']} N{r['n_hist']} {r['objects']}obj {r['mode']}" for r in rows]
    panels = 3 if result.get("long_stream") else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, max(3.0, 0.22 * len(rows) + 1.5)), squeeze=False,
                             gridspec_kw={"width_ratios": [3, 1.5, 2][:panels]})
    ax = axes[0][0]
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for name in STAGES:
        values = np.array([r["stages_ms"][name]["median"] for r in rows])
        ax.barh(y, values, left=left, height=0.7, label=name)
        left += values
    ax.plot([r["frame_ms"]["median"] for r in rows], y, "k|", markersize=12, label="end to end (median)")
    ax.plot([r["frame_ms"]["p99"] for r in rows], y, "kx", markersize=4, label="end to end (p99)")
    bases = {base_key(b): b["frame_ms"]["median"] for b in result.get("baselines", [])}
    sam2 = [bases.get(row_key(r)[:4], np.nan) for r in rows]
    ax.plot(sam2, y, "rd", markersize=4, label="sam2 predictor (median)")
    for target in TARGETS:
        ax.axvline(target["frame_ms"], color="grey", linestyle=":", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms per frame (log)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.6 / max(3.0, 0.22 * len(rows) + 1.5)),
              ncol=5)
    env = result.get("environment", {})
    ax.set_title(f"{env.get('device_name', '')}, torch {env.get('torch', '')}: per-stage medians", fontsize=9)
    ax = axes[0][1]
    ratios = [r["ratio_to_sam2"]["median"] if r.get("ratio_to_sam2") else np.nan for r in rows]
    ax.barh(y, ratios, height=0.7, color=["tab:green" if v <= 1 else "tab:red" for v in ratios])
    ax.axvline(1.0, color="k", linewidth=0.8)
    ax.set_yticks(y, [])
    ax.invert_yaxis()
    ax.set_xlabel("end to end / sam2 (median)")
    ax.set_title("ratio to sam2 (< 1: faster)", fontsize=9)
    if panels == 3:
        stream = result["long_stream"]
        ax = axes[0][2]
        samples = np.array(stream["samples"], dtype=np.float64)
        ax.plot(samples[:, 0], samples[:, 1] / 2 ** 20)
        ax.set_xlabel("frame")
        ax.set_ylabel(f"MiB ({stream['what']})")
        ax.set_title(f"memory over {stream['frames']} frames: flat {stream['flat']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def format_table(result: dict) -> str:
    """Plain-text table of a single benchmark."""
    lines = [f"{'stage':18s} {'median':>9s} {'p90':>9s} {'p99':>9s} {'x floor':>9s}  [ms]"]
    x_floor = result.get("x_floor", {})
    rows = list(result["stages_ms"].items()) + [("frame (total)", result["frame_ms"])]
    lines += [f"{name:18s} {v['median']:9.2f} {v['p90']:9.2f} {v['p99']:9.2f} "
              f"{x_floor[name] if name in x_floor else float('nan'):9.1f}" for name, v in rows]
    lines.append(f"{result['fps_median']:.1f} frames/s at the median")
    if result.get("sam2"):
        ratio = result["ratio_to_sam2"]
        lines.append(f"sam2 video predictor ({result['sam2']['predictor']}): median "
                     f"{result['sam2']['frame_ms']['median']:.2f} ms -> ratio {ratio['median']:.2f} "
                     f"(p99 {ratio['p99']:.2f}; runs one after the other)")
    if result.get("interleaved"):
        side = result["interleaved"]
        lines.append(f"side by side, frame by frame: ours {side['ours_ms']['median']:.2f} ms, sam2 "
                     f"{side['sam2_ms']['median']:.2f} ms -> ratio per frame median "
                     f"{side['ratio_per_frame']['median']:.2f} (p90 {side['ratio_per_frame']['p90']:.2f})")
    return "\n".join(lines)


def format_sweep(result: dict) -> str:
    """Plain-text summary of a sweep: one line per row, then the targets."""
    lines = [f"{'row':42s} {'median':>8s} {'p99':>8s} {'/sam2':>6s} {'x floor':>8s} {'peak MiB':>9s}"]
    for r in result["rows"]:
        label = f"{r['model']} {r['image_size']} N{r['n_hist']} {r['objects']}obj {r['mode']}"
        ratio = f"{r['ratio_to_sam2']['median']:6.2f}" if r.get("ratio_to_sam2") else f"{'-':>6s}"
        peak = r["memory"]["peak_bytes"]
        lines.append(f"{label:42s} {r['frame_ms']['median']:8.2f} {r['frame_ms']['p99']:8.2f} {ratio} "
                     f"{r['frame_ms']['median'] / r['frame_floor_ms']:8.1f} "
                     f"{peak / 2 ** 20 if peak else float('nan'):9.1f}")
    for target in result.get("targets", []):
        measured = target.get("measured_ms", target.get("measured"))
        lines.append(f"target: {target['target']}: {measured} -> {'met' if target['met'] else 'NOT met'}")
    lines.append("sweep complete" if result.get("complete") else "sweep incomplete: run the same command with "
                 "--resume again to continue")
    return "\n".join(lines)


def write_outputs(result: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write ``bench.json`` and ``bench.png`` (single) or ``sweep.json`` and ``sweep.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "sweep" if result.get("kind") == "sweep" else "bench"
    json_path, png_path = out_dir / f"{stem}.json", out_dir / f"{stem}.png"
    json_path.write_text(json.dumps(result, indent=1))
    (plot_sweep if stem == "sweep" else plot_bench)(result, png_path)
    return json_path, png_path
