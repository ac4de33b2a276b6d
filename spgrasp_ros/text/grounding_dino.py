"""Grounding DINO through transformers: words ("red mug.") -> boxes in input-image pixels (ROS-free).

``TextDetector.load(config)`` reads a local folder or a Hugging Face model id from the local cache (offline
by default); ``detect(rgb, text)`` returns at most ``max_objects`` boxes, best first, ready for box prompts.

- Query format: Grounding DINO expects lower-case phrases, each ending with "." ("red mug. blue cup.");
  ``normalise_query`` makes any user text look like that.
- Boxes and scores come from the processor's ``post_process_grounded_object_detection``; a box's score is its
  best token probability, compared with ``box_threshold``. Its label is the query phrase holding its strongest
  token (transformers' own ``text_labels`` can run across phrases, e.g. "red mug blue" or "... [SEP]"); a box
  whose strongest phrase token does not exceed ``text_threshold`` is dropped.
- Boxes are clipped to the image; boxes under one pixel wide or high are dropped; overlapping boxes (IoU above
  ``nms_iou``) keep the better one, so one object is not tracked twice.
- Without torchvision, transformers picks the PIL image processor (``GroundingDinoImageProcessorPil``); with
  it, the torchvision one. Both take the same parameters from the folder's processor config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from spgrasp_ros.devices import resolve_device

DEFAULT_MODEL = "IDEA-Research/grounding-dino-tiny"
MIN_BOX_SIZE = 1.0  # px: narrower or lower boxes (after clipping) are degenerate and dropped
HOW_TO_GET = (
    "On a machine with network access run `huggingface-cli download {model}` (or `hf download {model}`), "
    "then copy its Hugging Face cache (~/.cache/huggingface/hub) to this machine, or pass the downloaded "
    "folder (the one holding config.json and model.safetensors) as the model.")


@dataclass(frozen=True)
class TextDetectorConfig:
    """How to load and run the detector; ``TextDetector.load`` validates it."""

    model: str = DEFAULT_MODEL  # a local folder, or a Hugging Face model id looked up in the local cache
    box_threshold: float = 0.35  # keep boxes whose best token probability is above this (0..1)
    text_threshold: float = 0.25  # a kept box needs a token of its phrase above this (0..1)
    max_objects: int = 1  # keep the best N boxes (N >= 1)
    nms_iou: float = 0.7  # a box overlapping a better one by more than this IoU is dropped; 1.0 keeps all
    local_files_only: bool = True  # offline: never download (False lets transformers fetch a missing model)
    device: str = "auto"  # auto (cuda when available, else cpu), cpu, cuda or cuda:N
    cache_dir: str | None = None  # Hugging Face cache to search (default: HF_HUB_CACHE, ~/.cache/huggingface)

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        if not str(self.model).strip():
            raise ValueError(f"model is empty: give a folder or a Hugging Face model id ({DEFAULT_MODEL})")
        for name in ("box_threshold", "text_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be within 0..1, got {value!r}")
        count = self.max_objects
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"max_objects must be an integer >= 1, got {self.max_objects!r}")
        if not (isinstance(self.nms_iou, (int, float)) and 0.0 < self.nms_iou <= 1.0):
            raise ValueError(f"nms_iou must be within (0, 1], got {self.nms_iou!r}")


class Detection(NamedTuple):
    """One detected object: box (x0, y0, x1, y1) in input-image pixels, the query phrase, the box score.
    A tuple, so ``Prompt.resolve_text`` takes ``detect``'s list as it is."""

    box: tuple[float, float, float, float]
    label: str
    score: float


def normalise_query(text: str) -> str:
    """Grounding DINO's query format: lower-case phrases each ending with "." ("Red Mug, blue cup" stays one
    phrase; "Red mug. Blue cup" -> "red mug. blue cup."). Raises ValueError when no phrase is left."""
    return " ".join(f"{phrase}." for phrase in _phrases(text))


def _phrases(text: str) -> list[str]:
    if not isinstance(text, str):
        raise ValueError(f"the text prompt must be a string, got {type(text).__name__}")
    phrases = [" ".join(part.split()) for part in text.lower().split(".")]
    phrases = [p for p in phrases if p]
    if not phrases:
        raise ValueError(f"the text prompt {text!r} names nothing: give words such as 'red mug'")
    return phrases


