"""``spgrasp train``: the training loop (one process, or one per GPU under ``torchrun``).

A run folder holds ``config.yaml`` (the resolved configuration), ``log.csv`` (every ``log_every`` steps:
learning rate and loss terms; also TensorBoard events when ``tensorboard`` is installed),
``checkpoints/step_NNNNNN.pt`` and ``checkpoints/last.pt`` (model, optimiser, schedule, step and RNG state:
``resume`` continues from the last one exactly), and ``model.pt`` at the end (the SPGrasp checkpoint to use).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.distributed as dist
import yaml
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from spgrasp_ros.devices import autocast
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import GRASP_HEAD, init_from_sam2, load_weights, read_checkpoint, save_checkpoint
from spgrasp_ros.model.config import ModelConfig, load_model_config
from spgrasp_ros.settings import apply_overrides
from spgrasp_ros.training.clips import ClipConfig
from spgrasp_ros.training.forward import ClipLoss
from spgrasp_ros.training.loss import LossConfig
from spgrasp_ros.training.sources import ClipSampler, SourceConfig


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (saved as the run's config.yaml)."""

    model: str = "test_tiny"  # model preset name or YAML file
    model_overrides: dict = field(default_factory=dict)  # ModelConfig fields to change, e.g. {image_size: 128}
    init: str | None = None  # official SAM 2 .pt or SPGrasp checkpoint to start from (None: random init)
    sources: tuple[SourceConfig, ...] = (SourceConfig(),)
    clip: ClipConfig = ClipConfig()
    loss: LossConfig = LossConfig()
    steps: int = 1000  # optimiser steps
    accumulate: int = 1  # clips per optimiser step (per process)
    lr: float = 3e-4
    lr_image_encoder: float = 3e-4  # learning rate of the image encoder (lower it when fine-tuning SAM 2)
    freeze_image_encoder: bool = False
    weight_decay: float = 0.01
    warmup_steps: int = 50  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0  # max gradient norm (0: off)
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    device: str = "auto"  # auto: cuda when available, else cpu
    threads: int | None = None  # torch CPU threads
    workers: int = 0  # processes that make clips ahead of the training loop (0: made in the loop)

    def model_config(self) -> ModelConfig:
        """The model configuration this run trains."""
        return load_model_config(self.model).replace(**self.model_overrides)


def _coerce(owner: str, name: str, default: Any, value: Any) -> Any:
    """A scalar value as the type of its field's default (YAML reads 2e-3 as a string, 3 as an int)."""
    if isinstance(default, bool) or default is None or isinstance(value, bool):
        return value
    try:
        if isinstance(default, float) and isinstance(value, (int, float, str)):
            return float(value)
        if isinstance(default, int) and isinstance(value, (int, float, str)) and float(value) == int(float(value)):
            return int(float(value))
    except ValueError:
        pass
    if isinstance(default, (int, float)) and not isinstance(value, (int, float)):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    return value


def _build(cls, data: Any):
    """A dataclass instance from nested dicts/lists (unknown keys are an error naming them)."""
    if not dataclasses.is_dataclass(cls) or not isinstance(data, dict):
        return data
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {unknown}")
    values = {}
    for name, value in data.items():
        default = fields[name].default
        kind = type(default) if dataclasses.is_dataclass(default) else None
        if name == "sources":
            values[name] = tuple(_build(SourceConfig, v) for v in value)
        elif kind is not None:
            values[name] = _build(kind, {**dataclasses.asdict(default), **(value or {})})
        elif isinstance(value, list) and isinstance(default, tuple):
            values[name] = tuple(value)
        else:
            values[name] = _coerce(cls.__name__, name, default, value)
    return cls(**values)


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """A YAML file (or the defaults) with ``key.sub=value`` overrides (values parsed as YAML)."""
    data = dataclasses.asdict(TrainConfig())
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a training config must be a mapping")
        for key, value in loaded.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict) and key not in ("model_overrides",):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    return _build(TrainConfig, apply_overrides(data, overrides))


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun, (0, 1, 0) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def _schedule(config: TrainConfig):
    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return factor


class _Logger:
    """CSV log (and TensorBoard when available) written by rank 0."""

    def __init__(self, folder: Path, enabled: bool) -> None:
        self.enabled, self._writer, self._tensorboard = enabled, None, None
        if not enabled:
            return
        self._file = open(folder / "log.csv", "a", newline="")
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tensorboard = SummaryWriter(str(folder / "tensorboard"))
        except ImportError:  # tensorboard is optional
            self._tensorboard = None

    def log(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["step", *values])
            if self._file.tell() == 0:
                self._writer.writeheader()
        self._writer.writerow({"step": step, **{k: f"{v:.6g}" for k, v in values.items()}})
        self._file.flush()
        if self._tensorboard is not None:
            for key, value in values.items():
                self._tensorboard.add_scalar(key, value, step)

    def close(self) -> None:
        if self.enabled:
            self._file.close()
            if self._tensorboard is not None:
                self._tensorboard.close()


@dataclass
class TrainOutcome:
    """The final checkpoint's path and the trained model (in training mode, on its device)."""

    model_path: Path
    model: torch.nn.Module


