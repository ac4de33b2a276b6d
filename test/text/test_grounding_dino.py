"""Text prompts: query format, loading (folder, offline cache, missing), and boxes in input pixels.

The model is a tiny random Grounding DINO built by ``text_fixtures`` (no download); its scores mean nothing,
so the checks are about the contract: coordinates, ordering, limits, thresholds, labels, errors.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from text_fixtures import make_hf_cache, make_tiny_grounding_dino

from spgrasp_ros.prompts import Prompt
from spgrasp_ros.text import DEFAULT_MODEL, Detection, TextDetector, TextDetectorConfig, normalise_query

NUM_QUERIES = 12
HEIGHT, WIDTH = 60, 200  # non-square: x and y scale differently


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return make_tiny_grounding_dino(tmp_path_factory.mktemp("gdino") / "tiny", num_queries=NUM_QUERIES)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def load(folder: Path, **overrides) -> TextDetector:
    return TextDetector.load(TextDetectorConfig(model=str(folder), device="cpu", **overrides))


def expected_boxes(detector: TextDetector, image: np.ndarray, query: str) -> tuple[np.ndarray, np.ndarray]:
    """All queries' boxes worked out here from the raw model output: (cx, cy, w, h) relative -> xyxy pixels of
    the input image; and their scores (best token probability). Unsorted, unclipped."""
    inputs = detector.processor(images=image, text=query, return_tensors="pt")
    with torch.inference_mode():
        out = detector.model(**inputs)
    cx, cy, w, h = out.pred_boxes[0].unbind(-1)
    height, width = image.shape[:2]
    boxes = torch.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width,
                         (cy + h / 2) * height], dim=-1)
    return boxes.numpy(), out.logits[0].sigmoid().max(dim=-1).values.numpy()


# --- query format -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, query", [
    ("red mug", "red mug."),
    ("Red Mug.", "red mug."),
    ("  RED   mug .  blue cup ", "red mug. blue cup."),
    ("red mug..blue cup...", "red mug. blue cup."),
    ("red mug. \n blue\tcup.", "red mug. blue cup."),
])
def test_normalise_query(text, query):
    assert normalise_query(text) == query


@pytest.mark.parametrize("text", ["", "   ", ".", " . .. ", "\n"])
def test_normalise_query_rejects_empty(text):
    with pytest.raises(ValueError, match="names nothing"):
        normalise_query(text)


def test_config_defaults_and_validation():
    config = TextDetectorConfig()
    assert (config.model, config.box_threshold, config.text_threshold, config.max_objects) == (
        DEFAULT_MODEL, 0.35, 0.25, 1)
    assert config.local_files_only is True and DEFAULT_MODEL == "IDEA-Research/grounding-dino-tiny"
    for bad, match in [(dict(box_threshold=1.5), "box_threshold"),
                       (dict(text_threshold=-0.1), "text_threshold"), (dict(max_objects=0), "max_objects"),
                       (dict(max_objects=1.5), "max_objects"),
                       (dict(nms_iou=0.0), "nms_iou"), (dict(model=" "), "model is empty")]:
        with pytest.raises(ValueError, match=match):
            TextDetector.load(TextDetectorConfig(**bad))


# --- loading ------------------------------------------------------------------------------------------------

def test_load_from_folder(tiny_folder):
    detector = load(tiny_folder)
    assert detector.source == str(tiny_folder)
    assert detector.device == torch.device("cpu") and not detector.model.training
    assert type(detector.processor).__name__ == "GroundingDinoProcessor"
    detector.warm_up(height=40, width=50)


def test_load_hub_layout_by_model_id_from_cache_offline(tmp_path):
    """The real download's layout (preprocessor_config.json), found by model id in a Hugging Face cache."""
    folder = make_tiny_grounding_dino(tmp_path / "hub", num_queries=NUM_QUERIES, hub_layout=True)
    make_hf_cache(tmp_path / "cache", DEFAULT_MODEL, folder)
    detector = TextDetector.load(TextDetectorConfig(cache_dir=str(tmp_path / "cache"), device="cpu",
                                                    box_threshold=0.0, text_threshold=0.0))
    assert detector.source == DEFAULT_MODEL
    assert len(detector.detect(np.zeros((30, 40, 3), np.uint8), "red mug")) == 1


def test_missing_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(FileNotFoundError, match="no_such_model.*does not exist.*huggingface-cli download"):
        load(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty.*no config.json"):
        load(tmp_path / "empty")


def test_incomplete_folder_is_a_clear_error(tiny_folder, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    for path in tiny_folder.iterdir():
        if path.suffix != ".safetensors":
            (partial / path.name).write_bytes(path.read_bytes())
    with pytest.raises(FileNotFoundError, match="partial.*incomplete.*huggingface-cli download"):
        load(partial)


def test_model_id_missing_from_cache_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match="'IDEA-Research/grounding-dino-base' is not in the local Hugging Face cache.*"
                             "huggingface-cli download IDEA-Research/grounding-dino-base"):
        TextDetector.load(TextDetectorConfig(model="IDEA-Research/grounding-dino-base",
                                             cache_dir=str(tmp_path / "empty_cache"), device="cpu"))


# --- detection ----------------------------------------------------------------------------------------------

def test_boxes_are_in_input_pixels(tiny_folder, image):
    """Every query's box, scaled by the input's own width and height, sorted by score: nothing else done."""
    detector = load(tiny_folder, box_threshold=0.0, text_threshold=0.0, max_objects=NUM_QUERIES, nms_iou=1.0)
    detections = detector.detect(image, "red mug. blue cup.")
    boxes, scores = expected_boxes(detector, image, "red mug. blue cup.")
    order = np.argsort(-scores, kind="stable")
    clipped = np.clip(boxes[order], 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])
    usable = (clipped[:, 2] - clipped[:, 0] >= 1) & (clipped[:, 3] - clipped[:, 1] >= 1)
    assert len(detections) == usable.sum() >= 3
    np.testing.assert_allclose([d.box for d in detections], clipped[usable], atol=1e-3)
    np.testing.assert_allclose([d.score for d in detections], scores[order][usable], rtol=1e-5)
    for d in detections:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 < x1 <= WIDTH and 0 <= y0 < y1 <= HEIGHT
        assert isinstance(d, Detection) and d.label in ("red mug", "blue cup")