def _looks_like_path(model: str) -> bool:
    """A Hugging Face id is ``name`` or ``owner/name``; anything else is meant as a folder."""
    return (os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1 or "\\" in model
            or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", model))


def _resolve_source(model: str) -> str:
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"Grounding DINO folder {model!r} has no config.json: it is not a "
                                    "downloaded model folder. " + HOW_TO_GET.format(model=DEFAULT_MODEL))
        return str(path)
    if path.exists():
        raise ValueError(f"Grounding DINO model {model!r} is a file: pass the folder holding config.json, "
                         "model.safetensors and the processor/tokenizer files")
    if _looks_like_path(model):
        raise FileNotFoundError(f"Grounding DINO folder {model!r} does not exist. "
                                + HOW_TO_GET.format(model=DEFAULT_MODEL))
    return model  # a Hugging Face model id


def _nms(boxes: np.ndarray, iou_max: float) -> list[int]:
    """Greedy non-maximum suppression over boxes [N, 4] already sorted best first; returns kept indices."""
    kept: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in range(len(boxes)):
        if kept and iou_max < 1.0:
            other = boxes[kept]
            w = np.clip(np.minimum(other[:, 2], boxes[i, 2]) - np.maximum(other[:, 0], boxes[i, 0]), 0, None)
            h = np.clip(np.minimum(other[:, 3], boxes[i, 3]) - np.maximum(other[:, 1], boxes[i, 1]), 0, None)
            inter = w * h
            iou = inter / (areas[kept] + areas[i] - inter)
            if np.any(iou > iou_max):
                continue
        kept.append(i)
    return kept


