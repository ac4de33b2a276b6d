"""The text detector from the tracker node's parameters (``text_model``, ``text_device``, ``text_box_threshold``,
``text_threshold``, ``text_max_objects``; config/tracker.yaml), its run-time tuning, and text prompts resolved
to boxes with it."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np
import torch

from spgrasp_ros.prompts import Prompt, PromptError
from spgrasp_ros.text.grounding_dino import TextDetector, TextDetectorConfig


def _with_settings(config: TextDetectorConfig, settings: Mapping[str, Any]) -> TextDetectorConfig:
    return dataclasses.replace(config, box_threshold=settings.get("text_box_threshold", config.box_threshold),
                               text_threshold=settings.get("text_threshold", config.text_threshold),
                               max_objects=settings.get("text_max_objects", config.max_objects))


def load_text_detector(settings: Mapping[str, Any], device: torch.device) -> TextDetector | None:
    """The Grounding DINO detector for text prompts, warmed up, on ``text_device`` (default: ``device``); None
    when ``text_model`` is empty. Raises FileNotFoundError / ValueError naming a missing or bad model."""
    if not settings.get("text_model"):
        return None
    config = _with_settings(TextDetectorConfig(model=settings["text_model"],
                                               device=settings.get("text_device") or str(device)), settings)
    detector = TextDetector.load(config)
    detector.warm_up()
    return detector


def tune_text_detector(detector: TextDetector, settings: Mapping[str, Any]) -> None:
    """Apply changed thresholds / object count from the next prompt on."""
    detector.config = _with_settings(detector.config, settings)


def resolve_text_prompt(detector: TextDetector | None, prompt: Prompt, rgb: np.ndarray | None) -> Prompt:
    """``prompt`` with its text replaced by the detector's boxes on ``rgb`` (HxWx3 RGB; None: the frame could
    not be read); PromptError saying why when that is impossible (no detector, no frame, a detector error)."""
    if detector is None:
        raise PromptError("text prompts need a Grounding DINO model: set the text_model parameter "
                          "(a folder or a cached Hugging Face id) and configure again")
    if rgb is None:
        raise PromptError("the newest frame cannot be read (unsupported encoding)")
    try:
        detections = detector.detect(rgb, prompt.text)
    except ValueError as error:
        raise PromptError(f"text prompt {prompt.text!r}: {error}") from error
    return prompt.resolve_text(detections)
