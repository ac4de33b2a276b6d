"""``spgrasp bench``: per-stage and per-frame time of the streaming tracker for one configuration.

Stages: preprocess, image_encoder, memory_attention, decoder, memory_encoder, grasp_decode (peaks, mapping
to input pixels, masks, the one transfer to the host). Frames are a moving synthetic scene at camera
resolution with one box prompt per object on the first frame; the first ``warmup`` frames are not counted.
Results: median / p90 / p99 per stage and for the whole frame, as JSON and a PNG bar chart.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from tqdm import tqdm

from spgrasp_ros import __version__
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import load_weights
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.timing import StageTimer
from spgrasp_ros.tracker.streaming import GraspTracker

STAGES = ("preprocess", "image_encoder", "memory_attention", "decoder", "memory_encoder", "grasp_decode")


@dataclass(frozen=True)
class BenchSettings:
    """One benchmark configuration."""

    model: str = "base_plus"  # model preset name or YAML path
    checkpoint: str | None = None  # SPGrasp checkpoint; None: random weights (same compute)
    device: str = "cpu"
    n_hist: int | None = None  # override the model's n_hist
    image_size: int | None = None  # override the model's input size
    objects: int = 1
    frames: int = 100  # timed frames
    warmup: int = 10
    width: int = 640  # camera resolution
    height: int = 480
    threads: int | None = None  # torch CPU threads (default: torch's choice)


def moving_scene(width: int, height: int, objects: int, seed: int = 0) -> tuple[Iterator[np.ndarray], list]:
    """An endless stream of frames with ``objects`` coloured blocks drifting over a textured background,
    and one box per block on the first frame."""
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 220, (height, width, 3), dtype=np.uint8)
    side = max(8, min(width, height) // 6)
    starts = [(int(rng.integers(0, width - side)), int(rng.integers(0, height - side))) for _ in range(objects)]
    colours = rng.integers(0, 255, (objects, 3), dtype=np.uint8)

    def frames() -> Iterator[np.ndarray]:
        t = 0
        while True:
            image = background.copy()
            for (x, y), colour in zip(starts, colours):
                x = int((x + 2 * t) % (width - side))
                y = int((y + t) % (height - side))
                image[y:y + side, x:x + side] = colour
            yield image
            t += 1

    boxes = [[x, y, x + side, y + side] for x, y in starts]
    return frames(), boxes


def _percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(array)), "p90": float(np.percentile(array, 90)),
            "p99": float(np.percentile(array, 99)), "mean": float(array.mean())}


def run_bench(settings: BenchSettings, progress: bool = True) -> dict:
    """Run one benchmark; returns the JSON-ready result."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    config = load_model_config(settings.model)
    if settings.n_hist is not None:
        config = config.replace(n_hist=settings.n_hist)
    if settings.image_size is not None:
        config = config.replace(image_size=settings.image_size)
    model = build_model(config, "cpu")
    if settings.checkpoint:
        load_weights(model, config, settings.checkpoint)
    tracker = GraspTracker(model.to(settings.device), config)
    timer = StageTimer(settings.device)
    tracker.timer = timer
    frames, boxes = moving_scene(settings.width, settings.height, settings.objects)
    tracker.step(next(frames), Prompt.create(boxes=boxes))
    timer.frame_done()
    per_stage: dict[str, list[float]] = {name: [] for name in STAGES}
    totals: list[float] = []
    for index in tqdm(range(settings.warmup + settings.frames), desc="bench", disable=not progress):
        out = tracker.step(next(frames))
        times = timer.frame_done()
        if index >= settings.warmup:
            for name in STAGES:
                per_stage[name].append(times.get(name, 0.0))
            totals.append(out.result.processing_ms)
    return {
        "settings": settings.__dict__,
        "model_config": config.to_dict(),
        "environment": {
            "spgrasp_ros": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "device_name": torch.cuda.get_device_name(0) if settings.device.startswith("cuda") else platform.processor()
            or platform.machine(), "threads": torch.get_num_threads(),
        },
        "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "stages_ms": {name: _percentiles(values) for name, values in per_stage.items()},
        "frame_ms": _percentiles(totals),
        "fps_median": 1000.0 / float(np.median(totals)),
    }


def plot_bench(result: dict, path: Path) -> None:
    """Bar chart of the median and p99 time per stage, with the frame total in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    ax.set_title(f"{s['model']} @ {result['model_config']['image_size']} px, n_hist {result['model_config']['n_hist']}, "
                 f"{s['objects']} object(s), {s['device']}: frame median {result['frame_ms']['median']:.1f} ms")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def format_table(result: dict) -> str:
    """Plain-text table of the result."""
    lines = [f"{'stage':18s} {'median':>9s} {'p90':>9s} {'p99':>9s}  [ms]"]
    rows = list(result["stages_ms"].items()) + [("frame (total)", result["frame_ms"])]
    lines += [f"{name:18s} {v['median']:9.2f} {v['p90']:9.2f} {v['p99']:9.2f}" for name, v in rows]
    lines.append(f"{result['fps_median']:.1f} frames/s at the median")
    return "\n".join(lines)


def write_outputs(result: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write ``bench.json`` and ``bench.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out_dir / "bench.json", out_dir / "bench.png"
    json_path.write_text(json.dumps(result, indent=2))
    plot_bench(result, png_path)
    return json_path, png_path
