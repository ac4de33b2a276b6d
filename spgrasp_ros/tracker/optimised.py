"""The compiled tracker: the same steps as ``GraspTracker``, with torch.compile and one host copy per frame.

As sam2 keeps ``SAM2VideoPredictorVOS`` beside ``SAM2VideoPredictor``, ``OptimisedTracker`` is an opt-in
subclass with its own ``OptimisedConfig``; results match the eager tracker within float tolerance
(test/tracker/test_optimised_paths.py). What it changes:
- ``compile``: torch.compile of the parts whose shapes stay fixed along a stream (image encoder, prompt
  encoder, mask/grasp decoder, memory encoder, the packed read-out) and of memory attention, whose memory
  grows while the FIFO fills: ``memory_shapes="dynamic"`` compiles it once with a symbolic memory length
  (sam2's own choice), ``"static"`` once per fill level (``memory_fill_levels`` of them per object count,
  compiled up front by ``prewarm``). Frames with a prompt run eagerly, so a prompt never waits for a
  compilation; compilations happen on the first prompt-free frames of a new object count (or in
  ``prewarm``) and their number is bounded whatever the stream length (``compile_counts``);
- ``one_copy``: the frame goes up from a pinned buffer without waiting, the packed results come back in one
  copy through a pinned buffer: one host-device synchronisation per frame (on the CPU nothing is copied).
"""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.model.spgrasp import SPGrasp
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.memory_selection import MemorySelection
from spgrasp_ros.tracker.streaming import GraspTracker

MEMORY_SHAPES = ("dynamic", "static")


@dataclass(frozen=True)
class OptimisedConfig:
    """How ``OptimisedTracker`` runs (behaviour stays ``TrackerConfig``)."""

    compile: bool = True  # torch.compile the model parts and the packed read-out (module notes)
    compile_mode: str = "default"  # torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune, ...
    compile_backend: str = "inductor"  # torch.compile backend ("aot_eager": trace without generating code)
    memory_shapes: str = "dynamic"  # compiled memory attention: "dynamic" memory length or "static" per fill level
    one_copy: bool = True  # pinned frame upload, the packed results copied back at once

    def __post_init__(self) -> None:
        if self.memory_shapes not in MEMORY_SHAPES:
            raise ValueError(f"memory_shapes must be one of {MEMORY_SHAPES}, got {self.memory_shapes!r}")


