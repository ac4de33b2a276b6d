"""A resumable benchmark matrix (``run_sweep``) and the issue's targets it is judged against.

Rows are grouped by (N_hist, model, input size): one model build per group; in each, sam2's baseline per object
count, then every mode x object count, then the long memory stream if it is this group's. ``sweep.json`` is
rewritten after every row, so a sweep stopped by its time budget continues where it stopped (``resume``).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from spgrasp_ros.bench.measure import measure_ceilings, stage_flops
from spgrasp_ros.bench.sam2_baseline import run_sam2_baseline
from spgrasp_ros.bench.scenes import scene_frames
from spgrasp_ros.bench.settings import SweepSettings, tracker_run
from spgrasp_ros.bench.single import (
    bench_model,
    environment,
    measure_row,
    mode_long_stream,
    parameters_m,
    ratio_to_sam2,
)

TARGETS = ({"model": "base_plus", "image_size": 512, "n_hist": 8, "objects": 1, "frame_ms": 8.0},
           {"model": "base_plus", "image_size": 512, "n_hist": 8, "objects": 4, "frame_ms": 12.0})
_SAME_RUN = ("frames", "warmup", "resolution", "device", "tracker", "events", "sam2_vos", "sam2_checkpoint",
             "sam2_compile_mode")  # settings a resumed sweep must share with the rows it keeps


def row_key(row: dict) -> tuple:
    """(model, image_size, n_hist, objects, mode) of a row."""
    return row["model"], row["image_size"], row["n_hist"], row["objects"], row["mode"]


def base_key(base: dict) -> tuple:
    """(model, image_size, n_hist, objects) of a sam2 baseline (and of the rows compared with it)."""
    return base["model"], base["image_size"], base["n_hist"], base["objects"]


def _jsonable(settings: SweepSettings) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def _start(json_path: Path, settings: SweepSettings, resume: bool) -> dict:
    """The earlier result in ``json_path`` when resuming one of the same settings, else a fresh one."""
    if resume and json_path.is_file():
        result = json.loads(json_path.read_text())
        if not all(result["settings"].get(k) == dataclasses.asdict(settings)[k] for k in _SAME_RUN):
            raise ValueError(f"{json_path} was made with other frames/warmup/resolution/device/tracker settings; "
                             "use another --out or leave out --resume")
        result["settings"] = _jsonable(settings)
        return result
    return {"kind": "sweep", "settings": _jsonable(settings), "environment": environment(settings.device),
            "ceilings": measure_ceilings(settings.device), "baselines": [], "rows": [], "long_stream": None}


class _Sweep:
    """One call of ``run_sweep``: the result so far, the frames per object count, the time budget."""

    def __init__(self, settings: SweepSettings, result: dict, json_path: Path, folder: Path, progress: bool,
                 log: Callable[[str], object]) -> None:
        self.settings, self.result, self.json_path, self.folder = settings, result, json_path, folder
        self.progress, self.log = progress, log
        self.started = time.perf_counter()
        self.scenes: dict[int, tuple[list[np.ndarray], list, Path]] = {}  # objects -> (frames, boxes, jpeg folder)

    def save(self) -> None:
        self.json_path.write_text(json.dumps(self.result, indent=1))

    def over_budget(self) -> bool:
        budget = self.settings.time_budget_s
        return budget > 0 and time.perf_counter() - self.started > budget

    def scene(self, objects: int) -> tuple[list[np.ndarray], list, Path]:
        if objects not in self.scenes:
            width, height = self.settings.size
            jpegs = self.folder / f"objects_{objects}"
            frames, boxes = scene_frames(width, height, objects, 1 + self.settings.warmup + self.settings.frames,
                                         jpegs if self.settings.baseline else None)
            self.scenes[objects] = (frames, boxes, jpegs)
        return self.scenes[objects]

    def _stream_here(self, name: str, size: int, n_hist: int) -> bool:
        wanted = self.settings.long_stream_row
        return (self.settings.long_stream > 0 and self.result["long_stream"] is None
                and (wanted.get("model"), wanted.get("image_size"), wanted.get("n_hist")) == (name, size, n_hist))

    def group(self, name: str, size: int, n_hist: int) -> bool:
        """Run what the result still lacks of this group; False when the time budget stopped it."""
        s, result = self.settings, self.result
        done_rows, done_bases = {row_key(r) for r in result["rows"]}, {base_key(b) for b in result["baselines"]}
        rows = [r for r in ((name, size, n_hist, k, mode) for mode in s.modes for k in s.objects)
                if r not in done_rows]
        bases = [b for b in ((name, size, n_hist, k) for k in s.objects) if s.baseline and b not in done_bases]
        stream = self._stream_here(name, size, n_hist)
        if not (rows or bases or stream):
            return True
        if self.over_budget():
            return False
        model, config = bench_model(name, size, n_hist, s.device)
        for key in bases:
            if self.over_budget():
                return False
            _, boxes, jpegs = self.scene(key[3])
            torch._dynamo.reset()
            base = run_sam2_baseline(config, jpegs, boxes, s.device, s.warmup, s.sam2_vos, s.sam2_checkpoint,
                                     s.sam2_compile_mode)
            base.update(zip(("model", "image_size", "n_hist", "objects"), key))
            result["baselines"].append(base)
            self.save()
            self.log(f"sam2 {name} {size}px N_hist {n_hist} {key[3]} obj: "
                     f"median {base['frame_ms']['median']:.2f} ms, p99 {base['frame_ms']['p99']:.2f} ms")
        flops: dict[int, dict] = {}
        for key in rows:
            if self.over_budget():
                return False
            objects, mode = key[3], key[4]
            frames, boxes, _ = self.scene(objects)
            if objects not in flops:  # behaviour is the same for every mode: one count per object count
                flops[objects] = stage_flops(model, config, frames, boxes, tracker_run(mode, s.tracker).config)
            row = {"model": name, "image_size": size, "n_hist": n_hist, "parameters_m": parameters_m(model),
                   **measure_row(model, config, mode, frames, boxes, s.warmup, result["ceilings"], flops[objects],
                                 s.tracker, s.events, s.sync_check, self.progress)}
            base = next((b for b in result["baselines"] if base_key(b) == key[:4]), None)
            row["ratio_to_sam2"] = ratio_to_sam2(row, base)
            result["rows"].append(row)
            self.save()
            ratio = f", x{row['ratio_to_sam2']['median']:.2f} sam2" if base else ""
            self.log(f"{name} {size}px N_hist {n_hist} {objects} obj {mode}: median "
                     f"{row['frame_ms']['median']:.2f} ms, p99 {row['frame_ms']['p99']:.2f} ms{ratio}")
        if stream and not self.over_budget():
            wanted = s.long_stream_row
            result["long_stream"] = mode_long_stream(model, config, wanted.get("mode", "auto"), *s.size,
                                                     int(wanted.get("objects", 1)), s.long_stream, s.tracker)
            self.save()
            self.log(f"long stream of {s.long_stream} frames: flat {result['long_stream']['flat']}, "
                     f"growth {result['long_stream']['growth_bytes']} bytes")
        del model
        if s.device.startswith("cuda"):
            torch.cuda.empty_cache()
        return True


def _complete(result: dict, settings: SweepSettings) -> bool:
    """Whether every row, baseline and (when in the matrix) the long stream are in ``result``."""
    keys = [(m, s, n, k) for n in settings.n_hist for m in settings.models for s in settings.image_sizes
            for k in settings.objects]
    wanted = settings.long_stream_row
    stream_in_matrix = (wanted.get("model") in settings.models and wanted.get("image_size") in settings.image_sizes
                        and wanted.get("n_hist") in settings.n_hist)
    return ({(*k, mode) for k in keys for mode in settings.modes} <= {row_key(r) for r in result["rows"]}
            and (not settings.baseline or set(keys) <= {base_key(b) for b in result["baselines"]})
            and (settings.long_stream <= 0 or not stream_in_matrix or result["long_stream"] is not None))


def run_sweep(settings: SweepSettings, out_dir: Path, resume: bool = False, progress: bool = True,
              log: Callable[[str], object] = print) -> dict:
    """Run the matrix, writing ``out_dir/sweep.json`` after every row; returns the result. ``resume`` keeps
    the rows of an earlier run of the same settings in ``out_dir``. With ``time_budget_s`` the sweep stops
    before a row once that much time has passed (``complete`` False)."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "sweep.json"
    result = _start(json_path, settings, resume)
    with tempfile.TemporaryDirectory(prefix="spgrasp_sweep_") as folder:
        sweep = _Sweep(settings, result, json_path, Path(folder), progress, log)
        # N_hist outermost: the first calls of a budgeted sweep cover every model at the first memory length
        for n_hist in settings.n_hist:
            if not all(sweep.group(m, s, n_hist) for m in settings.models for s in settings.image_sizes):
                break
    result["complete"] = _complete(result, settings)
    result["targets"] = evaluate_targets(result)
    sweep.save()
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
            groups.setdefault(row_key(row)[:4], []).append(row["ratio_to_sam2"]["median"])
    met = sum(min(v) <= 1.0 for v in groups.values())
    out.append({"target": "not slower than sam2's vos_optimized predictor (best mode, ratio <= 1.0)",
                "measured": f"{met} of {len(groups)} configurations", "met": bool(groups) and met == len(groups)})
    stream = result.get("long_stream")
    out.append({"target": "GPU memory flat over a long stream",
                "measured": None if stream is None else f"{stream['frames']} frames, growth {stream['growth_bytes']} B",
                "met": bool(stream and stream["flat"] and stream["what"] == "cuda allocated")})
    return out
