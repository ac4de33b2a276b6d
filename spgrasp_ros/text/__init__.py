"""Text prompts: open-vocabulary boxes from words ("red mug.") with Grounding DINO (ROS-free)."""

from spgrasp_ros.text.grounding_dino import DEFAULT_MODEL, Detection, TextDetector, TextDetectorConfig, normalise_query

__all__ = ["DEFAULT_MODEL", "Detection", "TextDetector", "TextDetectorConfig", "normalise_query"]
