"""``spgrasp bench``: how fast the streaming tracker is, per stage and end to end, against sam2's own predictor.

One configuration (``run_bench``) or a sweep (``run_sweep``) over model presets, input sizes, memory lengths
(N_hist), object counts and modes (``MODES``: float32, bf16, compiled, ...). Per configuration:
- frames: a moving synthetic scene at camera resolution (``moving_scene``), one box prompt per object on the
  first frame; compiled modes first run ``GraspTracker.prewarm`` (every graph compiled, every memory fill
  level seen), then ``warmup`` untimed frames (>= the model's memory fill levels, 16 for the presets, so the
  timed frames see a full memory), then ``frames`` timed ones;
- end to end: host wall clock from a synchronised device to ``tracker.step`` returning grasps and masks on
  the host (a numpy image in), synchronised again: median, p90, p99;
- stages (``STAGES``): CUDA events on the GPU (``timing.StageTimer(events=True)``: no synchronisation inside
  the frame), wall clock on the CPU;
- memory: on the GPU the peak over the timed frames (``torch.cuda.max_memory_allocated``) and the allocated
  bytes after every frame, on the CPU the tracker's state bytes; flat = constant within ``FLAT_TOLERANCE``.
  ``long_stream``: an extra untimed stream of that many frames checks flatness far beyond the memory window;
- floors: FLOPs per stage (one eager frame under ``timing.StageFlops``) and weight bytes, over the matmul rate
  and copy bandwidth measured on the device (``measure_ceilings``): how far each stage is from the hardware;
- sam2: its own video predictor segmenting the same frames (``bench_sam2``, vos_optimized on CUDA), so every
  row is also a ratio to it (< 1: faster than sam2);
- host-device synchronisations per frame (CUDA only: ``torch.cuda.set_sync_debug_mode``).
Results: JSON (every per-frame series included) and a PNG plot.

The issue's full table (``--sweep`` without a file = ``SweepSettings()``: base+/tiny/small/large x 512/1024 px
x N_hist 8/6/4 x 1/4 objects x compiled/bf16/float32, 300 timed frames at 1280x720, sam2's baseline, a
10,000-frame memory check) on a CUDA host with this package installed:

    spgrasp bench --sweep --out outputs/bench_h100 --resume time_budget_s=420

sweep.json is rewritten after every row and ``--resume`` keeps what it holds, so with a time budget the same
command run again continues (N_hist is the outer loop: the first calls cover every model at N_hist 8) until it
prints "sweep complete". A GPU host whose Python has CUDA torch but no sam2/hydra needs only their pure-Python
wheels (``SAM2_BUILD_CUDA=0 pip wheel --no-deps --no-build-isolation -w WHEELS sam2==1.1.0 hydra-core==1.3.8
omegaconf==2.3.1 antlr4-python3-runtime==4.9.3`` where pip works, then ``pip install --no-deps WHEELS/*.whl``)
and this checkout on PYTHONPATH (``python3 -m spgrasp_ros bench ...``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import platform
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import yaml
from tqdm import tqdm

from spgrasp_ros import __version__
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import load_weights
from spgrasp_ros.model.config import ModelConfig, load_model_config
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.timing import StageFlops, StageTimer
from spgrasp_ros.tracker.streaming import GraspTracker, TrackerConfig

STAGES = ("preprocess", "image_encoder", "memory_attention", "decoder", "memory_encoder", "grasp_decode")
MODES: dict[str, dict] = {  # name: TrackerConfig fields
    "auto": {},  # the tracker's defaults: bf16 autocast on CUDA, float32 on the CPU, eager
    "float32": {"precision": "float32"},
    "bf16": {"precision": "bfloat16"},
    "compiled": {"precision": "bfloat16", "compile": True, "one_copy": True},
    "compiled_float32": {"precision": "float32", "compile": True, "one_copy": True},
}
# model parts whose weights each stage reads (for the memory-traffic floor)
STAGE_MODULES = {"image_encoder": ("image_encoder",), "memory_attention": ("memory_attention", "obj_ptr_tpos_proj"),
                 "decoder": ("sam_prompt_encoder", "sam_mask_decoder", "obj_ptr_proj"),
                 "memory_encoder": ("memory_encoder",)}
FLAT_TOLERANCE = 1 << 20  # [bytes] memory counts as flat when it varies by at most this
TARGETS = ({"model": "base_plus", "image_size": 512, "n_hist": 8, "objects": 1, "frame_ms": 8.0},
           {"model": "base_plus", "image_size": 512, "n_hist": 8, "objects": 4, "frame_ms": 12.0})


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
    mode: str = "auto"  # a key of MODES
    tracker: dict = field(default_factory=dict)  # TrackerConfig fields over the mode's
    events: bool = True  # stage times from CUDA events (False: synchronise around every stage)
    baseline: bool = False  # also time sam2's video predictor on the same frames
    sam2_vos: bool | None = None  # sam2's vos_optimized predictor (default: on CUDA only)
    sam2_checkpoint: str | None = None  # official SAM 2 checkpoint for the baseline (default: random weights)
    sam2_compile_mode: str | None = None  # torch.compile mode of sam2's vos predictor (None: its own max-autotune)
    long_stream: int = 0  # > 0: frames of an extra untimed stream checking that memory stays flat
    sync_check: int = 5  # frames run under torch.cuda.set_sync_debug_mode (CUDA only; 0: skip)


@dataclass(frozen=True)
class SweepSettings:
    """A benchmark matrix (YAML keys = these fields); the defaults are the issue's full table."""

    models: tuple[str, ...] = ("base_plus", "tiny", "small", "large")  # presets; first ones first
    image_sizes: tuple[int, ...] = (512, 1024)
    n_hist: tuple[int, ...] = (8, 6, 4)
    objects: tuple[int, ...] = (1, 4)
    modes: tuple[str, ...] = ("compiled", "bf16", "float32")  # keys of MODES
    frames: int = 300  # timed frames per row
    warmup: int = 30  # untimed frames per row after prewarm
    resolution: str = "1280x720"  # camera WxH (ZED 2i HD720)
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    tracker: dict = field(default_factory=dict)  # TrackerConfig fields over every mode's
    events: bool = True  # stage times from CUDA events
    baseline: bool = True  # sam2's predictor per (model, size, N_hist, objects)
    sam2_vos: bool | None = None  # default: on CUDA only
    sam2_checkpoint: str | None = None
    sam2_compile_mode: str | None = None  # None: sam2's own max-autotune ("default" compiles much faster)
    long_stream: int = 10_000  # frames of the memory-flatness stream (0: none), run for long_stream_row
    long_stream_row: dict = field(default_factory=lambda: {"model": "base_plus", "image_size": 512, "n_hist": 8,
                                                           "objects": 4, "mode": "compiled"})
    sync_check: int = 5
    time_budget_s: float = 0.0  # > 0: start no row after this many seconds (resume to continue)
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("models", "image_sizes", "n_hist", "objects", "modes"):
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(value) if isinstance(value, (list, tuple)) else (value,))
        unknown = [m for m in self.modes if m not in MODES]
        if unknown:
            raise ValueError(f"unknown modes {unknown}; modes: {', '.join(MODES)}")
        if self.frames < 1 or self.warmup < 0 or min(self.objects) < 1:
            raise ValueError("frames >= 1, warmup >= 0 and objects >= 1 are needed")
        _resolution(self.resolution)
        for model in self.models:
            load_model_config(model)
        for mode in self.modes:
            tracker_config(mode, self.tracker)


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"resolution must be WxH, got {text!r}") from None
    return width, height


