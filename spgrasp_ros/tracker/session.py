"""A ready-to-run tracking session: checkpoint resolved and loaded on a device, warmed up, tunable, releasable.

This is what the tracker node holds between configure and cleanup (and what ``spgrasp demo`` drives), kept
ROS-free so it is tested without a ROS graph. Settings are the tracker node's parameters by name
(config/tracker.yaml); any tracker setting not given keeps its ``TrackerConfig`` default.

With a text detector attached (``detector``), objects prompted by words and lost for long are looked for
again with their phrase before a frame is processed and re-seeded under their own id
(``tracker.text_reacquire``; settings ``text_reacquire_after``, ``text_reacquire_every``).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from typing import Any, Mapping

import cv2
import numpy as np
import torch

from spgrasp_ros.grasps.lift import Intrinsics, lift_grasps
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.timing import StageTimer
from spgrasp_ros.tracker.build import load_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.tracker.grasp_source import AUTO, GEOMETRY, resolve_grasp_source
from spgrasp_ros.tracker.readout import TrackerOutput
from spgrasp_ros.tracker.streaming import GraspTracker
from spgrasp_ros.tracker.text_reacquire import TextReacquisition
from spgrasp_ros.weights import resolve_checkpoint

log = logging.getLogger(__name__)


class TrackerSession:
    """A GraspTracker plus what it was made from; ``step`` adds metric poses when depth is given."""

    def __init__(self, tracker: GraspTracker, checkpoint: str) -> None:
        self.tracker = tracker
        self.checkpoint = checkpoint
        self.detector = None  # a text.grounding_dino.TextDetector (or anything with its detect): re-detection
        self.reacquire = TextReacquisition()
        self._last = None  # the FrameResult of the last processed frame

    def describe(self) -> str:
        """One line for logs."""
        config = self.tracker.model_config
        choice = self.tracker.precision_choice
        precision = choice.describe() if choice is not None else f"precision {self.tracker.precision}"
        return (f"checkpoint {self.checkpoint} ({config.sam2_config}, {config.image_size} px, N_hist {config.n_hist}) "
                f"on {self.tracker.device}, {precision}, grasps from the {self.tracker.grasp_source}")

    def step(self, rgb: np.ndarray, prompt: Prompt | None = None,
             depth: tuple[np.ndarray, tuple[float, float, float, float]] | None = None) -> TrackerOutput:
        """One frame (HxWx3 uint8 RGB); ``depth`` = (HxW metres, (fx, fy, cx, cy)) registered to it, or None.
        Without a prompt, lost text-prompted objects due for re-detection are looked for first (module notes)."""
        if prompt is None:
            prompt = self._reseed(rgb)
        depth_m = None
        if depth is not None:
            depth_m, intrinsics = depth
            if depth_m.shape != rgb.shape[:2]:
                # registered depth at another resolution: nearest keeps edges honest
                depth_m = cv2.resize(depth_m, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
        output = self.tracker.step(rgb, prompt, (depth_m, intrinsics[0]) if depth_m is not None else None)
        if prompt is not None:
            self.reacquire.remember(zip(output.created_ids, prompt.objects()))
            self.reacquire.retain(self.tracker.object_ids)
        self.reacquire.observe(output.result)
        self._last = output.result
        if self.tracker.timer is not None:
            output.result.extra["stages_ms"] = self.tracker.timer.frame_done()
        if depth_m is not None and output.result.grasps:
            masks = {state.id: mask for state, mask in zip(output.result.objects, output.masks)}
            grasps = lift_grasps(output.result.grasps, depth_m, Intrinsics(*intrinsics), masks=masks)
            output.result = dataclasses.replace(output.result, grasps=grasps)
        return output

    def grasp_source_note(self) -> str:
        """Where the grasps come from and why (for logs and /diagnostics)."""
        tracker = self.tracker
        return resolve_grasp_source(tracker.config.grasp_source, tracker.grasp_head_trained,
                                    tracker.checkpoint_name)[1]

    def apply_without_frame(self, prompt: Prompt) -> None:
        """Apply a request that creates nothing (clear, or removals only) at once: it needs no frame
        (PromptError for a bad one; nothing changes)."""
        self.tracker.apply_without_frame(prompt)
        self.reacquire.retain(self.tracker.object_ids)

    def _reseed(self, rgb: np.ndarray) -> Prompt | None:
        """A prompt re-seeding lost text-prompted objects found again on ``rgb``, or None."""
        if self.detector is None or self._last is None or self._last.frame_index != self.tracker.frame_index:
            return None
        detector = self.detector

        def detect(image, phrase, count):
            return detector.detect(image, phrase, max_objects=max(count, detector.config.max_objects))

        try:
            return self.reacquire.reseed_prompt(rgb, self._last, detect)
        except ValueError as error:  # a frame the detector cannot read: tracking goes on without it
            log.warning(f"text re-detection skipped: {error}")
            return None

    def tune(self, settings: Mapping[str, Any]) -> None:
        """Apply changed run-time settings (thresholds, top-k, windows, text re-detection, stage timing) from
        the next frame on."""
        self.tracker.config = self.tracker.config.with_settings(settings)
        config = self.reacquire.config
        self.reacquire.config = dataclasses.replace(
            config, after_frames=int(settings.get("text_reacquire_after", config.after_frames)),
            every_frames=int(settings.get("text_reacquire_every", config.every_frames)))
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
        self.reacquire.retain(())
        self._last = None

    def release(self) -> None:
        """Drop the model and its state; CUDA memory goes back to the device."""
        device = self.tracker.device
        self.tracker.reset()
        self.tracker.model = None
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()


def load_session(settings: Mapping[str, Any], logger: Any = log) -> TrackerSession:
    """Build a session from node parameters (``checkpoint``, ``device``, ``model_config``, ``warmup_frames``
    and the tracker settings): resolve and check the checkpoint, load it, warm up.

    Raises FileNotFoundError / CheckpointError / ValueError with a message naming the problem.
    """
    checkpoint = settings.get("checkpoint", "demo")
    tracker = load_tracker(checkpoint, settings.get("device", "auto"), TrackerConfig().with_settings(settings),
                           model_config=settings.get("model_config", ""))
    session = TrackerSession(tracker, str(resolve_checkpoint(checkpoint)))
    session.warm_up(int(settings.get("warmup_frames", 0)))
    session.tune(settings)
    logger.info(f"loaded {session.describe()}")
    if tracker.config.grasp_source == AUTO and tracker.grasp_source == GEOMETRY:
        logger.warning(session.grasp_source_note())  # an official SAM 2 checkpoint, say: no trained grasp head
    return session
