"""A ready-to-run tracking session: checkpoint resolved and loaded on a device, warmed up, tunable, releasable.

This is what the tracker node holds between configure and cleanup (and what ``spgrasp demo`` drives), kept
ROS-free so it is tested without a ROS graph. Settings are the tracker node's parameters (config/tracker.yaml).
"""

from __future__ import annotations

import dataclasses
import gc
import logging

import cv2
import numpy as np
import torch

from spgrasp_ros.grasps.lift import Intrinsics, lift_grasps
from spgrasp_ros.model.checkpoints import CheckpointError, load_checkpoint, read_checkpoint
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.weights import resolve_checkpoint
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.timing import StageTimer
from spgrasp_ros.tracker.streaming import GraspTracker, TrackerConfig, TrackerOutput

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available else cpu; otherwise the named device, checked to exist."""
    if name == "auto":
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


def tracker_config(settings: dict, base: TrackerConfig = TrackerConfig()) -> TrackerConfig:
    """The tracker's run-time settings from node parameters (missing keys keep ``base``'s values)."""
    decode = dataclasses.replace(
        base.decode,
        **{k: settings[k] for k in ("position_threshold", "mask_threshold", "top_k", "readout_window")
           if k in settings})
    return dataclasses.replace(base, decode=decode,
                               **{k: settings[k] for k in ("preprocess", "presence_threshold", "search_window",
                                                           "search_growth", "exclusive_masks") if k in settings})


class TrackerSession:
    """A GraspTracker plus what it was made from; ``step`` adds metric poses when depth is given."""

    def __init__(self, tracker: GraspTracker, checkpoint: str) -> None:
        self.tracker = tracker
        self.checkpoint = checkpoint

    def describe(self) -> str:
        """One line for logs."""
        config = self.tracker.model_config
        return (f"checkpoint {self.checkpoint} ({config.sam2_config}, {config.image_size} px, N_hist {config.n_hist}) "
                f"on {self.tracker.device}")

    def step(self, rgb: np.ndarray, prompt: Prompt | None = None,
             depth: tuple[np.ndarray, tuple[float, float, float, float]] | None = None) -> TrackerOutput:
        """One frame (HxWx3 uint8 RGB); ``depth`` = (HxW metres, (fx, fy, cx, cy)) registered to it, or None."""
        output = self.tracker.step(rgb, prompt)
        if self.tracker.timer is not None:
            output.result.extra["stages_ms"] = self.tracker.timer.frame_done()
        if depth is not None and output.result.grasps:
            depth_m, intrinsics = depth
            if depth_m.shape != rgb.shape[:2]:
                # registered depth at another resolution: nearest keeps edges honest
                depth_m = cv2.resize(depth_m, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
            masks = {state.id: mask for state, mask in zip(output.result.objects, output.masks)}
            grasps = lift_grasps(output.result.grasps, depth_m, Intrinsics(*intrinsics), masks=masks)
            output.result = dataclasses.replace(output.result, grasps=grasps)
        return output

    def tune(self, settings: dict) -> None:
        """Apply changed run-time settings (thresholds, top-k) from the next frame on."""
        self.tracker.config = tracker_config(settings, self.tracker.config)
        if "stage_timing" in settings:
            timing = settings["stage_timing"]
            self.tracker.timer = (self.tracker.timer or StageTimer(self.tracker.device)) if timing else None

    def warm_up(self, frames: int) -> None:
        """Run ``frames`` frames of a blank image with one box (first-call allocation), then forget them."""
        if frames <= 0:
            return
        size = self.tracker.model_config.image_size
        blank = np.full((size, size, 3), 127, np.uint8)
        prompt = Prompt.create(boxes=[[size * 0.25, size * 0.25, size * 0.75, size * 0.75]])
        for k in range(frames):
            self.tracker.step(blank, prompt if k == 0 else None)
        self.tracker.reset(restart_ids=True)

    def release(self) -> None:
        """Drop the model and its state; CUDA memory goes back to the device."""
        device = self.tracker.device
        self.tracker.reset()
        self.tracker.model = None
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()


def load_session(settings: dict, logger=log) -> TrackerSession:
    """Build a session from node parameters: resolve and check the checkpoint, load it, warm up.

    Raises FileNotFoundError / CheckpointError / ValueError with a message naming the problem.
    """
    device = resolve_device(settings.get("device", "auto"))
    path = resolve_checkpoint(settings.get("checkpoint", "demo"))
    if settings.get("model_config"):
        expected = load_model_config(settings["model_config"])
        found, _, _ = read_checkpoint(path)
        if found != expected:
            raise CheckpointError(f"{path}: the checkpoint was trained with a different model config than "
                                  f"{settings['model_config']!r} (checkpoint: {found.to_dict()})")
    model, model_config, _ = load_checkpoint(path, device)
    tracker = GraspTracker(model, model_config, tracker_config(settings), device)
    session = TrackerSession(tracker, str(path))
    session.warm_up(int(settings.get("warmup_frames", 0)))
    session.tune(settings)
    logger.info(f"loaded {session.describe()}")
    return session


def _text_config(settings: dict, base):
    return dataclasses.replace(base, box_threshold=settings.get("text_box_threshold", base.box_threshold),
                               text_threshold=settings.get("text_threshold", base.text_threshold),
                               max_objects=settings.get("text_max_objects", base.max_objects))


def load_text_detector(settings: dict, device: torch.device):
    """The Grounding DINO detector for text prompts from node parameters (``text_model`` etc.), warmed up; None
    when ``text_model`` is empty. Raises FileNotFoundError / ValueError naming a missing or bad model."""
    if not settings.get("text_model"):
        return None
    from spgrasp_ros.text import TextDetector, TextDetectorConfig

    config = _text_config(settings, TextDetectorConfig(model=settings["text_model"],
                                                       device=settings.get("text_device") or str(device)))
    detector = TextDetector.load(config)
    detector.warm_up()
    return detector


def tune_text_detector(detector, settings: dict) -> None:
    """Apply changed text thresholds / object count from the next prompt on."""
    detector.config = _text_config(settings, detector.config)
