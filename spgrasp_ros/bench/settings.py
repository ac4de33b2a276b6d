"""What a benchmark runs: one configuration (``BenchSettings``), a matrix (``SweepSettings``), and the modes.

A mode (``MODES``) is how the tracker runs: a precision and, for the compiled modes, an ``OptimisedConfig``.
Behaviour is always the deployed ``TrackerConfig()``; ``tracker`` overrides (CLI ``tracker.NAME=VALUE``, a
sweep's ``tracker:``) go where each name belongs (``tracker_run``).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import yaml

from spgrasp_ros.devices import resolve_device, resolve_precision
from spgrasp_ros.model.config import ModelConfig, load_model_config
from spgrasp_ros.model.spgrasp import SPGrasp
from spgrasp_ros.settings import apply_overrides, parse_size
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.optimised import OptimisedConfig
from spgrasp_ros.tracker.streaming import GraspTracker

MODES: dict[str, tuple[str, OptimisedConfig | None]] = {  # name: (precision, optimisation; None = eager)
    "auto": ("auto", None),  # the tracker's defaults: bf16 autocast on CUDA, float32 on the CPU, eager
    "float32": ("float32", None),
    "bf16": ("bfloat16", None),
    "compiled": ("bfloat16", OptimisedConfig()),
    "compiled_float32": ("float32", OptimisedConfig()),
}
_OPTIMISED_FIELDS = tuple(f.name for f in dataclasses.fields(OptimisedConfig))
_EAGER = OptimisedConfig(compile=False, one_copy=False)  # what an eager mode's optimisation overrides start from


@dataclass(frozen=True)
class TrackerRun:
    """How one benchmark row builds its tracker."""

    mode: str  # a key of MODES
    config: TrackerConfig  # behaviour (the deployed defaults unless overridden)
    precision: str  # auto, float32 or bfloat16
    optimised: OptimisedConfig | None  # None: the eager GraspTracker

    @property
    def compiles(self) -> bool:
        """Whether the tracker torch.compiles the model's parts."""
        return self.optimised is not None and self.optimised.compile

    def build(self, model: SPGrasp, model_config: ModelConfig) -> GraspTracker:
        """The tracker on ``model`` (left unchanged: a compiling tracker gets its own copy and a fresh compile
        cache, so its compile counts are its own and no recompile limit is reached)."""
        if self.compiles:
            torch._dynamo.reset()
            model = copy.deepcopy(model)
        return build_tracker(model, model_config, self.config, precision=self.precision, optimised=self.optimised)

    def to_dict(self) -> dict[str, Any]:
        """JSON view: the TrackerConfig fields, ``precision`` and ``optimised`` (its fields or None)."""
        return {**dataclasses.asdict(self.config), "precision": self.precision,
                "optimised": None if self.optimised is None else dataclasses.asdict(self.optimised)}


def tracker_run(mode: str, overrides: Mapping[str, Any] | None = None) -> TrackerRun:
    """The run of a mode of MODES with ``overrides`` on top: TrackerConfig fields and decode settings (by the
    names of ``TrackerConfig.settings``), ``precision``, OptimisedConfig fields. On an eager mode those start
    from everything off and the tracker stays eager unless one turns ``compile`` or ``one_copy`` on.
    ValueError names a mode or keys that are not known."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(MODES)}")
    overrides = dict(overrides or {})
    behaviour = TrackerConfig().settings()
    unknown = sorted(set(overrides) - set(behaviour) - set(_OPTIMISED_FIELDS) - {"precision"})
    if unknown:
        raise ValueError(f"unknown tracker settings {unknown}; known: "
                         f"{', '.join([*behaviour, 'precision', *_OPTIMISED_FIELDS])}")
    precision, optimised = MODES[mode]
    precision = overrides.get("precision", precision)
    resolve_precision(precision, "cpu")  # refuses unknown names
    options = {k: overrides[k] for k in _OPTIMISED_FIELDS if k in overrides}
    if options:
        optimised = dataclasses.replace(optimised or _EAGER, **options)
        if not (optimised.compile or optimised.one_copy):
            optimised = None
    config = TrackerConfig().with_settings({k: v for k, v in overrides.items() if k in behaviour})
    return TrackerRun(mode, config, precision, optimised)


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
    tracker: dict = field(default_factory=dict)  # tracker_run overrides over the mode's
    events: bool = True  # stage times from CUDA events (False: synchronise around every stage)
    baseline: bool = False  # also time sam2's video predictor on the same frames
    sam2_vos: bool | None = None  # sam2's vos_optimized predictor (default: on CUDA only)
    sam2_checkpoint: str | None = None  # official SAM 2 checkpoint for the baseline (default: random weights)
    sam2_compile_mode: str | None = None  # torch.compile mode of sam2's vos predictor (None: its own max-autotune)
    long_stream: int = 0  # > 0: frames of an extra untimed stream checking that memory stays flat
    sync_check: int = 5  # frames run under torch.cuda.set_sync_debug_mode (CUDA only; 0: skip)

    def __post_init__(self) -> None:
        if self.frames < 1 or self.warmup < 0 or self.objects < 1:
            raise ValueError("frames >= 1, warmup >= 0 and objects >= 1 are needed")
        tracker_run(self.mode, self.tracker)  # bad modes and overrides fail before any work


def _default_device() -> str:
    return str(resolve_device("auto"))


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
    device: str = field(default_factory=_default_device)
    tracker: dict = field(default_factory=dict)  # tracker_run overrides over every mode's
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
        parse_size(self.resolution, "resolution")
        for model in self.models:
            load_model_config(model)
        for mode in self.modes:
            tracker_run(mode, self.tracker)

    @property
    def size(self) -> tuple[int, int]:
        """The camera resolution as (width, height)."""
        return parse_size(self.resolution, "resolution")


def sweep_settings(path: str | None = None, overrides: Sequence[str] = ()) -> SweepSettings:
    """SweepSettings from a YAML file (None: the defaults) and ``key=value`` overrides (values parsed as
    YAML: ``models=[tiny,small]``, ``frames=50``, ``tracker.compile_mode=max-autotune``)."""
    data: dict = {}
    if path:
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"sweep file {path} must be a mapping")
    apply_overrides(data, overrides)
    known = {f.name for f in dataclasses.fields(SweepSettings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown sweep keys {unknown}; keys: {', '.join(sorted(known))}")
    return SweepSettings(**data)
