"""Model configuration: which sam2 variant, at which size, with how much memory. Saved inside checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from spgrasp_ros.model.spgrasp import MEMORY_FROM_OBJECT, MEMORY_FROM_POSITION

PRESET_PACKAGE = "spgrasp_ros.presets.model"


@dataclass(frozen=True)
class ModelConfig:
    """Everything that decides the model's architecture (and so its checkpoint layout)."""

    sam2_config: str = "configs/sam2.1/sam2.1_hiera_b+.yaml"  # a config of the sam2 package (or a path)
    image_size: int = 512  # side of the square model input [px] (SPGrasp: 512; SAM 2: 1024)
    n_hist: int = 6  # recent frames in the memory bank (SAM 2's num_maskmem - 1; the paper's N_hist);
    #                  0 = no memory: only the prompt frame is remembered (the ablation)
    max_obj_ptrs: int = 16  # object pointers of the prompt frame + up to this - 1 recent frames (SAM 2: 16)
    memory_source: str = MEMORY_FROM_OBJECT  # "object" (SAM 2, public SPGrasp code) or "position" (paper Eq. 3)
    grasp_refiner_channels: int = 0  # > 0: add the small convolutional grasp refiner (grasp_decoder.py)
    angle_refiner: bool = False  # a second refiner for the angle maps that sees high-resolution features too
    dense_prompt: bool = False  # also give boxes/clicks to the decoder as a drawn mask prompt (prompt_map.py)
    click_radius: float = 6.0  # [model px] radius of a click in that drawn prompt
    mask_prior: bool = False  # the last found mask as a dense prompt on frames without a prompt (spgrasp.py)
    overrides: tuple[str, ...] = field(default=())  # extra hydra overrides of the sam2 config, "key=value"
    #                                                 under `model.` (e.g. a tiny trunk for tests)

    def __post_init__(self) -> None:
        if self.image_size % 16 or self.image_size < 64:
            raise ValueError(f"image_size must be a multiple of 16 and >= 64, got {self.image_size}")
        if self.n_hist < 0:
            raise ValueError(f"n_hist must be >= 0, got {self.n_hist}")
        if self.max_obj_ptrs < 2:
            raise ValueError(f"max_obj_ptrs must be >= 2, got {self.max_obj_ptrs}")
        if self.angle_refiner and self.grasp_refiner_channels <= 0:
            raise ValueError("an angle refiner needs grasp_refiner_channels > 0 (it has the grasp refiner's width)")
        if self.memory_source not in (MEMORY_FROM_OBJECT, MEMORY_FROM_POSITION):
            raise ValueError(f"memory_source must be {MEMORY_FROM_OBJECT!r} or {MEMORY_FROM_POSITION!r}")
        object.__setattr__(self, "overrides", tuple(self.overrides))

    def to_dict(self) -> dict:
        """Plain dict (YAML/JSON/checkpoint)."""
        data = dataclasses.asdict(self)
        data["overrides"] = list(self.overrides)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Inverse of ``to_dict``; unknown keys are an error naming them."""
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown model config keys: {unknown}")
        return cls(**data)

    def replace(self, **changes) -> "ModelConfig":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def preset_names() -> list[str]:
    """Names of the bundled model presets (``spgrasp_ros/presets/model/*.yaml``)."""
    return sorted(p.name[:-5] for p in resources.files(PRESET_PACKAGE).iterdir() if p.name.endswith(".yaml"))


def load_model_config(name_or_path: str) -> ModelConfig:
    """A bundled preset by name (e.g. ``base_plus``) or a YAML file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise FileNotFoundError(f"model config {path} does not exist")
        text = path.read_text()
    else:
        preset = resources.files(PRESET_PACKAGE) / f"{name_or_path}.yaml"
        if not preset.is_file():
            raise ValueError(f"unknown model preset {name_or_path!r}; presets: {', '.join(preset_names())}")
        text = preset.read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f"model config {name_or_path} must be a mapping")
    return ModelConfig.from_dict(data)
