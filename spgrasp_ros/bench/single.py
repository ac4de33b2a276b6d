"""One benchmark configuration: the model, one measured row per mode (``measure_row``), and ``run_bench``."""

from __future__ import annotations

import dataclasses
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from spgrasp_ros import __version__
from spgrasp_ros.bench.interleaved import run_interleaved
from spgrasp_ros.bench.measure import (
    STAGES,
    count_syncs,
    long_stream,
    measure_ceilings,
    stage_floors,
    stage_flops,
    state_bytes,
    time_stream,
)
from spgrasp_ros.bench.sam2_baseline import run_sam2_baseline
from spgrasp_ros.bench.scenes import scene_frames
from spgrasp_ros.bench.settings import BenchSettings, tracker_run
from spgrasp_ros.devices import resolve_precision
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import load_weights
from spgrasp_ros.model.config import ModelConfig, load_model_config
from spgrasp_ros.model.spgrasp import SPGrasp


def bench_model(name: str, image_size: int | None, n_hist: int | None, device: str,
                checkpoint: str | None = None) -> tuple[SPGrasp, ModelConfig]:
    """A model preset (seeded random weights unless ``checkpoint``) with optional size / memory overrides."""
    config = load_model_config(name)
    changes = {k: v for k, v in (("image_size", image_size), ("n_hist", n_hist)) if v is not None}
    config = config.replace(**changes)
    torch.manual_seed(0)
    model = build_model(config, "cpu")
    if checkpoint:
        load_weights(model, config, checkpoint)
    return model.to(device).eval(), config


def parameters_m(model: torch.nn.Module) -> float:
    """The model's parameters in millions."""
    return sum(p.numel() for p in model.parameters()) / 1e6


def environment(device: str) -> dict:
    """Versions and the device, for the JSON."""
    import sam2

    cuda = torch.device(device).type == "cuda"
    return {"spgrasp_ros": __version__, "torch": torch.__version__, "sam2": getattr(sam2, "__version__", "installed"),
            "python": platform.python_version(), "cuda": torch.version.cuda if cuda else None,
            "device_name": torch.cuda.get_device_name(torch.device(device)) if cuda
            else platform.processor() or platform.machine(), "threads": torch.get_num_threads()}


def measure_row(model: SPGrasp, config: ModelConfig, mode: str, frames: list[np.ndarray], boxes: list, warmup: int,
                ceilings: dict, flops: dict[str, int], tracker_overrides: dict | None = None, events: bool = True,
                sync_check: int = 0, progress: bool = False) -> dict:
    """Time one mode on ``frames`` (the first gets the prompt): stages, end to end, memory, syncs and floors.
    ``model`` is not changed (compiled modes compile a copy of it)."""
    run = tracker_run(mode, tracker_overrides)
    tracker = run.build(model, config)
    height, width = frames[0].shape[:2]
    started = time.perf_counter()
    if run.compiles:  # every graph compiled before the first timed frame
        tracker.prewarm((width, height), len(boxes))
    row = {"mode": mode, "objects": len(boxes), "tracker_run": run.to_dict(),
           "prewarm_s": time.perf_counter() - started, "warmup": warmup,
           # below the fill levels the timed frames still see the memory grow (other shapes, more state)
           "warmup_covers_memory_fill": warmup >= tracker.memory_fill_levels}
    row.update(time_stream(tracker, frames, boxes, warmup, events, progress))
    row["syncs"] = count_syncs(tracker, frames[1:], sync_check)
    precision = resolve_precision(run.precision, tracker.device)
    floors = stage_floors(model, flops, state_bytes(tracker), precision, ceilings)
    row["floors"] = floors
    row["x_floor"] = {name: row["stages_ms"][name]["median"] / floors[name]["floor_ms"]
                      for name in STAGES if floors[name]["floor_ms"] > 0}
    row["frame_floor_ms"] = sum(f["floor_ms"] for f in floors.values())
    return row


def mode_long_stream(model: SPGrasp, config: ModelConfig, mode: str, width: int, height: int, objects: int,
                     frames: int, tracker_overrides: dict | None = None) -> dict:
    """``measure.long_stream`` on a fresh tracker of ``mode`` (``model`` is not changed)."""
    tracker = tracker_run(mode, tracker_overrides).build(model, config)
    return {"mode": mode, **long_stream(tracker, width, height, objects, frames)}


def ratio_to_sam2(row: dict, baseline: dict | None) -> dict | None:
    """End-to-end median and p99 of ``row`` over sam2's (None without a baseline)."""
    if baseline is None:
        return None
    return {q: row["frame_ms"][q] / baseline["frame_ms"][q] for q in ("median", "p99")}


def run_bench(settings: BenchSettings, progress: bool = True) -> dict:
    """Run one benchmark; returns the JSON-ready result."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    model, config = bench_model(settings.model, settings.image_size, settings.n_hist, settings.device,
                                settings.checkpoint)
    count = 1 + settings.warmup + settings.frames
    ceilings = measure_ceilings(settings.device)
    run = tracker_run(settings.mode, settings.tracker)
    with tempfile.TemporaryDirectory(prefix="spgrasp_bench_") as folder:
        jpegs = Path(folder) if settings.baseline else None
        frames, boxes = scene_frames(settings.width, settings.height, settings.objects, count, jpegs)
        flops = stage_flops(model, config, frames, boxes, run.config)
        row = measure_row(model, config, settings.mode, frames, boxes, settings.warmup, ceilings, flops,
                          settings.tracker, settings.events, settings.sync_check, progress)
        baseline = interleaved = None
        if settings.baseline:
            torch._dynamo.reset()
            baseline = run_sam2_baseline(config, jpegs, boxes, settings.device, settings.warmup, settings.sam2_vos,
                                         settings.sam2_checkpoint, settings.sam2_compile_mode)
            torch._dynamo.reset()
            tracker = run.build(model, config)
            if run.compiles:
                tracker.prewarm((settings.width, settings.height), len(boxes))
            interleaved = run_interleaved(tracker, config, frames, jpegs, boxes, settings.warmup,
                                          settings.sam2_vos, settings.sam2_checkpoint, settings.sam2_compile_mode)
            del tracker
    result = {"kind": "single", "settings": dataclasses.asdict(settings), "model_config": config.to_dict(),
              "environment": environment(settings.device), "ceilings": ceilings,
              "parameters_m": parameters_m(model), **row, "sam2": baseline,
              "ratio_to_sam2": ratio_to_sam2(row, baseline), "interleaved": interleaved}
    if settings.long_stream > 0:
        result["long_stream"] = mode_long_stream(model, config, settings.mode, settings.width, settings.height,
                                                 settings.objects, settings.long_stream, settings.tracker)
    return result
