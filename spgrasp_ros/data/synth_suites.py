"""Named synthetic test suites (``spgrasp_ros/presets/synth/suites.yaml``): a scene config, its own range of
held-out seeds and a default sequence count per hard case (twins, long occlusions, re-entry, fast motion,
camera motion, clutter, backgrounds) beside ``standard``, the training distribution."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.data.types import Sequence

SUITES_PACKAGE = "spgrasp_ros.presets.synth"
SUITES_FILE = "suites.yaml"
_KEYS = {"description", "config", "seed", "sequences"}


@dataclass(frozen=True)
class SynthSuite:
    """One suite: scenes of ``config`` on seeds ``seed`` .. ``seed + sequences - 1`` by default."""

    name: str
    description: str
    config: SynthConfig
    seed: int  # first held-out seed
    sequences: int = 20  # default number of sequences


@lru_cache(maxsize=1)
def _suites() -> dict[str, SynthSuite]:
    data = yaml.safe_load((resources.files(SUITES_PACKAGE) / SUITES_FILE).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{SUITES_FILE} must map suite names to suites")
    fields = {f.name for f in dataclasses.fields(SynthConfig)}
    suites = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - _KEYS or "seed" not in entry:
            raise ValueError(f"suite {name!r} in {SUITES_FILE}: expected keys {sorted(_KEYS)} (seed required)")
        values = entry.get("config") or {}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ValueError(f"suite {name!r} in {SUITES_FILE}: unknown SynthConfig fields {unknown}")
        config = SynthConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        suites[name] = SynthSuite(name, str(entry.get("description", "")), config, int(entry["seed"]),
                                  int(entry.get("sequences", 20)))
    return suites


def suite_names() -> list[str]:
    """The suites' names in the file's order (``standard`` first)."""
    return list(_suites())


def load_suite(name: str) -> SynthSuite:
    """A suite by name; an unknown name is a ValueError naming the known ones."""
    suites = _suites()
    if name not in suites:
        raise ValueError(f"unknown synthetic suite {name!r}; suites: {', '.join(suites)}")
    return suites[name]


def suite_sequences(name: str, sequences: int | None = None, seed: int | None = None) -> list[Sequence]:
    """The suite's sequences (default: its count, from its first held-out seed), generated in memory."""
    suite = load_suite(name)
    count = suite.sequences if sequences is None else sequences
    first = suite.seed if seed is None else seed
    return [generate_clip(suite.config, first + i, f"{suite.name}_{first + i:06d}").to_sequence()
            for i in range(count)]
