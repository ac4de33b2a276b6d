"""Where training clips come from: synthetic scenes made on the fly, recorded sequences, public datasets.

``ClipSampler.clip(index)`` is a pure function of (seed, rank, index): runs are reproducible and a resumed
run sees exactly the clips it would have seen without the interruption.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from spgrasp_ros.data.recorded import read_recorded
from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.data.types import DatasetError, ReadReport, Sequence
from spgrasp_ros.training.clips import Clip, ClipConfig, make_clip

READERS = ("recorded", "cornell", "jacquard", "ocid", "graspnet")  # kinds read from disk


@dataclass(frozen=True)
class SourceConfig:
    """One data source and its share of the training clips."""

    kind: str = "synthetic"  # "synthetic" or one of READERS
    root: str | None = None  # dataset folder (readers)
    weight: float = 1.0  # relative share of clips
    sequences: int = 1000  # synthetic: how many different scenes (seeds seed .. seed + sequences - 1)
    seed: int = 0  # synthetic: first scene seed
    synth: dict = field(default_factory=dict)  # synthetic: SynthConfig fields to change
    options: dict = field(default_factory=dict)  # readers: keyword options (e.g. camera for GraspNet)


def read_source(source: SourceConfig) -> tuple[list[Sequence], ReadReport]:
    """The sequences of a dataset source (not for synthetic sources, which are generated per clip)."""
    if source.kind not in READERS:
        raise ValueError(f"unknown data source kind {source.kind!r}: use synthetic or one of {READERS}")
    if not source.root:
        raise ValueError(f"data source {source.kind!r} needs a root folder")
    if source.kind == "recorded":
        return read_recorded(source.root)
    module = importlib.import_module(f"spgrasp_ros.data.readers.{source.kind}")
    return getattr(module, f"read_{source.kind}")(source.root, **source.options)


def synth_config(source: SourceConfig) -> SynthConfig:
    """The SynthConfig of a synthetic source."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in source.synth.items()}
    return dataclasses.replace(SynthConfig(), **values)


class ClipSampler:
    """Draws clips from weighted sources; datasets are read once, synthetic scenes generated as needed."""

    def __init__(self, sources: list[SourceConfig], clip: ClipConfig, model_size: int, seed: int = 0,
                 rank: int = 0, log: Callable[[str], None] = print) -> None:
        if not sources:
            raise ValueError("no data sources configured")
        self.sources, self.clip_config, self.model_size = sources, clip, model_size
        self.seed, self.rank = seed, rank
        weights = np.array([s.weight for s in sources], dtype=np.float64)
        if np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"source weights must be >= 0 with a positive sum, got {weights.tolist()}")
        self.weights = weights / weights.sum()
        self.sequences: list[list[Sequence] | None] = []
        for source in sources:
            if source.kind == "synthetic":
                if synth_config(source).frames < clip.frames:
                    raise ValueError(f"synthetic scenes of {synth_config(source).frames} frames are shorter than "
                                     f"clips of {clip.frames}")
                self.sequences.append(None)
                continue
            sequences, report = read_source(source)
            long_enough = [s for s in sequences if len(s.frames) >= clip.frames]
            log(f"{source.kind} {source.root}: {report.summary()}; {len(long_enough)} of {len(sequences)} sequences "
                f"have at least {clip.frames} frames")
            if not long_enough:
                raise DatasetError(f"{source.root}: no sequence has {clip.frames} frames (clip length)")
            self.sequences.append(long_enough)

    def clip(self, index: int, attempts: int = 50) -> Clip:
        """The ``index``-th clip of this rank."""
        rng = np.random.default_rng([self.seed, self.rank, index])
        for _ in range(attempts):
            which = int(rng.choice(len(self.sources), p=self.weights))
            source = self.sources[which]
            if source.kind == "synthetic":
                config = synth_config(source)
                scene = source.seed + int(rng.integers(source.sequences))
                sequence = generate_clip(config, scene).to_sequence()
            else:
                pool = self.sequences[which]
                sequence = pool[int(rng.integers(len(pool)))]
            start = int(rng.integers(0, len(sequence.frames) - self.clip_config.frames + 1))
            clip = make_clip(sequence, start, self.model_size, self.clip_config, rng)
            if clip is not None:
                return clip
        raise DatasetError(f"no promptable object found in {attempts} sampled clips (clip {index})")