class TextDetector:
    """A loaded Grounding DINO; build it with ``TextDetector.load``. Not thread-safe: call from one thread."""

    def __init__(self, model: torch.nn.Module, processor: Any, config: TextDetectorConfig,
                 source: str) -> None:
        self.model = model
        self.processor = processor
        self.config = config
        self.source = source  # the folder or model id it was loaded from
        self.device = next(model.parameters()).device
        tokenizer = processor.tokenizer
        self._separator_id = tokenizer.convert_tokens_to_ids(".")
        specials = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
        self._special_ids = {i for i in specials if i is not None}
        self._max_text_len = int(getattr(model.config, "max_text_len", 256))

    @classmethod
    def load(cls, config: TextDetectorConfig = TextDetectorConfig()) -> "TextDetector":
        """Load processor and model (offline unless ``config.local_files_only`` is False) onto the device.

        Raises FileNotFoundError when the folder or the cached model id is missing (the message says how to
        get it), ValueError for a bad config, device or a folder that is not a usable Grounding DINO.
        """
        config.validate()
        device = resolve_device(config.device)
        source = _resolve_source(str(config.model).strip())
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor  # heavy: only when used

        where = f"folder {source!r}" if Path(source).is_dir() else f"model id {source!r}"
        kwargs = dict(local_files_only=config.local_files_only, cache_dir=config.cache_dir)
        try:
            processor = AutoProcessor.from_pretrained(source, **kwargs)
            model = AutoModelForZeroShotObjectDetection.from_pretrained(source, **kwargs)
        except OSError as error:  # transformers' "not found locally / cannot connect / file missing"
            if Path(source).is_dir():
                raise FileNotFoundError(f"Grounding DINO {where} is incomplete: {str(error).rstrip('.')}. "
                                        + HOW_TO_GET.format(model=DEFAULT_MODEL)) from error
            offline = " (offline: local_files_only=True)" if config.local_files_only else ""
            raise FileNotFoundError(f"Grounding DINO {where} is not in the local Hugging Face cache"
                                    f"{offline}. " + HOW_TO_GET.format(model=source)) from error
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"Grounding DINO {where} cannot be loaded: {error}") from error
        if not hasattr(processor, "post_process_grounded_object_detection"):
            raise ValueError(f"{where} holds a {type(processor).__name__}, not a Grounding DINO processor")
        model = model.eval().to(device)
        return cls(model, processor, config, source)

    def warm_up(self, height: int = 480, width: int = 640) -> None:
        """One detection on a blank image, so the first real prompt does not pay for lazy initialisation."""
        self.detect(np.zeros((height, width, 3), dtype=np.uint8), "object.")

    @torch.inference_mode()
    def detect(self, rgb: np.ndarray, text: str, max_objects: int | None = None) -> list[Detection]:
        """Boxes for the phrases of ``text`` in ``rgb`` ([H, W, 3] uint8 RGB), best first, at most
        ``max_objects`` (default: the config's).

        Returns an empty list when nothing passes the thresholds. Raises ValueError for a bad image or text.
        """
        image = np.asarray(rgb)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
            raise ValueError(f"expected an [H, W, 3] uint8 RGB image, got {image.dtype} {list(image.shape)}")
        height, width = image.shape[:2]
        phrases = _phrases(text)
        query = " ".join(f"{p}." for p in phrases)
        config = self.config

        inputs = self.processor(images=image, text=query, return_tensors="pt")
        input_ids = inputs["input_ids"]  # [1, T]
        if input_ids.shape[1] > self._max_text_len:
            raise ValueError(f"the text prompt is {input_ids.shape[1]} tokens long; the model reads at most "
                             f"{self._max_text_len}: use fewer or shorter phrases")
        dtype = next(self.model.parameters()).dtype
        inputs = {k: (v.to(self.device, dtype) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        outputs = self.model(**inputs)
        result = self.processor.post_process_grounded_object_detection(
            outputs, input_ids=inputs["input_ids"], threshold=config.box_threshold,
            text_threshold=config.text_threshold, target_sizes=[(height, width)])[0]

        probs = outputs.logits[0].float().sigmoid()  # [Q, max_text_len]
        kept = torch.nonzero(probs.max(dim=-1).values > config.box_threshold).flatten()  # its rows, in order
        scores = result["scores"].float().cpu().numpy()
        boxes = result["boxes"].float().cpu().numpy().reshape(-1, 4)
        if len(kept) != len(scores):  # transformers changed its selection rule: refuse rather than mislabel
            raise RuntimeError(f"post-processing kept {len(scores)} boxes, expected {len(kept)}")
        labels, grounded = self._labels(probs[kept].cpu(), input_ids[0].tolist(), phrases)

        detections: list[Detection] = []
        candidates: list[np.ndarray] = []
        for i in np.argsort(-scores, kind="stable"):
            if not grounded[i] > config.text_threshold or not np.all(np.isfinite(boxes[i])):
                continue
            x0, x1 = np.clip(boxes[i, [0, 2]], 0.0, width)
            y0, y1 = np.clip(boxes[i, [1, 3]], 0.0, height)
            if x1 - x0 < MIN_BOX_SIZE or y1 - y0 < MIN_BOX_SIZE:
                continue
            candidates.append(np.array([x0, y0, x1, y1]))
            box = (float(x0), float(y0), float(x1), float(y1))
            detections.append(Detection(box, labels[i], float(scores[i])))
        if not detections:
            return []
        keep = _nms(np.stack(candidates), config.nms_iou)
        return [detections[i] for i in keep[:config.max_objects if max_objects is None else max_objects]]

    def _labels(self, probs: torch.Tensor, ids: list[int],
                phrases: list[str]) -> tuple[list[str], list[float]]:
        """For each box (probs [K, max_text_len]): the phrase holding its strongest phrase token, and that
        token's probability."""
        phrase_of = np.full(len(ids), -1)
        segment = 0
        for position, token in enumerate(ids):
            if token == self._separator_id:
                segment += 1
            elif token not in self._special_ids:
                phrase_of[position] = segment
        positions = np.flatnonzero(phrase_of >= 0)
        positions = positions[positions < probs.shape[1]]
        if len(positions) == 0:
            return [""] * len(probs), [0.0] * len(probs)
        token_probs = probs[:, torch.as_tensor(positions)]  # [K, P]
        best_prob, best = token_probs.max(dim=-1)
        labels = []
        for b in best.tolist():
            segment = int(phrase_of[positions[b]])
            labels.append(phrases[segment] if segment < len(phrases)
                          else self.processor.tokenizer.decode([ids[positions[b]]]))
        return labels, best_prob.tolist()