def train(config: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True) -> TrainOutcome:
    """Run (or resume) training; the final SPGrasp checkpoint is ``<out_dir>/model.pt``."""
    out = Path(out_dir)
    rank, world, local_rank = _distributed()
    main = rank == 0
    if config.threads:
        torch.set_num_threads(config.threads)
    device = torch.device(f"cuda:{local_rank}" if (config.device == "auto" and torch.cuda.is_available())
                          else ("cpu" if config.device == "auto" else config.device))
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    last = out / "checkpoints" / "last.pt"
    if main:
        (out / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
    model_config = config.model_config()
    torch.manual_seed(config.seed)
    model = build_model(model_config, "cpu")
    if config.init and not (resume and last.exists()):
        if _is_spgrasp_checkpoint(config.init):
            load_weights(model, model_config, config.init)
        else:
            report = init_from_sam2(model, config.init)
            if main:
                print(f"initialised from {config.init}:\n{report.summary()}")
    if config.freeze_image_encoder:
        model.image_encoder.requires_grad_(False)
    model.to(device).train()
    module = ClipLoss(model, config.loss)
    if world > 1:
        module = torch.nn.parallel.DistributedDataParallel(
            module, device_ids=[local_rank] if device.type == "cuda" else None, find_unused_parameters=True)
    encoder = [p for n, p in model.named_parameters() if n.startswith("image_encoder.") and p.requires_grad]
    others = [p for n, p in model.named_parameters() if not n.startswith("image_encoder.") and p.requires_grad]
    groups = [{"params": others, "lr": config.lr}]
    if encoder:
        groups.append({"params": encoder, "lr": config.lr_image_encoder})
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    start = 0
    if resume and last.exists():
        _, weights, extra = read_checkpoint(last)
        model.load_state_dict(weights)
        optimizer.load_state_dict(extra["optimizer"])
        scheduler.load_state_dict(extra["scheduler"])
        start = int(extra["step"])
        torch.set_rng_state(extra["rng"][rank] if rank < len(extra["rng"]) else extra["rng"][0])
        if main:
            print(f"resumed from {last} at step {start}")
    sampler = ClipSampler(list(config.sources), config.clip, model_config.image_size, config.seed, rank,
                          log=print if main else (lambda *_: None))
    logger = _Logger(out, main)
    precision = autocast(device)  # bf16 on CUDA, float32 on the CPU (devices.resolve_precision)
    clips = iter(clip_stream(sampler, start * config.accumulate, config.steps * config.accumulate,
                             config.workers))
    bar = tqdm(range(start, config.steps), desc="train", disable=not (progress and main), initial=start,
               total=config.steps)
    running: dict[str, float] = {}
    started = time.perf_counter()
    for step in bar:
        for a in range(config.accumulate):
            clip = next(clips)
            with precision:
                terms = module(clip)
            (terms["total"] / config.accumulate).backward()
            for name, value in terms.items():
                running[name] = running.get(name, 0.0) + float(value.detach()) / config.accumulate
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        if done % config.log_every == 0 or done == config.steps:
            count = config.log_every if done % config.log_every == 0 else done % config.log_every
            values = {f"loss/{k}": v / count for k, v in running.items()}
            values["lr"] = scheduler.get_last_lr()[0]
            values["seconds"] = time.perf_counter() - started
            logger.log(done, values)
            bar.set_postfix(loss=f"{values['loss/total']:.3f}")
            running = {}
        if done % config.checkpoint_every == 0 or done == config.steps:
            _save(out, model, model_config, optimizer, scheduler, done, config, world, main)
    logger.close()
    final = out / "model.pt"
    if main:
        save_checkpoint(final, model, model_config, trained={GRASP_HEAD: config.steps > 0}, steps=config.steps)
    if world > 1:
        dist.barrier()
    return TrainOutcome(final, model)


class _Clips(Dataset):
    """Clip ``index`` of a sampler (a pure function of the index, so any worker may make any clip)."""

    def __init__(self, sampler: ClipSampler) -> None:
        self.sampler = sampler

    def __getitem__(self, index: int):
        return self.sampler.clip(index)


def clip_stream(sampler: ClipSampler, first: int, end: int, workers: int) -> Iterator:
    """Clips ``first`` .. ``end`` - 1 in order: made here, or by ``workers`` processes a few clips ahead (the
    same clips either way)."""
    if workers <= 0:
        return (sampler.clip(index) for index in range(first, end))
    # its own generator: the loader's worker seeds must not come from (and shift) the model's torch RNG stream
    return DataLoader(_Clips(sampler), batch_size=None, sampler=range(first, end), num_workers=workers,
                      prefetch_factor=2, generator=torch.Generator().manual_seed(first))


def _is_spgrasp_checkpoint(path: str) -> bool:
    try:
        read_checkpoint(path)
    except ValueError:
        return False
    return True


def _save(out: Path, model, model_config: ModelConfig, optimizer, scheduler, step: int, config: TrainConfig,
          world: int, main: bool) -> None:
    states = [torch.get_rng_state()]
    if world > 1:  # every rank's RNG state, so each resumes its own stream
        gathered = [None] * world
        dist.all_gather_object(gathered, states[0])
        states = gathered
    if not main:
        return
    extra = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step, "rng": states,
             "train_config": dataclasses.asdict(config)}
    path = out / "checkpoints" / f"step_{step:06d}.pt"
    save_checkpoint(path, model, model_config, trained={GRASP_HEAD: step > 0}, **extra)
    save_checkpoint(out / "checkpoints" / "last.pt", model, model_config, trained={GRASP_HEAD: step > 0}, **extra)
