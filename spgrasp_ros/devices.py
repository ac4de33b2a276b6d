"""Where the arithmetic runs and in which precision: the one rule for ``auto`` devices and precisions.

``auto`` device: the first CUDA device when there is one, else the CPU. ``auto`` precision: bf16 autocast on
CUDA (as sam2's video predictor runs), float32 on the CPU. The tracker, the text detector, training, eval and
the bench all resolve their settings here; a tracker loaded from a checkpoint with ``auto`` on a CPU measures
instead (``tracker.precision_probe``: bf16 only where it is clearly faster with the same masks).
"""

from __future__ import annotations

import torch

PRECISIONS = ("auto", "float32", "bfloat16")


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` -> cuda when available else cpu; otherwise the named device, checked to exist (ValueError)."""
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"unknown device {name!r}: {error}") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available (torch {torch.__version__})")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {name!r} (use auto, cpu, cuda or cuda:N)")
    return device


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``auto`` -> ``bfloat16`` on CUDA, ``float32`` elsewhere; ``float32`` / ``bfloat16`` as given."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return "bfloat16" if torch.device(device).type == "cuda" else "float32"
    return precision


def autocast(device: torch.device | str, precision: str = "auto") -> torch.autocast:
    """The autocast context of ``precision`` on ``device`` (disabled for float32)."""
    device = torch.device(device)
    if resolve_precision(precision, device) == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (CUDA); a no-op on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
