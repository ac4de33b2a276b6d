"""The text detector from the tracker node's parameters (``text_model``, ``text_device``, ``text_box_threshold``,
``text_threshold``, ``text_max_objects``; config/tracker.yaml), and its run-time tuning."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import torch

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