def sweep_settings(path: str | None = None, overrides: Sequence[str] = ()) -> SweepSettings:
    """SweepSettings from a YAML file (None: the defaults) and ``key=value`` overrides (values parsed as
    YAML: ``models=[tiny,small]``, ``frames=50``, ``tracker.compile_mode=max-autotune``)."""
    data: dict = {}
    if path:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"sweep file {path} must be a mapping")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} is not KEY=VALUE")
        parsed = yaml.safe_load(value)
        if key.startswith("tracker."):
            data.setdefault("tracker", {})[key.removeprefix("tracker.")] = parsed
        else:
            data[key] = parsed
    known = {f.name for f in dataclasses.fields(SweepSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown sweep keys {unknown}; keys: {', '.join(sorted(known))}")
    return SweepSettings(**data)


def tracker_config(mode: str, overrides: dict | None = None) -> TrackerConfig:
    """The TrackerConfig of a mode of MODES, with ``overrides`` (TrackerConfig fields) on top."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(MODES)}")
    return TrackerConfig(**{**MODES[mode], **(overrides or {})})


# --- frames ---------------------------------------------------------------------------------------------------
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


def scene_frames(width: int, height: int, objects: int, count: int, jpeg_dir: Path | None = None
                 ) -> tuple[list[np.ndarray], list]:
    """``count`` frames of ``moving_scene`` and its boxes; with ``jpeg_dir`` also written there as sam2 reads
    them, and returned as decoded back (so the tracker and sam2 see identical pixels)."""
    stream, boxes = moving_scene(width, height, objects)
    frames = [next(stream) for _ in range(count)]
    if jpeg_dir is not None:
        from spgrasp_ros.bench.sam2_baseline import write_jpeg_frames

        frames = write_jpeg_frames(frames, jpeg_dir)
    return frames, boxes


# --- measurement -------------------------------------------------------------------------------------------------
def percentiles(values: Sequence[float]) -> dict[str, float]:
    """median / p90 / p99 / mean / min / max of a non-empty series."""
    array = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(array)), "p90": float(np.percentile(array, 90)),
            "p99": float(np.percentile(array, 99)), "mean": float(array.mean()), "min": float(array.min()),
            "max": float(array.max())}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _memory_bytes(tracker: GraspTracker) -> int:
    """Allocated device memory on CUDA; elsewhere the bytes of the tracker's streaming state."""
    if tracker.device.type == "cuda":
        return int(torch.cuda.memory_allocated(tracker.device))
    return int(sum(t.numel() * t.element_size() for t in tracker.state_tensors()))


def measure_ceilings(device: str | torch.device) -> dict:
    """Matmul rate per dtype [TFLOP/s] and device-to-device copy bandwidth [GB/s, read + written], measured
    on random data (CUDA: 8192^3 bf16 and 4096^3 float32 products, a 1 GiB copy; CPU: smaller)."""
    device = torch.device(device)
    cuda = device.type == "cuda"

    def seconds(function, repeats: int) -> float:
        function()
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        _sync(device)
        return (time.perf_counter() - start) / repeats

    rates = {}
    for dtype, size in ((torch.bfloat16, 8192 if cuda else 512), (torch.float32, 4096 if cuda else 512)):
        a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
        rates[str(dtype).removeprefix("torch.")] = 2 * size ** 3 / seconds(lambda: a @ b, 10 if cuda else 3) / 1e12
    source = torch.randn((1 << 28) if cuda else (1 << 22), device=device)
    target = torch.empty_like(source)
    bandwidth = 2 * source.numel() * 4 / seconds(lambda: target.copy_(source), 10) / 1e9
    return {"matmul_tflops": rates, "copy_gbps": bandwidth}


def _time_stream(tracker: GraspTracker, frames: list[np.ndarray], boxes: list, warmup: int, events: bool,
                 progress: bool) -> dict:
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
            compiled_before = tracker.compile_counts() if tracker.config.compile else None
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
        _sync(device)
        start = time.perf_counter()
        tracker.step(frame)
        _sync(device)
        elapsed = (time.perf_counter() - start) * 1000.0
        times = timer.frame_done()
        if index >= warmup:
            for name in STAGES:
                per_stage[name].append(times.get(name, 0.0))
            totals.append(elapsed)
            memory.append(_memory_bytes(tracker))
    tracker.timer = None
    compiled_after = tracker.compile_counts() if tracker.config.compile else None
    return {
        "stages_ms": {name: percentiles(values) for name, values in per_stage.items()},
        "frame_ms": percentiles(totals), "fps_median": 1000.0 / float(np.median(totals)),
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


def stage_flops(model, config: ModelConfig, frames: list[np.ndarray], boxes: list) -> dict[str, int]:
    """FLOPs per stage of one frame with a full memory bank (an eager float32 tracker on ``model``, which is
    left unchanged)."""
    tracker = GraspTracker(model, config, TrackerConfig(precision="float32"))
    tracker.step(frames[0], Prompt.create(boxes=boxes))
    for index in range(tracker.memory_fill_levels + 1):
        tracker.step(frames[1 + index % (len(frames) - 1)])
    counter = StageFlops()
    tracker.timer = counter
    tracker.step(frames[-1])
    return counter.frame_done()


def stage_floors(model, flops: dict[str, int], state_bytes: int, precision: str, ceilings: dict) -> dict:
    """Per stage: GFLOPs, weight MB and the floor [ms] = max(FLOPs / matmul rate, bytes / copy bandwidth),
    with bytes = the stage's weights (and the memory bank for memory attention) read once."""
    element = 4 if precision == "float32" else 2
    rate = ceilings["matmul_tflops"]["float32" if precision == "float32" else "bfloat16"] * 1e12
    bandwidth = ceilings["copy_gbps"] * 1e9 / 2  # one way: bytes read once
    out = {}
    for name in STAGES:
        modules = [getattr(model, m) for m in STAGE_MODULES.get(name, ()) if hasattr(model, m)]
        weights = sum(p.numel() for m in modules for p in (m.parameters() if hasattr(m, "parameters") else [m]))
        moved = weights * element + (state_bytes if name == "memory_attention" else 0)
        operations = flops.get(name, 0)
        out[name] = {"gflops": operations / 1e9, "weight_mb": weights * element / 1e6,
                     "floor_ms": 1000.0 * max(operations / rate, moved / bandwidth)}
    return out


def _precision(config: TrackerConfig, device: torch.device) -> str:
    if config.precision == "auto":
        return "bfloat16" if device.type == "cuda" else "float32"
    return config.precision


def measure_row(model, config: ModelConfig, mode: str, frames: list[np.ndarray], boxes: list, warmup: int,
                ceilings: dict, flops: dict[str, int], tracker_overrides: dict | None = None, events: bool = True,
                sync_check: int = 0, progress: bool = False) -> dict:
    """Time one mode on ``frames`` (the first gets the prompt). ``model`` is not changed: compiled modes
    compile a copy of it."""
    tracker_settings = tracker_config(mode, tracker_overrides)
    if tracker_settings.compile:
        torch._dynamo.reset()  # a fresh compile cache per row: counts are this row's, no recompile limit reached
        model = copy.deepcopy(model)
    tracker = GraspTracker(model, config, tracker_settings)
    height, width = frames[0].shape[:2]
    started = time.perf_counter()
    if tracker_settings.compile:  # every graph compiled before the first timed frame
        tracker.prewarm((width, height), len(boxes))
    prewarm_s = time.perf_counter() - started
    row = {"mode": mode, "objects": len(boxes), "tracker_config": dataclasses.asdict(tracker_settings),
           "prewarm_s": prewarm_s, "warmup": warmup,
           # below the fill levels the timed frames still see the memory grow (other shapes, more state)
           "warmup_covers_memory_fill": warmup >= tracker.memory_fill_levels}
    row.update(_time_stream(tracker, frames, boxes, warmup, events, progress))
    row["syncs"] = count_syncs(tracker, frames[1:], sync_check)
    state = int(sum(t.numel() * t.element_size() for t in tracker.state_tensors()))
    floors = stage_floors(model, flops, state, _precision(tracker_settings, tracker.device), ceilings)
    row["floors"] = floors
    row["x_floor"] = {name: row["stages_ms"][name]["median"] / floors[name]["floor_ms"]
                      for name in STAGES if floors[name]["floor_ms"] > 0}
    row["frame_floor_ms"] = sum(f["floor_ms"] for f in floors.values())
    del tracker, model
    return row


def long_stream(model, config: ModelConfig, mode: str, width: int, height: int, objects: int, frames: int,
                tracker_overrides: dict | None = None) -> dict:
    """Run ``frames`` frames untimed (except overall) and sample memory ~200 times: flat when the samples
    after the memory window filled vary by at most FLAT_TOLERANCE and the peak of the second half is no
    higher than that of the first half (CUDA; on the CPU the tracker's state bytes)."""
    settings = tracker_config(mode, tracker_overrides)
    if settings.compile:
        torch._dynamo.reset()
        model = copy.deepcopy(model)
    tracker = GraspTracker(model, config, settings)
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
            samples.append([index, _memory_bytes(tracker)])
    seconds = time.perf_counter() - started
    if cuda and frames > settle:
        peaks.append(torch.cuda.max_memory_allocated(tracker.device))
    steady = [b for i, b in samples if i >= settle] or [b for _, b in samples]
    growth = max(steady) - min(steady)
    flat = growth <= FLAT_TOLERANCE and (len(peaks) < 2 or peaks[1] <= peaks[0] + FLAT_TOLERANCE)
    return {"sam2_config": config.sam2_config, "image_size": config.image_size, "n_hist": config.n_hist,
            "mode": mode, "objects": objects, "frames": frames,
            "resolution": f"{width}x{height}", "what": "cuda allocated" if cuda else "tracker state",
            "samples": samples, "growth_bytes": growth, "peak_bytes_halves": peaks, "flat": flat,
            "mean_frame_ms": 1000.0 * seconds / frames}


# --- models and environment ------------------------------------------------------------------------------------
def bench_model(name: str, image_size: int | None, n_hist: int | None, device: str,
                checkpoint: str | None = None) -> tuple[torch.nn.Module, ModelConfig]:
    """A model preset (seeded random weights unless ``checkpoint``) with optional size / memory overrides."""
    config = load_model_config(name)
    changes = {k: v for k, v in (("image_size", image_size), ("n_hist", n_hist)) if v is not None}
    config = config.replace(**changes)
    torch.manual_seed(0)
    model = build_model(config, "cpu")
    if checkpoint:
        load_weights(model, config, checkpoint)
    return model.to(device).eval(), config


def environment(device: str) -> dict:
    """Versions and the device, for the JSON."""
    import sam2

    cuda = torch.device(device).type == "cuda"
    return {"spgrasp_ros": __version__, "torch": torch.__version__, "sam2": getattr(sam2, "__version__", "installed"),
            "python": platform.python_version(), "cuda": torch.version.cuda if cuda else None,
            "device_name": torch.cuda.get_device_name(torch.device(device)) if cuda
            else platform.processor() or platform.machine(), "threads": torch.get_num_threads()}


# --- one configuration -----------------------------------------------------------------------------------------
def run_bench(settings: BenchSettings, progress: bool = True) -> dict:
    """Run one benchmark; returns the JSON-ready result."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    model, config = bench_model(settings.model, settings.image_size, settings.n_hist, settings.device,
                                settings.checkpoint)
    count = 1 + settings.warmup + settings.frames
    ceilings = measure_ceilings(settings.device)
    with tempfile.TemporaryDirectory(prefix="spgrasp_bench_") as folder:
        jpegs = Path(folder) if settings.baseline else None
        frames, boxes = scene_frames(settings.width, settings.height, settings.objects, count, jpegs)
        flops = stage_flops(model, config, frames, boxes)
        row = measure_row(model, config, settings.mode, frames, boxes, settings.warmup, ceilings, flops,
                          settings.tracker, settings.events, settings.sync_check, progress)
        baseline = None
        if settings.baseline:
            from spgrasp_ros.bench.sam2_baseline import run_sam2_baseline

            torch._dynamo.reset()
            baseline = run_sam2_baseline(config, jpegs, boxes, settings.device, settings.warmup, settings.sam2_vos,
                                         settings.sam2_checkpoint, settings.sam2_compile_mode)
    result = {"kind": "single", "settings": dataclasses.asdict(settings), "model_config": config.to_dict(),
              "environment": environment(settings.device), "ceilings": ceilings,
              "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6, **row, "sam2": baseline,
              "ratio_to_sam2": _ratio(row, baseline)}
    if settings.long_stream > 0:
        result["long_stream"] = long_stream(model, config, settings.mode, settings.width, settings.height,
                                            settings.objects, settings.long_stream, settings.tracker)
    return result


def _ratio(row: dict, baseline: dict | None) -> dict | None:
    if baseline is None:
        return None
    return {q: row["frame_ms"][q] / baseline["frame_ms"][q] for q in ("median", "p99")}


# --- a sweep -------------------------------------------------------------------------------------------------
def _row_key(row: dict) -> tuple:
    return row["model"], row["image_size"], row["n_hist"], row["objects"], row["mode"]


def _base_key(base: dict) -> tuple:
    return base["model"], base["image_size"], base["n_hist"], base["objects"]


def _same_run(previous: dict, settings: SweepSettings) -> bool:
    fields = ("frames", "warmup", "resolution", "device", "tracker", "events", "sam2_vos", "sam2_checkpoint",
              "sam2_compile_mode")
    return all(previous["settings"].get(k) == dataclasses.asdict(settings)[k] for k in fields)


def run_sweep(settings: SweepSettings, out_dir: Path, resume: bool = False, progress: bool = True,
              log=print) -> dict:
    """Run the matrix (groups of N_hist x model x size; in each, sam2 per object count, then mode x objects), writing
    ``sweep.json`` after every row; returns the result. ``resume`` keeps the rows of an earlier run of the
    same settings in ``out_dir``. With ``time_budget_s`` the sweep stops before a row once that much time has
    passed (``complete`` False)."""
    started = time.perf_counter()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "sweep.json"
    result = None
    if resume and json_path.is_file():
        result = json.loads(json_path.read_text())
        if not _same_run(result, settings):
            raise ValueError(f"{json_path} was made with other frames/warmup/resolution/device/tracker settings; "
                             "use another --out or leave out --resume")
        result["settings"] = json.loads(json.dumps(dataclasses.asdict(settings)))
    if result is None:
        result = {"kind": "sweep", "settings": json.loads(json.dumps(dataclasses.asdict(settings))),
                  "environment": environment(settings.device), "ceilings": measure_ceilings(settings.device),
                  "baselines": [], "rows": [], "long_stream": None}
    width, height = _resolution(settings.resolution)
    count = 1 + settings.warmup + settings.frames

    def save() -> None:
        json_path.write_text(json.dumps(result, indent=1))

    def over_budget() -> bool:
        return settings.time_budget_s > 0 and time.perf_counter() - started > settings.time_budget_s

    with tempfile.TemporaryDirectory(prefix="spgrasp_sweep_") as folder:
        scenes: dict[int, tuple[list[np.ndarray], list, Path]] = {}

        def scene(objects: int):
            if objects not in scenes:
                jpegs = Path(folder) / f"objects_{objects}"
                frames, boxes = scene_frames(width, height, objects, count, jpegs if settings.baseline else None)
                scenes[objects] = (frames, boxes, jpegs)
            return scenes[objects]

        def group(name: str, size: int, n_hist: int) -> bool:
            """sam2 per object count, then every mode x object count, then the long stream if it is this
            group's; False when the time budget stopped it."""
            rows = [(name, size, n_hist, k, mode) for mode in settings.modes for k in settings.objects]
            rows = [r for r in rows if r not in {_row_key(r) for r in result["rows"]}]
            bases = [(name, size, n_hist, k) for k in settings.objects] if settings.baseline else []
            bases = [b for b in bases if b not in {_base_key(b) for b in result["baselines"]}]
            wanted = dict(settings.long_stream_row)
            stream = (settings.long_stream > 0 and result["long_stream"] is None
                      and (wanted.get("model"), wanted.get("image_size"), wanted.get("n_hist")) == (name, size, n_hist))
            if not (rows or bases or stream):
                return True
            if over_budget():
                return False
            model, config = bench_model(name, size, n_hist, settings.device)
            for key in bases:
                if over_budget():
                    return False
                from spgrasp_ros.bench.sam2_baseline import run_sam2_baseline

                frames, boxes, jpegs = scene(key[3])
                torch._dynamo.reset()
                base = run_sam2_baseline(config, jpegs, boxes, settings.device, settings.warmup, settings.sam2_vos,
                                         settings.sam2_checkpoint, settings.sam2_compile_mode)
                base.update(zip(("model", "image_size", "n_hist", "objects"), key))
                result["baselines"].append(base)
                save()
                log(f"sam2 {name} {size}px N_hist {n_hist} {key[3]} obj: "
                    f"median {base['frame_ms']['median']:.2f} ms, p99 {base['frame_ms']['p99']:.2f} ms")
            flops: dict[int, dict] = {}
            for key in rows:
                if over_budget():
                    return False
                objects, mode = key[3], key[4]
                frames, boxes, _ = scene(objects)
                if objects not in flops:
                    flops[objects] = stage_flops(model, config, frames, boxes)
                row = {"model": name, "image_size": size, "n_hist": n_hist,
                       "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6,
                       **measure_row(model, config, mode, frames, boxes, settings.warmup, result["ceilings"],
                                     flops[objects], settings.tracker, settings.events, settings.sync_check, progress)}
                base = next((b for b in result["baselines"] if _base_key(b) == key[:4]), None)
                row["ratio_to_sam2"] = _ratio(row, base)
                result["rows"].append(row)
                save()
                ratio = f", x{row['ratio_to_sam2']['median']:.2f} sam2" if base else ""
                log(f"{name} {size}px N_hist {n_hist} {objects} obj {mode}: median "
                    f"{row['frame_ms']['median']:.2f} ms, p99 {row['frame_ms']['p99']:.2f} ms{ratio}")
            if stream and not over_budget():
                result["long_stream"] = long_stream(model, config, wanted.get("mode", "auto"), width, height,
                                                    int(wanted.get("objects", 1)), settings.long_stream,
                                                    settings.tracker)
                save()
                log(f"long stream of {settings.long_stream} frames: flat {result['long_stream']['flat']}, "
                    f"growth {result['long_stream']['growth_bytes']} bytes")
            del model
            if settings.device.startswith("cuda"):
                torch.cuda.empty_cache()
            return True

        # N_hist outermost: the first calls of a budgeted sweep cover every model at the first memory length
        for name, size, n_hist in [(m, s, n) for n in settings.n_hist for m in settings.models
                                   for s in settings.image_sizes]:
            if not group(name, size, n_hist):
                break
    keys = [(m, s, n, k) for n in settings.n_hist for m in settings.models for s in settings.image_sizes
            for k in settings.objects]
    wanted = dict(settings.long_stream_row)
    stream_in_matrix = (wanted.get("model") in settings.models and wanted.get("image_size") in settings.image_sizes
                        and wanted.get("n_hist") in settings.n_hist)
    result["complete"] = (
        {(*k, mode) for k in keys for mode in settings.modes} <= {_row_key(r) for r in result["rows"]}
        and (not settings.baseline or set(keys) <= {_base_key(b) for b in result["baselines"]})
        and (settings.long_stream <= 0 or not stream_in_matrix or result["long_stream"] is not None))
    result["targets"] = evaluate_targets(result)
    save()
    return result


def evaluate_targets(result: dict) -> list[dict]:
    """The issue's targets against the sweep's rows: time per frame for base+ at 512 px with N_hist 8 (best
    mode), ratio to sam2 <= 1 per configuration (best mode), flat memory over the long stream."""
    rows = result.get("rows", [])
    out = []
    for target in TARGETS:
        match = [r for r in rows if all(r[k] == target[k] for k in ("model", "image_size", "n_hist", "objects"))]
        best = min(match, key=lambda r: r["frame_ms"]["median"], default=None)
        out.append({"target": f"{target['model']} {target['image_size']}px N_hist {target['n_hist']} "
                              f"{target['objects']} object(s) <= {target['frame_ms']} ms end to end",
                    "measured_ms": best["frame_ms"]["median"] if best else None, "mode": best["mode"] if best else None,
                    "met": bool(best and best["frame_ms"]["median"] <= target["frame_ms"])})
    groups: dict[tuple, list] = {}
    for row in rows:
        if row.get("ratio_to_sam2"):
            groups.setdefault(_row_key(row)[:4], []).append(row["ratio_to_sam2"]["median"])
    met = sum(min(v) <= 1.0 for v in groups.values())
    out.append({"target": "not slower than sam2's vos_optimized predictor (best mode, ratio <= 1.0)",
                "measured": f"{met} of {len(groups)} configurations", "met": bool(groups) and met == len(groups)})
    stream = result.get("long_stream")
    out.append({"target": "GPU memory flat over a long stream",
                "measured": None if stream is None else f"{stream['frames']} frames, growth {stream['growth_bytes']} B",
                "met": bool(stream and stream["flat"] and stream["what"] == "cuda allocated")})
    return out


# --- output ----------------------------------------------------------------------------------------------------
def plot_bench(result: dict, path: Path) -> None:
    """Bar chart of the median and p99 time per stage, with the frame total (and sam2's) in the title."""
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    bases = {_base_key(b): b["frame_ms"]["median"] for b in result.get("baselines", [])}
    sam2 = [bases.get(_row_key(r)[:4], np.nan) for r in rows]
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
                     f"(p99 {ratio['p99']:.2f})")
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
