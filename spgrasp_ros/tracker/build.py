"""The one way to assemble a tracker: from a model (``build_tracker``) or from a checkpoint (``load_tracker``).

The tracker node's session, ``spgrasp eval``, ``spgrasp bench``, the demo and the tests all build their
trackers here, so they run the same defaults (``TrackerConfig()``) unless they say otherwise.
"""

from __future__ import annotations

import torch

from spgrasp_ros.devices import resolve_device
from spgrasp_ros.model.checkpoints import (
    GRASP_HEAD,
    CheckpointError,
    is_official_sam2,
    load_checkpoint,
    load_official_sam2,
    read_checkpoint,
    trained_parts,
)
from spgrasp_ros.model.config import ModelConfig, load_model_config
from spgrasp_ros.model.spgrasp import SPGrasp
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.grasp_source import resolve_grasp_source
from spgrasp_ros.tracker.memory_selection import MemorySelection
from spgrasp_ros.tracker.optimised import OptimisedConfig, OptimisedTracker
from spgrasp_ros.tracker.precision_probe import choose_precision
from spgrasp_ros.tracker.streaming import GraspTracker
from spgrasp_ros.weights import resolve_checkpoint


def build_tracker(model: SPGrasp, model_config: ModelConfig, config: TrackerConfig | None = None,
                  device: str | torch.device | None = None, precision: str = "auto",
                  optimised: OptimisedConfig | None = None,
                  memory_selection: MemorySelection | None = None) -> GraspTracker:
    """A tracker on ``model`` (moved to ``device``, default: where it is) with ``config`` (default: the
    deployed ``TrackerConfig()``); ``optimised`` makes it an ``OptimisedTracker`` with those options."""
    if optimised is not None:
        return OptimisedTracker(model, model_config, config, device, precision, memory_selection, optimised)
    return GraspTracker(model, model_config, config, device, precision, memory_selection)


def load_tracker(checkpoint: str = "demo", device: str = "auto", config: TrackerConfig | None = None,
                 n_hist: int | None = None, model_config: str = "", precision: str = "auto",
                 optimised: OptimisedConfig | None = None) -> GraspTracker:
    """A tracker on a checkpoint (a bundled name such as ``demo`` or a file) on ``device`` (auto, cpu, cuda,
    cuda:N). ``n_hist``: run the weights with another memory length (0: the no-memory ablation);
    ``model_config``: a preset or YAML the checkpoint must have been trained with ('' = no check); an official
    SAM 2 / 2.1 ``.pt`` file is run directly with the preset it belongs to (``model_config`` required), its
    grasp head untrained. ``precision`` ``auto`` is measured on the CPU (``tracker.precision_probe``; the
    choice is kept as ``tracker.precision_choice``), bf16 autocast on CUDA. The tracker knows whether the
    checkpoint's grasp head was trained (``tracker.grasp_head_trained``; ``config.grasp_source``: ``model``
    on an untrained head raises UntrainedHeadError).

    Raises FileNotFoundError / CheckpointError / ValueError naming the problem.
    """
    resolved = resolve_device(device)
    path = resolve_checkpoint(checkpoint)
    if is_official_sam2(path):
        if not model_config:
            raise CheckpointError(f"{path} is an official SAM 2 checkpoint: name the model preset it belongs to "
                                  "(model_config, e.g. tiny for sam2.1_hiera_tiny.pt)")
        loaded_config = load_model_config(model_config)
        if n_hist is not None:
            loaded_config = loaded_config.replace(n_hist=n_hist)
        model, _ = load_official_sam2(path, loaded_config, resolved)
        trained = {GRASP_HEAD: False}
    else:
        if model_config:
            expected = load_model_config(model_config)
            found, _, _ = read_checkpoint(path)
            if found != expected:
                raise CheckpointError(f"{path}: the checkpoint was trained with a different model config than "
                                      f"{model_config!r} (checkpoint: {found.to_dict()})")
        model, loaded_config, extra = load_checkpoint(path, resolved, n_hist=n_hist)
        trained = trained_parts(extra, path)
    tracker = build_tracker(model, loaded_config, config, resolved, precision, optimised)
    tracker.grasp_head_trained, tracker.checkpoint_name = trained[GRASP_HEAD], str(path.name)
    # grasp_source 'model' on an untrained head is refused now, not at the first frame
    resolve_grasp_source(tracker.config.grasp_source, tracker.grasp_head_trained, tracker.checkpoint_name)
    if precision == "auto" and optimised is None:  # (the compiled variant warms up its own way)
        choose_precision(tracker)
    return tracker
