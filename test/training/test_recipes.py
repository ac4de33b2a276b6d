"""The fine-tuning recipes (spgrasp_ros/presets/train/<recipe>.yaml) end to end on the CPU: each reads tiny files
in its dataset's released layout with the recipe's own source options, clip, loss and schedule, trains two
steps of the tiny test model, and its checkpoint loads into the tracker and tracks a prompted object."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from dataset_fixtures import ALONG_X, DOWN_RIGHT_30, corner_lines, write_png, write_rgb, write_text

from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic
from spgrasp_ros.model.checkpoints import read_checkpoint
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.tracker.build import load_tracker
from spgrasp_ros.tracker.config import TrackerConfig
from spgrasp_ros.training.trainer import load_train_config, train

PRESETS = Path(__file__).resolve().parents[2] / "spgrasp_ros" / "presets" / "train"
RECIPES = ("graspnet_base_plus", "ocid_base_plus", "jacquard_base_plus", "recorded_tiny")
# What a CPU run changes: the tiny test model at 64 px (the recipe's n_hist kept), no SAM 2.1 weights (those
# fit the real model only), two steps of one clip, everything logged and saved.
CPU_RUN = ["model=test_tiny", "model_overrides.image_size=64", "init=null", "steps=2", "accumulate=1",
           "warmup_steps=0", "checkpoint_every=2", "log_every=1", "workers=0", "threads=2"]
LEFT_BOX = [0.0, 0.0, 14.0, 25.0]  # object 1 of the two-object fixtures: x < 14, y < 25 in a 40 x 30 image


def _two_objects() -> np.ndarray:
    """Object 1 left (x < 14), object 2 right (x >= 16), background between and below y = 25."""
    mask = np.zeros((30, 40), np.uint8)
    mask[:25, :14] = 1
    mask[:25, 16:] = 2
    return mask


def _graspnet(root: Path) -> Path:
    """scene_0000/kinect with its 256 views (rgb, uint16 depth, label, rect rows of dataset objects 0 and 1)."""
    folder = root / "scenes" / "scene_0000" / "kinect"
    folder.mkdir(parents=True)
    np.save(folder / "camK.npy", np.array([[631.5, 0.0, 20.0], [0.0, 631.2, 15.0], [0.0, 0.0, 1.0]]))
    # center_x, center_y, open_x, open_y, height, score, object_id (package id = dataset id + 1 = label value)
    rows = np.array([[7.0, 12.0, 7.0, 8.0, 4.0, 0.9, 0.0], [28.0, 12.0, 32.0, 12.0, 4.0, 0.8, 1.0]], np.float32)
    (folder / "rect").mkdir()
    for view in range(256):
        write_rgb(folder / "rgb" / f"{view:04d}.png", view)
        write_png(folder / "depth" / f"{view:04d}.png", np.full((30, 40), 600, np.uint16))
        write_png(folder / "label" / f"{view:04d}.png", _two_objects())
        np.save(folder / "rect" / f"{view:04d}.npy", rows)
    return root


def _ocid(root: Path) -> Path:
    """One sequence folder, two images: rgb/, depth/, Annotations/ (OCID's corner order), instance masks."""
    folder = root / "ARID20" / "table" / "top" / "seq01"
    ocid_order = [[corners[3], *corners[:3]] for corners in (ALONG_X, DOWN_RIGHT_30)]  # instance 1, instance 2
    for index, name in enumerate(("result_2018-08-20-10-00-01", "result_2018-08-20-10-00-02")):
        write_rgb(folder / "rgb" / f"{name}.png", index)
        write_png(folder / "depth" / f"{name}.png", np.full((30, 40), 800, np.uint16))
        write_text(folder / "Annotations" / f"{name}.txt", corner_lines(*ocid_order))
        write_png(folder / "seg_mask_instances_combi" / f"{name}.png", _two_objects())
        write_png(folder / "seg_mask_labeled_combi" / f"{name}.png", _two_objects() * 7)
    return root


def _jacquard(root: Path) -> Path:
    """One object folder of a Jacquard_Dataset_0 part, two scenes: RGB, grasps, mask (0/255)."""
    import cv2

    folder = root / "Jacquard_Dataset_0" / "1a1ec1cfe633adcdebbf11b1629fc16a"
    mask = np.zeros((30, 40), np.uint8)
    mask[10:20, 12:30] = 255
    for scene in range(2):
        stem = folder / f"{scene}_{folder.name}"
        write_rgb(Path(f"{stem}_RGB.png"), scene)
        write_text(Path(f"{stem}_grasps.txt"), "20;15;30;10;4\n20;15;30;10;6\n")
        write_png(Path(f"{stem}_mask.png"), mask)
        assert cv2.imwrite(f"{stem}_perfect_depth.tiff", np.full((30, 40), 0.7, np.float32))
    return root


def _recorded(root: Path) -> Path:
    """Two labelled sequences in the recorded-sequence format (what the ZED node records, with labels added)."""
    write_synthetic(root, 2, SynthConfig(size=(64, 48), frames=6), progress=False)
    return root


DATASETS = {"graspnet": _graspnet, "ocid": _ocid, "jacquard": _jacquard, "recorded": _recorded}


def _recipe(name: str) -> dict:
    return yaml.safe_load((PRESETS / f"{name}.yaml").read_text())


def _sources_at(recipe: dict, root: Path) -> str:
    """The recipe's own sources (kind, options, weight) with the fixture's root, as a ``sources=`` override."""
    sources = [{**source, "root": str(root)} for source in recipe["sources"]]
    return "sources=" + yaml.safe_dump(sources, default_flow_style=True, width=10**6).strip()


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trains_on_its_datasets_layout_and_the_checkpoint_tracks(tmp_path, name):
    recipe = _recipe(name)
    kind = recipe["sources"][0]["kind"]
    root = DATASETS[kind](tmp_path / kind)
    config = load_train_config(PRESETS / f"{name}.yaml", CPU_RUN + [_sources_at(recipe, root)])
    assert (config.clip.frames, config.lr, config.loss.position_weight) == (
        recipe["clip"]["frames"], recipe["lr"], recipe["loss"]["position_weight"]), "the recipe's settings kept"
    outcome = train(config, tmp_path / "run", progress=False)

    _, _, extra = read_checkpoint(outcome.model_path)
    assert extra["steps"] == 2 and (tmp_path / "run" / "checkpoints" / "last.pt").exists()
    assert extra["trained"] == {"grasp_head": True}
    tracker = load_tracker(str(outcome.model_path), "cpu", TrackerConfig(grasp_source="model"), precision="float32")
    assert tracker.grasp_source == "model"  # a fine-tuned head is used when asked for (auto would too)
    assert tracker.model_config.n_hist == recipe["model_overrides"]["n_hist"]
    frame = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    out = tracker.step(frame, Prompt.create(boxes=[LEFT_BOX]))
    assert [state.id for state in out.result.objects] == [1]
    assert out.masks.shape == (1, 30, 40)
    for _ in range(2):  # frames without a prompt: tracked from memory
        out = tracker.step(frame)
    assert len(out.result.objects) == 1
    assert all(grasp.source == "model" for grasp in out.result.grasps)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_starts_from_the_official_sam21_weights_of_its_model(name):
    """Each recipe names the official checkpoint of its backbone, and every key is one the trainer knows."""
    recipe = _recipe(name)
    config = load_train_config(PRESETS / f"{name}.yaml")
    variant = {"base_plus": "base_plus", "tiny": "tiny"}[recipe["model"]]
    assert config.init == f"checkpoints/sam2.1_hiera_{variant}.pt"
    assert config.model_config().image_size == 512 and config.model_config().n_hist == 8
    header = (PRESETS / f"{name}.yaml").read_text().split("\nmodel:")[0]
    for needed in ("spgrasp train --config", "torchrun", "ESTIMATES", "Memory", "dl.fbaipublicfiles.com"):
        assert needed in header, f"{name}.yaml's header lacks {needed!r}"