def clone_outputs(value: Any) -> Any:
    """Tensors (also inside dicts, lists, tuples and dataclasses) cloned: CUDA-graph outputs are overwritten
    by the graph's next replay, and the tracker keeps some (memory entries) for later frames."""
    if torch.is_tensor(value):
        return value.clone()
    if isinstance(value, dict):
        return {k: clone_outputs(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clone_outputs(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: clone_outputs(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value


class OptimisedTracker(GraspTracker):
    """``GraspTracker`` compiled and with one host copy per frame. The model's parts are compiled in place
    (their ``forward`` replaced), so give each compiled tracker its own model."""

    def __init__(self, model: SPGrasp, model_config: ModelConfig, config: TrackerConfig | None = None,
                 device: str | torch.device | None = None, precision: str = "auto",
                 memory_selection: MemorySelection | None = None, options: OptimisedConfig | None = None) -> None:
        """As ``GraspTracker``; ``options``: what is optimised (default: everything)."""
        super().__init__(model, model_config, config, device, precision, memory_selection)
        self.options = options if options is not None else OptimisedConfig()
        self._staging: tuple[torch.Tensor, torch.cuda.Event] | None = None  # pinned frame buffer (one_copy, CUDA)
        self._download: torch.Tensor | None = None  # pinned result buffer (one_copy, CUDA)
        self._compiled: dict[str, object] = {}  # part name -> its original (uncompiled) function
        if self.options.compile:
            self._compile()

    # --- per-frame hooks ----------------------------------------------------------------------------------
    def _frame_context(self, prompted: bool):
        stack = ExitStack()
        if self.options.compile and self.options.compile_mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()  # this frame's graph replays may reuse last frame's buffers
        stack.enter_context(super()._frame_context(prompted))
        if self.options.compile and prompted:  # prompt frames never wait for a compilation
            stack.enter_context(torch.compiler.set_stance("force_eager"))
        return stack

    def _upload(self, frame: np.ndarray) -> torch.Tensor:
        """With ``one_copy`` on CUDA: through a reused pinned buffer, without waiting for the copy (the frame's
        one synchronisation comes with the results)."""
        if not (self.options.one_copy and self.device.type == "cuda"):
            return super()._upload(frame)
        if self._staging is None or self._staging[0].shape != frame.shape:
            self._staging = (torch.empty(frame.shape, dtype=torch.uint8, pin_memory=True), torch.cuda.Event())
        buffer, uploaded = self._staging
        if not uploaded.query():  # the last upload from this buffer is still running (a frame that failed)
            uploaded.synchronize()
        buffer.numpy()[...] = frame
        tensor = buffer.to(self.device, non_blocking=True)
        uploaded.record()
        return tensor

    def _to_host(self, floats: torch.Tensor, bits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        if self.options.one_copy and self.device.type == "cuda":
            return self._copy_to_host(floats, bits)
        return super()._to_host(floats, bits)

    def _copy_to_host(self, floats: torch.Tensor, bits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Both blocks to the host in one copy through a reused pinned buffer: the frame's one synchronisation."""
        packed = torch.cat([floats.reshape(-1).view(torch.uint8), bits.reshape(-1).view(torch.uint8)])
        cuda = packed.device.type == "cuda"
        if self._download is None or self._download.numel() < packed.numel():
            self._download = torch.empty(packed.numel(), dtype=torch.uint8, pin_memory=cuda)
        host = self._download[:packed.numel()]
        host.copy_(packed, non_blocking=cuda)
        if cuda:
            torch.cuda.current_stream(packed.device).synchronize()
        array, split = host.numpy(), floats.numel() * 4
        # copies: the pinned buffer is reused by the next frame
        return (array[:split].view(np.float32).reshape(floats.shape).copy(),
                array[split:].view(np.bool_).reshape(bits.shape).copy())

    # --- compilation -----------------------------------------------------------------------------------------
    def _compile(self) -> None:
        """Replace the parts' ``forward`` (and the packed read-out) by compiled versions."""
        options, model = self.options, self.model
        if options.memory_shapes == "static":  # one graph per fill level and object count must fit the cache
            name = "recompile_limit" if hasattr(torch._dynamo.config, "recompile_limit") else "cache_size_limit"
            limit = max(getattr(torch._dynamo.config, name), 2 * self.memory_fill_levels + 4)
            setattr(torch._dynamo.config, name, limit)

        def compiled(owner, name: str, dynamic: bool):
            original = getattr(owner, name)
            mode = options.compile_mode if options.compile_backend == "inductor" else None  # modes are inductor's
            function = torch.compile(original, mode=mode, dynamic=dynamic, backend=options.compile_backend)
            if options.compile_mode == "reduce-overhead":
                function = (lambda f: lambda *a, **kw: clone_outputs(f(*a, **kw)))(function)
            return original, function

        parts = {  # name: (owner, attribute, dynamic shapes)
            "image_encoder": (model.image_encoder, "forward", False),
            "memory_attention": (model.memory_attention, "forward", options.memory_shapes == "dynamic"),
            "prompt_encoder": (model.sam_prompt_encoder, "forward", False),
            "decoder": (model.sam_mask_decoder, "decode", False),
            "memory_encoder": (model.memory_encoder, "forward", False),
            "outputs": (self, "_pack", False),
        }
        for name, (owner, attribute, dynamic) in parts.items():
            self._compiled[name], function = compiled(owner, attribute, dynamic)
            setattr(owner, attribute, function)

    def compile_counts(self) -> dict[str, int]:
        """Graphs compiled so far per compiled part (each recompilation adds one; 0 for a part not reached
        yet; per code object, so trackers of the same model class in one process share them, until
        torch._dynamo.reset()), and torch._dynamo's cumulative process-wide counters ``graphs`` and
        ``graph_breaks``."""
        from torch._dynamo.eval_frame import _debug_get_cache_entry_list
        from torch._dynamo.utils import counters

        counts = {name: len(_debug_get_cache_entry_list(getattr(function, "__func__", function).__code__))
                  for name, function in self._compiled.items()}
        counts["graphs"] = int(counters["stats"]["unique_graphs"])
        counts["graph_breaks"] = int(sum(counters["graph_break"].values()))
        return counts

    def prewarm(self, image_size: tuple[int, int] = (640, 480), objects: int = 1) -> int:
        """Run a throw-away stream: ``objects`` box prompts on a frame of ``image_size`` (W, H), then one frame
        per memory fill level, so a compiled tracker compiles what that object count needs before the first
        real frame. The tracker's state (objects, memory, frame index, ids) is unchanged afterwards.
        Returns the number of frames run."""
        width, height = image_size
        side = max(2, min(width, height) // 4)
        boxes = [[x, y, x + side, y + side] for x, y in
                 (((i * side) % max(1, width - side), (i * side // 2) % max(1, height - side)) for i in range(objects))]
        frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        saved = (self._cohorts, self._frame_index, self._next_id, self.timer)
        try:
            self._cohorts, self._frame_index, self._next_id, self.timer = [], -1, 1, None
            self.step(frame, Prompt.create(boxes=boxes))
            for _ in range(self.memory_fill_levels + 1):
                self.step(frame)
        finally:
            self._cohorts, self._frame_index, self._next_id, self.timer = saved
        return self.memory_fill_levels + 2
