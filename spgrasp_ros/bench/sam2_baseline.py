"""The baseline of ``spgrasp bench``: sam2's own video predictor segmenting the same frames.

sam2's ``SAM2VideoPredictor`` (with ``vos_optimized=True`` on CUDA: ``SAM2VideoPredictorVOS``, which
torch.compiles the image encoder, memory attention, prompt encoder, mask decoder and memory encoder with
``max-autotune``) tracks one box prompt per object given on frame 0 through a folder of JPEG frames,
segmentation only (no grasps). Built from the same sam2 config, input size, memory length and overrides as
the SPGrasp model it is compared with, with sam2's video post-processing settings, and random weights unless
an official checkpoint is given (same compute). On CUDA it runs under bf16 autocast with TF32 on, as sam2's
own ``sam2/benchmark.py`` does (both restored afterwards).

Timing: the time between consecutive yields of ``propagate_in_video``, with the device synchronised before
and after each, so one frame's figure is that frame's whole work on the device. What it leaves out, and the
SPGrasp figures include: reading and preprocessing the frame (``init_state`` loads and normalises every frame
onto the device up front) and copying results to the host (its masks stay on the device). The ratio SPGrasp /
sam2 therefore favours sam2. sam2 runs objects one after another (batch 1 each); its memory keeps every
frame's outputs, so its memory grows with the stream (the peak is reported, not checked for flatness).
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from unittest import mock

import numpy as np
import torch

from spgrasp_ros.devices import synchronize
from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.timing import summarise


def sam2_overrides(config: ModelConfig) -> list[str]:
    """Hydra overrides that give sam2's predictor the SPGrasp model's input size, memory and sam2 overrides."""
    feat = config.image_size // 16  # memory-attention RoPE grid
    ours = [f"image_size={config.image_size}", f"num_maskmem={config.n_hist + 1}",
            f"max_obj_ptrs_in_encoder={config.max_obj_ptrs}",
            f"memory_attention.layer.self_attention.feat_sizes=[{feat},{feat}]",
            f"memory_attention.layer.cross_attention.feat_sizes=[{feat},{feat}]", *config.overrides]
    return [f"++model.{o}" for o in ours]


@contextmanager
def _sam2_precision(device: torch.device) -> Iterator[str]:
    """sam2's benchmark settings on CUDA (bf16 autocast, TF32 matmuls and convolutions), restored after."""
    if device.type != "cuda":
        yield "float32"
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield "bfloat16"
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@contextmanager
def _compile_mode(mode: str | None) -> Iterator[None]:
    """torch.compile calls made inside (sam2 compiles while building) use ``mode`` instead of their own."""
    if mode is None:
        yield
        return
    original = torch.compile

    def compile_with_mode(model=None, **options):
        return original(model, **{**options, "mode": mode})

    with mock.patch("torch.compile", compile_with_mode):
        yield


def _hole_filling_available() -> bool:
    try:
        from sam2 import _C  # noqa: F401  (sam2's optional CUDA extension)
    except ImportError:
        return False
    return True