def test_best_first_and_max_objects(tiny_folder, image):
    every = load(tiny_folder, box_threshold=0.0, text_threshold=0.0, max_objects=NUM_QUERIES, nms_iou=1.0)
    all_detections = every.detect(image, "red mug")
    scores = [d.score for d in all_detections]
    assert scores == sorted(scores, reverse=True) and len(all_detections) >= 3
    assert {d.label for d in all_detections} == {"red mug"}
    for n in (1, 2, 3):
        top = load(tiny_folder, box_threshold=0.0, text_threshold=0.0, max_objects=n, nms_iou=1.0)
        assert top.detect(image, "red mug") == all_detections[:n]


def test_overlapping_boxes_keep_the_better_one(tiny_folder, image):
    detector = load(tiny_folder, box_threshold=0.0, text_threshold=0.0, max_objects=NUM_QUERIES, nms_iou=0.01)
    detections = detector.detect(image, "red mug")
    everything = load(tiny_folder, box_threshold=0.0, text_threshold=0.0, max_objects=NUM_QUERIES,
                      nms_iou=1.0)
    assert len(detections) < len(everything.detect(image, "red mug"))  # the random boxes do overlap
    assert detections[0] == everything.detect(image, "red mug")[0]

    def area(box):
        return (box[2] - box[0]) * (box[3] - box[1])

    for i, a in enumerate(detections):
        for b in detections[i + 1:]:
            w = max(0.0, min(a.box[2], b.box[2]) - max(a.box[0], b.box[0]))
            h = max(0.0, min(a.box[3], b.box[3]) - max(a.box[1], b.box[1]))
            assert w * h / (area(a.box) + area(b.box) - w * h) <= 0.01


def test_detections_become_a_prompt(tiny_folder, image):
    """text -> detect -> Prompt.resolve_text -> a valid prompt with one text object per detection."""
    detector = load(tiny_folder, box_threshold=0.0, text_threshold=0.0, max_objects=2)
    detections = detector.detect(image, "red mug")
    box, label, score = detections[0]
    assert (box, label, score) == (detections[0].box, detections[0].label, detections[0].score)
    prompt = Prompt.create(text="red mug").resolve_text(detections)
    prompt.validate((WIDTH, HEIGHT))
    assert [(o.label, o.score) for o in prompt.detections] == [(d.label, d.score) for d in detections]
    np.testing.assert_allclose([o.box for o in prompt.detections], [d.box for d in detections], rtol=1e-6)


@pytest.mark.parametrize("thresholds", [dict(box_threshold=1.0, text_threshold=0.0),
                                        dict(box_threshold=0.0, text_threshold=1.0)])
def test_thresholds_of_one_detect_nothing(tiny_folder, image, thresholds):
    assert load(tiny_folder, max_objects=5, **thresholds).detect(image, "red mug. blue cup.") == []


def test_bad_input_is_rejected(tiny_folder, image):
    detector = load(tiny_folder)
    for bad in (image[..., 0], image.astype(np.float32), np.zeros((0, 5, 3), np.uint8), image[..., :2]):
        with pytest.raises(ValueError, match="uint8 RGB image"):
            detector.detect(bad, "red mug")
    with pytest.raises(ValueError, match="names nothing"):
        detector.detect(image, " . ")
    with pytest.raises(ValueError, match="tokens long"):  # the tiny model reads 32 tokens
        detector.detect(image, ". ".join(["red mug"] * 20))


def test_works_without_torchvision(tiny_folder):
    """In a fresh interpreter where importing torchvision fails (whether or not it is installed)."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torchvision"] = None  # `import torchvision` fails, find_spec says absent
        import numpy as np
        from spgrasp_ros.text import TextDetector, TextDetectorConfig
        detector = TextDetector.load(TextDetectorConfig(model={str(tiny_folder)!r}, device="cpu",
                                                        box_threshold=0.0, text_threshold=0.0))
        found = detector.detect(np.zeros((48, 64, 3), np.uint8), "blue cup")
        assert len(found) == 1 and found[0].label == "blue cup", found
        assert sys.modules["torchvision"] is None
        assert not any(m.startswith("torchvision.") for m in sys.modules)
        print("ok", type(detector.processor.image_processor).__name__)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ok GroundingDinoImageProcessorPil" in done.stdout
