"""Measurement primitives of the bench: stream timing, host-device syncs, FLOPs and floors, hardware ceilings,
memory over a long stream. Each takes a built tracker (or model) and returns a JSON-ready dict."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from spgrasp_ros.bench.scenes import moving_scene
from spgrasp_ros.devices import synchronize
from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.model.spgrasp import SPGrasp
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.timing import StageFlops, StageTimer, summarise
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.optimised import OptimisedTracker
from spgrasp_ros.tracker.streaming import GraspTracker

STAGES = ("preprocess", "image_encoder", "memory_attention", "decoder", "memory_encoder", "grasp_decode")
# model parts whose weights each stage reads (for the memory-traffic floor)
STAGE_MODULES = {"image_encoder": ("image_encoder",), "memory_attention": ("memory_attention", "obj_ptr_tpos_proj"),
                 "decoder": ("sam_prompt_encoder", "sam_mask_decoder", "obj_ptr_proj"),
                 "memory_encoder": ("memory_encoder",)}
FLAT_TOLERANCE = 1 << 20  # [bytes] memory counts as flat when it varies by at most this


def state_bytes(tracker: GraspTracker) -> int:
    """Bytes of the tracker's streaming state (memory bank, pointers, windows)."""
    return int(sum(t.numel() * t.element_size() for t in tracker.state_tensors()))


def memory_bytes(tracker: GraspTracker) -> int:
    """Allocated device memory on CUDA; elsewhere the bytes of the tracker's streaming state."""
    if tracker.device.type == "cuda":
        return int(torch.cuda.memory_allocated(tracker.device))
    return state_bytes(tracker)


def _compile_counts(tracker: GraspTracker) -> dict[str, int] | None:
    if isinstance(tracker, OptimisedTracker) and tracker.options.compile:
        return tracker.compile_counts()
    return None


def measure_ceilings(device: str | torch.device) -> dict:
    """Matmul rate per dtype [TFLOP/s] and device-to-device copy bandwidth [GB/s, read + written], measured
    on random data (CUDA: 8192^3 bf16 and 4096^3 float32 products, a 1 GiB copy; CPU: smaller)."""
    device = torch.device(device)
    cuda = device.type == "cuda"

    def seconds(function: Callable[[], object], repeats: int) -> float:
        function()
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        synchronize(device)
        return (time.perf_counter() - start) / repeats

    rates = {}
    for dtype, size in ((torch.bfloat16, 8192 if cuda else 512), (torch.float32, 4096 if cuda else 512)):
        a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
        rates[str(dtype).removeprefix("torch.")] = 2 * size ** 3 / seconds(lambda: a @ b, 10 if cuda else 3) / 1e12
    source = torch.randn((1 << 28) if cuda else (1 << 22), device=device)
    target = torch.empty_like(source)
    bandwidth = 2 * source.numel() * 4 / seconds(lambda: target.copy_(source), 10) / 1e9
    return {"matmul_tflops": rates, "copy_gbps": bandwidth}


def time_stream(tracker: GraspTracker, frames: list[np.ndarray], boxes: list, warmup: int, events: bool = True,
                progress: bool = False) -> dict:
    """Prompt ``boxes`` on ``frames[0]``, run ``warmup`` untimed frames, then time the rest: end to end (host
    wall clock between synchronised devices) and per stage, with memory after every timed frame and, for a
    compiling tracker, the graphs compiled during the timed frames."""
    device = tracker.device
    timer = StageTimer(device, events=events)
    tracker.timer = timer
    tracker.step(frames[0], Prompt.create(boxes=boxes))
    timer.frame_done()
    per_stage: dict[str, list[float]] = {name: [] for name in STAGES}
    totals: list[float] = []
    memory: list[int] = []
    compiled_before = None
    for index, frame in enumerate(tqdm(frames[1:], desc="bench", disable=not progress, leave=False)):
        if index == warmup:
            compiled_before = _compile_counts(tracker)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
        synchronize(device)
        start = time.perf_counter()
        tracker.step(frame)
        synchronize(device)
        elapsed = (time.perf_counter() - start) * 1000.0
        times = timer.frame_done()
        if index >= warmup:
            for name in STAGES:
                per_stage[name].append(times.get(name, 0.0))
            totals.append(elapsed)
            memory.append(memory_bytes(tracker))
    tracker.timer = None
    compiled_after = _compile_counts(tracker)
    return {
        "stages_ms": {name: summarise(values) for name, values in per_stage.items()},
        "frame_ms": summarise(totals), "fps_median": 1000.0 / float(np.median(totals)),
        "frame_ms_series": [round(v, 4) for v in totals],
        "memory": {"peak_bytes": int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None,
                   "what": "cuda allocated" if device.type == "cuda" else "tracker state",
                   "per_frame_bytes": {"min": min(memory), "max": max(memory), "last": memory[-1]},
                   "flat": max(memory) - min(memory) <= FLAT_TOLERANCE},
        "compile": None if compiled_after is None else {
            "counts": compiled_after,
            "graphs_during_timed_frames": compiled_after["graphs"] - compiled_before["graphs"]},
    }