@contextmanager
def sam2_stream(config: ModelConfig, frames_dir: Path, boxes: list[list[float]], device: str = "cuda",
                vos_optimized: bool | None = None, checkpoint: str | None = None,
                compile_mode: str | None = None) -> Iterator["Sam2Stream"]:
    """sam2's video predictor built for ``config``, its state initialised on the JPEG frames of ``frames_dir``
    and one box (xyxy input px) per object prompted on frame 0, ready to be stepped frame by frame
    (``Sam2Stream.next_ms``). ``vos_optimized``: sam2's compiled predictor; default: on for CUDA, off on the
    CPU. ``compile_mode``: another torch.compile mode for its compiled parts than its own "max-autotune"."""
    from sam2.build_sam import build_sam2_video_predictor

    target = torch.device(device)
    vos = target.type == "cuda" if vos_optimized is None else vos_optimized
    quiet = lambda iterable, **_: iterable  # noqa: E731  (sam2's progress bars off)
    with warnings.catch_warnings(), _sam2_precision(target) as precision, torch.inference_mode(), \
            mock.patch("sam2.sam2_video_predictor.tqdm", quiet), mock.patch("sam2.utils.misc.tqdm", quiet), \
            _compile_mode(compile_mode):
        warnings.simplefilter("ignore")  # hole filling without sam2's CUDA extension warns on every frame
        started = time.perf_counter()
        predictor = build_sam2_video_predictor(config.sam2_config, checkpoint, device=target, vos_optimized=vos,
                                               hydra_overrides_extra=sam2_overrides(config))
        built = time.perf_counter()
        state = predictor.init_state(video_path=str(frames_dir))
        for object_id, box in enumerate(boxes, start=1):
            predictor.add_new_points_or_box(state, frame_idx=0, obj_id=object_id,
                                            box=np.asarray(box, dtype=np.float32))
        stream = Sam2Stream(predictor, predictor.propagate_in_video(state), target, {
            "predictor": type(predictor).__name__, "vos_optimized": vos, "precision": precision,
            "compile_mode": (compile_mode or "max-autotune") if vos else None, "checkpoint": checkpoint,
            "hole_filling": _hole_filling_available() and target.type == "cuda", "objects": len(boxes),
            "build_s": built - started, "init_and_prompt_s": time.perf_counter() - built,
            "overrides": sam2_overrides(config)})
        try:
            yield stream
        finally:
            del predictor, state
            stream.close()


class Sam2Stream:
    """sam2's ``propagate_in_video`` stepped one yield at a time, each timed between synchronised devices (the
    first yield is the prompt frame's stored output)."""

    def __init__(self, predictor, frames: Iterator, device: torch.device, meta: dict) -> None:
        self.predictor, self._frames, self.device, self.meta = predictor, frames, device, meta
        self.mask_shape: list[int] | None = None

    def next_ms(self) -> float | None:
        """Milliseconds of the next frame's whole work on the device; None after the last frame."""
        synchronize(self.device)
        start = time.perf_counter()
        item = next(self._frames, None)
        synchronize(self.device)
        if item is None:
            return None
        self.mask_shape = list(item[2].shape)
        return (time.perf_counter() - start) * 1000.0

    def close(self) -> None:
        """Drop the predictor; CUDA memory back to the device."""
        self.predictor = self._frames = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def run_sam2_baseline(config: ModelConfig, frames_dir: Path, boxes: list[list[float]], device: str = "cuda",
                      warmup: int = 30, vos_optimized: bool | None = None, checkpoint: str | None = None,
                      compile_mode: str | None = None) -> dict:
    """Time sam2's video predictor (``sam2_stream``) on all frames of ``frames_dir`` in a row; the first
    ``warmup`` tracked frames (compilation, memory filling) are not counted. Returns per-frame times [ms] of
    the counted frames and how they were taken."""
    target = torch.device(device)
    count = len(list(frames_dir.glob("*.jpg")))
    if count < warmup + 2:
        raise ValueError(f"{frames_dir} has {count} frames; warm-up {warmup} + prompt frame + 1 timed needed")
    if target.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(target)
    with sam2_stream(config, frames_dir, boxes, device, vos_optimized, checkpoint, compile_mode) as stream:
        times = []
        while (ms := stream.next_ms()) is not None:
            times.append(ms)
        meta, mask_shape = stream.meta, stream.mask_shape
    counted = times[1 + warmup:]  # the first yield is the prompt frame's stored output
    peak = torch.cuda.max_memory_allocated(target) if target.type == "cuda" else None
    return {**meta, "frames": len(counted), "warmup": warmup, "mask_shape": mask_shape,
            "frame_ms": summarise(counted), "frame_ms_series": counted, "peak_memory_bytes": peak}
