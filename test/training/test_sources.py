"""Training clips from the public-dataset readers (a Cornell folder: no masks) and from recorded sequences."""

from pathlib import Path

import pytest
from dataset_fixtures import ALONG_X, DOWN_RIGHT_30, corner_lines, write_rgb, write_text

from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic
from spgrasp_ros.data.types import DatasetError
from spgrasp_ros.training.clips import ClipConfig
from spgrasp_ros.training.sources import ClipSampler, SourceConfig
from spgrasp_ros.training.trainer import load_train_config, train


def _cornell(root: Path) -> None:
    for number, rectangles in ((100, [DOWN_RIGHT_30]), (101, [ALONG_X, DOWN_RIGHT_30])):
        write_rgb(root / "01" / f"pcd{number:04d}r.png", number)
        write_text(root / "01" / f"pcd{number:04d}cpos.txt", corner_lines(*rectangles))


def test_cornell_clips_prompt_from_rectangles_and_do_not_supervise_masks(tmp_path):
    _cornell(tmp_path / "cornell")
    sampler = ClipSampler([SourceConfig(kind="cornell", root=str(tmp_path / "cornell"))],
                          ClipConfig(frames=1, box_probability=1.0, box_jitter=0.0), 64, log=lambda *_: None)
    clip = sampler.clip(0)
    assert clip.images.shape == (1, 3, 64, 64) and clip.targets.shape == (1, 1, 7, 16, 16)
    assert not clip.mask_valid.any() and clip.visible.all()
    assert clip.targets[0, 0, 0].sum() > 0, "grasp centres drawn"
    assert clip.targets[0, 0, 4].sum() == 0, "no mask target without a mask"
    assert clip.labels[0, 0].tolist() == [2, 3], "a box prompt"
    xy = clip.points[0, 0].numpy()  # the box around the rectangles' corners, in model px (64 / 40, 64 / 30)
    assert xy[0, 0] < 20 * 64 / 40 < xy[1, 0] and xy[0, 1] < 15 * 64 / 30 < xy[1, 1]


def test_training_runs_on_recorded_sequences(tmp_path):
    write_synthetic(tmp_path / "recorded", 2, SynthConfig(size=(64, 48), frames=4), progress=False)
    config = load_train_config(None, ["model_overrides={image_size: 64}", "clip.frames=3", "steps=2",
                                      f"sources=[{{kind: recorded, root: {tmp_path / 'recorded'}}}]", "threads=2"])
    outcome = train(config, tmp_path / "run", progress=False)
    assert outcome.model_path.exists()


def test_sources_too_short_or_unknown_are_errors(tmp_path):
    write_synthetic(tmp_path / "recorded", 1, SynthConfig(size=(64, 48), frames=2), progress=False)
    with pytest.raises(DatasetError, match="no sequence has 3 frames"):
        ClipSampler([SourceConfig(kind="recorded", root=str(tmp_path / "recorded"))], ClipConfig(frames=3), 64,
                    log=lambda *_: None)
    with pytest.raises(ValueError, match="unknown data source kind 'kitti'"):
        ClipSampler([SourceConfig(kind="kitti", root="x")], ClipConfig(), 64)
    with pytest.raises(ValueError, match="shorter than clips"):
        ClipSampler([SourceConfig(synth={"frames": 4})], ClipConfig(frames=8), 64)