def count_syncs(tracker: GraspTracker, frames: list[np.ndarray], count: int) -> dict | None:
    """Host-device synchronisations per frame over ``count`` frames of an ongoing stream, as
    torch.cuda.set_sync_debug_mode reports them, with where they came from. None off CUDA."""
    if tracker.device.type != "cuda" or count <= 0:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            for frame in frames[:count]:
                tracker.step(frame)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    where = Counter(f"{Path(w.filename).name}:{w.lineno}" for w in syncs)
    return {"frames": min(count, len(frames)), "per_frame": len(syncs) / max(1, min(count, len(frames))),
            "where": dict(where)}


def stage_flops(model: SPGrasp, config: ModelConfig, frames: list[np.ndarray], boxes: list,
                tracker_config: TrackerConfig | None = None) -> dict[str, int]:
    """FLOPs per stage of one frame with a full memory bank (an eager float32 tracker with ``tracker_config``,
    default the deployed one, on ``model``, which is left unchanged)."""
    tracker = build_tracker(model, config, tracker_config, precision="float32")
    tracker.step(frames[0], Prompt.create(boxes=boxes))
    for index in range(tracker.memory_fill_levels + 1):
        tracker.step(frames[1 + index % (len(frames) - 1)])
    counter = StageFlops()
    tracker.timer = counter
    tracker.step(frames[-1])
    return counter.frame_done()


def stage_floors(model: SPGrasp, flops: dict[str, int], state: int, precision: str, ceilings: dict) -> dict:
    """Per stage: GFLOPs, weight MB and the floor [ms] = max(FLOPs / matmul rate, bytes / copy bandwidth),
    with bytes = the stage's weights (and the ``state`` bytes of the memory bank for memory attention) read
    once; ``precision``: float32 or bfloat16 (resolved)."""
    element = 4 if precision == "float32" else 2
    rate = ceilings["matmul_tflops"]["float32" if precision == "float32" else "bfloat16"] * 1e12
    bandwidth = ceilings["copy_gbps"] * 1e9 / 2  # one way: bytes read once
    out = {}
    for name in STAGES:
        modules = [getattr(model, m) for m in STAGE_MODULES.get(name, ()) if hasattr(model, m)]
        weights = sum(p.numel() for m in modules for p in (m.parameters() if hasattr(m, "parameters") else [m]))
        moved = weights * element + (state if name == "memory_attention" else 0)
        operations = flops.get(name, 0)
        out[name] = {"gflops": operations / 1e9, "weight_mb": weights * element / 1e6,
                     "floor_ms": 1000.0 * max(operations / rate, moved / bandwidth)}
    return out


def long_stream(tracker: GraspTracker, width: int, height: int, objects: int, frames: int) -> dict:
    """Run ``frames`` frames of a fresh scene untimed (except overall) and sample memory ~200 times: flat when
    the samples after the memory window filled vary by at most FLAT_TOLERANCE and the peak of the second half
    is no higher than that of the first half (CUDA; on the CPU the tracker's state bytes)."""
    cuda = tracker.device.type == "cuda"
    stream, boxes = moving_scene(width, height, objects, seed=1)
    tracker.step(next(stream), Prompt.create(boxes=boxes))
    settle, every = tracker.memory_fill_levels + 1, max(1, frames // 200)
    samples, peaks = [], []
    started = time.perf_counter()
    for index in range(frames):
        if cuda and index in (settle, settle + (frames - settle) // 2):
            if index > settle:
                peaks.append(torch.cuda.max_memory_allocated(tracker.device))
            torch.cuda.reset_peak_memory_stats(tracker.device)
        tracker.step(next(stream))
        if index % every == 0 or index == frames - 1:
            samples.append([index, memory_bytes(tracker)])
    seconds = time.perf_counter() - started
    if cuda and frames > settle:
        peaks.append(torch.cuda.max_memory_allocated(tracker.device))
    steady = [b for i, b in samples if i >= settle] or [b for _, b in samples]
    growth = max(steady) - min(steady)
    flat = growth <= FLAT_TOLERANCE and (len(peaks) < 2 or peaks[1] <= peaks[0] + FLAT_TOLERANCE)
    config = tracker.model_config
    return {"sam2_config": config.sam2_config, "image_size": config.image_size, "n_hist": config.n_hist,
            "objects": objects, "frames": frames, "resolution": f"{width}x{height}",
            "what": "cuda allocated" if cuda else "tracker state", "samples": samples, "growth_bytes": growth,
            "peak_bytes_halves": peaks, "flat": flat, "mean_frame_ms": 1000.0 * seconds / frames}
