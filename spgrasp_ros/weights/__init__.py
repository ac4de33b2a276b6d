"""Checkpoints shipped with the package, by name (``--checkpoint demo``)."""

from __future__ import annotations

from pathlib import Path

BUNDLED = {
    # ~1.4 M parameters, trained from scratch on synthetic scenes on 2 CPU cores:
    #   spgrasp train --config spgrasp_ros/presets/train/demo.yaml --out runs/demo
    "demo": Path(__file__).parent / "demo.pt",
}


def resolve_checkpoint(name_or_path: str) -> Path:
    """A bundled checkpoint's name or a file path -> the file (FileNotFoundError naming both choices)."""
    if name_or_path in BUNDLED:
        path = BUNDLED[name_or_path]
        if not path.is_file():
            raise FileNotFoundError(f"bundled checkpoint {name_or_path!r} is missing from this install ({path})")
        return path
    path = Path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {name_or_path} does not exist (bundled: {', '.join(BUNDLED)})")
    return path
