"""Checkpoints: official SAM 2 / 2.1 weights as initialisation, and SPGrasp's own checkpoints.

- ``init_from_sam2``: loads an official ``sam2*_hiera_*.pt`` (``{"model": state_dict}``) into an SPGrasp
  model and reports exactly what was new (the grasp hypernetworks) or reshaped (the memory's temporal
  encoding when ``n_hist`` differs from SAM 2's 6, whose rows are remapped, never re-drawn). Any other
  mismatch means the checkpoint belongs to another sam2 variant: an error naming the first tensor.
- ``save_checkpoint`` / ``load_checkpoint``: SPGrasp checkpoints carry their ``ModelConfig``; loading builds
  the model from it. Loading into an existing model checks the config and every tensor.
- ``trained_parts``: which parts of the model were trained. A model initialised from official SAM 2 weights
  segments, but its grasp hypernetworks are random: its grasp maps must never be used (``tracker.grasp_source``).
  ``init_from_sam2`` reports the head untrained, training records it trained (``save_checkpoint(trained=...)``);
  checkpoints written before the record existed came from training and count as trained.
- ``is_official_sam2`` / ``load_official_sam2``: an official ``.pt`` run directly (with the model preset it
  belongs to), its grasp head untrained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from spgrasp_ros import __version__
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.config import ModelConfig
from spgrasp_ros.model.spgrasp import SPGrasp

FORMAT = "spgrasp_ros.checkpoint/1"
TRAINED = "trained"  # entry of a checkpoint: {part: whether it was trained}
GRASP_HEAD = "grasp_head"  # the grasp hypernetworks and their maps (model.grasp_decoder)
TPOS_KEY = "maskmem_tpos_enc"  # [num_maskmem, 1, 1, C_mem]: row 0 = newest frame ... last row = prompt frame


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


@dataclass
class LoadReport:
    """What an initialisation from a foreign checkpoint did, tensor by tensor."""

    loaded: list[str] = field(default_factory=list)  # copied as they are
    new: list[str] = field(default_factory=list)  # not in the checkpoint: kept at their initialisation
    reshaped: dict[str, str] = field(default_factory=dict)  # name -> what was done

    def summary(self) -> str:
        """Human-readable summary listing every new and reshaped tensor."""
        lines = [f"loaded {len(self.loaded)} tensors as they are"]
        lines += [f"new (initialised, not in the checkpoint): {name}" for name in self.new]
        lines += [f"reshaped: {name}: {what}" for name, what in self.reshaped.items()]
        return "\n".join(lines)


def _read(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated file, not a torch file, pickled code objects ...
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from error
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a dict, found {type(data).__name__}")
    return data


def remap_tpos(old: torch.Tensor, rows: int) -> torch.Tensor:
    """SAM 2's temporal memory encoding for another memory length: keep the prompt-frame row last, the
    newest-frame rows first; extra recent rows repeat the oldest trained one, surplus ones are dropped."""
    recent = old[:-1]
    index = torch.clamp(torch.arange(rows - 1), max=recent.size(0) - 1)
    return torch.cat([recent[index], old[-1:]])


def init_from_sam2(model: SPGrasp, path: str | Path) -> LoadReport:
    """Load official SAM 2 / 2.1 weights into ``model``; every tensor is accounted for in the report."""
    data = _read(path)
    weights = data.get("model", data)
    if not isinstance(weights, dict) or not all(torch.is_tensor(v) for v in weights.values()):
        raise CheckpointError(f"{path}: no 'model' state dict of tensors")
    own = model.state_dict()
    report, merged = LoadReport(), {}
    unexpected = sorted(set(weights) - set(own))
    if unexpected:
        raise CheckpointError(f"{path}: tensor {unexpected[0]!r} (and {len(unexpected) - 1} more) has no place in "
                              f"this model: a checkpoint of another architecture?")
    for name, target in own.items():
        if name not in weights:
            report.new.append(name)
            continue
        source = weights[name]
        if source.shape == target.shape:
            merged[name] = source
            report.loaded.append(name)
        elif name == TPOS_KEY and source.shape[1:] == target.shape[1:]:
            merged[name] = remap_tpos(source, target.size(0))
            report.reshaped[name] = f"{list(source.shape)} -> {list(target.shape)} (rows remapped for n_hist)"
        else:
            raise CheckpointError(f"{path}: tensor {name!r} is {list(source.shape)} in the checkpoint but "
                                  f"{list(target.shape)} in the model: a checkpoint of another sam2 variant?")
    if not report.loaded:
        raise CheckpointError(f"{path}: no tensor of the checkpoint matches this model")
    model.load_state_dict(merged, strict=False)
    return report


def trained_parts(extra: dict, path: str | Path = "checkpoint") -> dict[str, bool]:
    """{part: trained} of a checkpoint's entries (``read_checkpoint``'s extras); without the record (written
    before it existed, always by training) every part counts as trained. CheckpointError for a bad record."""
    record = extra.get(TRAINED)
    if record is None:
        return {GRASP_HEAD: True}
    if not isinstance(record, dict) or not all(isinstance(v, bool) for v in record.values()):
        raise CheckpointError(f"{path}: '{TRAINED}' must map parts to true/false, got {record!r}")
    return {GRASP_HEAD: True, **record}


def save_checkpoint(path: str | Path, model: SPGrasp, config: ModelConfig, *, trained: dict[str, bool],
                    **extra) -> None:
    """Write an SPGrasp checkpoint: weights, the model config, the package version, which parts were
    ``trained`` ({``GRASP_HEAD``: bool}) and ``extra`` (JSON-like)."""
    extra[TRAINED] = dict(trained)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "config": config.to_dict(), "model": state, "spgrasp_ros": __version__, **extra}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # a crash while writing never leaves a truncated checkpoint behind


def read_checkpoint(path: str | Path) -> tuple[ModelConfig, dict, dict]:
    """(config, state dict, the other entries) of an SPGrasp checkpoint."""
    data = _read(path)
    if data.get("format") != FORMAT:
        hint = " (an official SAM 2 checkpoint? use init_from_sam2)" if "model" in data and "config" not in data else ""
        raise CheckpointError(f"{path}: not an SPGrasp checkpoint (format {data.get('format')!r}){hint}")
    try:
        config = ModelConfig.from_dict(data["config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: invalid model config: {error}") from error
    extra = {k: v for k, v in data.items() if k not in ("format", "config", "model")}
    return config, data["model"], extra


def load_weights(model: SPGrasp, config: ModelConfig, path: str | Path) -> dict:
    """Load an SPGrasp checkpoint into an existing model built from ``config``; returns the extra entries.

    The checkpoint's config must equal ``config`` and every tensor must match: otherwise an error names the
    first differing config field or tensor.
    """
    saved, weights, extra = read_checkpoint(path)
    if saved != config:
        diff = [k for k, v in saved.to_dict().items() if config.to_dict()[k] != v]
        theirs, ours = {k: saved.to_dict()[k] for k in diff}, {k: config.to_dict()[k] for k in diff}
        raise CheckpointError(f"{path}: checkpoint of another model config (differs in {', '.join(diff)}: "
                              f"{theirs} vs {ours})")
    _load_exactly(model, weights, path)
    return extra


def _load_exactly(model: SPGrasp, weights: dict, path: str | Path) -> None:
    """Load ``weights`` when they hold exactly the model's tensors with its shapes; else name the first misfit."""
    own = model.state_dict()
    for name in sorted(set(own) | set(weights)):
        if name not in weights or name not in own:
            where = "missing from the checkpoint" if name not in weights else "not in the model"
            raise CheckpointError(f"{path}: tensor {name!r} is {where}")
        if weights[name].shape != own[name].shape:
            raise CheckpointError(f"{path}: tensor {name!r} is {list(weights[name].shape)} in the checkpoint, "
                                  f"{list(own[name].shape)} in the model")
    model.load_state_dict(weights, strict=True)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu",
                    n_hist: int | None = None) -> tuple[SPGrasp, ModelConfig, dict]:
    """Build the model a checkpoint describes and load it; returns (model in eval mode, config, extras).

    ``n_hist``: run the weights with another memory length (the paper's N_hist ablation): the model is built
    for it and the temporal memory encoding's rows are remapped (``remap_tpos``: fewer frames keep the newest
    rows, more repeat the oldest); 0 keeps only the prompt frame's memory.
    """
    config, weights, extra = read_checkpoint(path)
    if n_hist is not None and n_hist != config.n_hist:
        config = config.replace(n_hist=n_hist)
        if TPOS_KEY in weights:  # else _load_exactly names it as missing
            weights = {**weights, TPOS_KEY: remap_tpos(weights[TPOS_KEY], n_hist + 1)}
    model = build_model(config, "cpu")
    _load_exactly(model, weights, path)
    return model.to(device).eval(), config, extra


def is_official_sam2(path: str | Path) -> bool:
    """Whether ``path`` holds official SAM 2 / 2.1 weights (``{"model": state_dict}``, no SPGrasp format)."""
    data = _read(path)
    return "format" not in data and isinstance(data.get("model"), dict)


def load_official_sam2(path: str | Path, config: ModelConfig, device: str | torch.device = "cpu"
                       ) -> tuple[SPGrasp, LoadReport]:
    """An SPGrasp model of ``config`` initialised from official SAM 2 / 2.1 weights (its grasp head untrained:
    ``trained_parts`` of such a model is {GRASP_HEAD: False}); (model in eval mode, what was loaded)."""
    model = build_model(config, "cpu")
    report = init_from_sam2(model, path)
    return model.to(device).eval(), report
