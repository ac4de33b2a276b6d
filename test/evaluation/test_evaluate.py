"""spgrasp eval: prompts, counting and outputs on synthetic sequences and dataset files with a real (untrained)
tracker."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from dataset_fixtures import truncate_file, write_cornell, write_png, write_rgb, write_text

from spgrasp_ros.data.readers.cornell import read_cornell
from spgrasp_ros.data.recorded import read_recorded
from spgrasp_ros.data.synthetic import SynthConfig, generate_clip, write_synthetic
from spgrasp_ros.data.types import DatasetError
from spgrasp_ros.evaluation.evaluate import evaluate, evaluate_sequence, parse_data_spec
from spgrasp_ros.evaluation.plots import plot_results
from spgrasp_ros.evaluation.tally import Tally
from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import save_checkpoint
from spgrasp_ros.model.config import load_model_config
from spgrasp_ros.tracker.build import build_tracker


def _tracker():
    config = load_model_config("test_tiny").replace(image_size=64)
    torch.manual_seed(0)
    return build_tracker(build_model(config), config), config


def test_counts_follow_the_ground_truth():
    tracker, _ = _tracker()
    sequence = generate_clip(SynthConfig(size=(64, 48), frames=10, occlusion_probability=1.0), 5).to_sequence()
    prompted = {o.object_id for o in sequence.frames[0].objects if o.visible}
    expected_scored = sum(1 for f in sequence.frames for o in f.objects
                          if o.object_id in prompted and o.visible and len(o.grasps))
    expected_hidden = sum(1 for f in sequence.frames for o in f.objects if o.object_id in prompted and not o.visible)
    tally = Tally()
    evaluate_sequence(tracker, sequence, 0, tally)
    assert tally.scored == expected_scored and tally.hidden == expected_hidden > 0
    assert len(tally.latencies_ms) == 10 and 0 <= tally.correct <= tally.scored
    assert sum(v[0] for v in tally.since_occlusion.values()) == tally.scored
    summary = tally.summary()
    assert 0.0 <= summary["grasp_accuracy"] <= 1.0 and summary["mask_iou"] is not None


def test_reprompting_keeps_one_tracker_object_per_ground_truth_object():
    tracker, _ = _tracker()
    sequence = generate_clip(SynthConfig(size=(64, 48), frames=7, max_objects=3, min_objects=3), 2).to_sequence()
    results = evaluate(tracker, {"s": [sequence]}, intervals=(0, 2), progress=False)
    assert set(results["s"]) == {"interval_0", "interval_2"}
    assert len(tracker.object_ids) <= 3 and min(tracker.object_ids) > 3, "objects were re-prompted with new ids"


def test_data_specs():
    name, sequences = parse_data_spec("synthetic:seed=7,sequences=2,frames=5,size=64x48")
    assert name == "synthetic@7" and len(sequences) == 2 and len(sequences[0].frames) == 5
    assert sequences[0].frames[0].load_image().shape == (48, 64, 3)
    with pytest.raises(ValueError, match="unknown synthetic options"):
        parse_data_spec("synthetic:colour=red")
    with pytest.raises(ValueError, match="expected <kind>:<path>"):
        parse_data_spec("cornell")


def test_eval_cli_writes_json_and_plots(tmp_path):
    tracker, config = _tracker()
    save_checkpoint(tmp_path / "model.pt", tracker.model, config, trained={"grasp_head": True})
    run = subprocess.run([sys.executable, "-m", "spgrasp_ros", "eval", "--checkpoint", str(tmp_path / "model.pt"),
                          "--data", "synthetic:seed=100,sequences=2,frames=6,size=64x48", "--intervals", "0,3",
                          "--device", "cpu", "--threads", "1", "--readout-window", "3",
                          "--out", str(tmp_path / "eval")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "eval" / "eval.json").read_text())
    assert report["meta"]["threads"] == 1 and report["meta"]["tracker"]["decode"]["readout_window"] == 3
    assert set(report["results"]["synthetic@100"]) == {"interval_0", "interval_3"}
    for name in ("accuracy_vs_prompt_interval.png", "accuracy_vs_frames_since_occlusion.png", "tracking_figures.png"):
        assert (tmp_path / "eval" / name).stat().st_size > 5000
    assert "grasp accuracy" in run.stdout and "identity switches/1000" in run.stdout
    cell = report["results"]["synthetic@100"]["interval_0"]
    assert {"reacquisition", "identity", "best_grasp", "false_presence_rate"} <= set(cell)


def test_a_frame_that_breaks_during_the_run_is_recorded_and_the_run_goes_on(tmp_path):
    tracker, _ = _tracker()
    images = write_cornell(tmp_path / "cornell", 3)
    cornell, _ = read_cornell(tmp_path / "cornell")
    folders = write_synthetic(tmp_path / "rec", 1, SynthConfig(size=(64, 48), frames=5), seed=3, progress=False)
    videos, _ = read_recorded(tmp_path / "rec")
    truncate_file(images[1])  # broken after the dataset was read
    truncate_file(folders[0] / "rgb" / "000002.png")
    results = evaluate(tracker, {"cornell": cornell, "video": videos}, intervals=(0,), progress=False)
    cell = results["cornell"]["single_image"]
    assert cell["scored"] == 2 and len(cell["unreadable_frames"]) == 1
    assert cell["unreadable_frames"][0]["frame"] == "pcd0002"
    assert cell["unreadable_frames"][0]["reason"] == f"{images[1]}: not a readable image"
    video = results["video"]["interval_0"]
    assert [u["frame"] for u in video["unreadable_frames"]] == [f"{folders[0].name}/000002"]
    assert video["scored"] > 0


def test_single_image_datasets_are_evaluated_once(tmp_path):
    tracker, _ = _tracker()
    write_cornell(tmp_path / "cornell", 3)
    cornell, _ = read_cornell(tmp_path / "cornell")
    video = generate_clip(SynthConfig(size=(64, 48), frames=6, occlusion_probability=1.0), 5).to_sequence()
    results = evaluate(tracker, {"cornell": cornell}, intervals=(0, 8, 1), progress=False)
    assert list(results["cornell"]) == ["single_image"] and results["cornell"]["single_image"]["scored"] == 3
    assert results["cornell"]["single_image"]["mask_iou"] is None  # Cornell has no masks

    paths = plot_results(results, tmp_path)
    assert [p.name for p in paths] == ["accuracy_vs_prompt_interval.png"]  # no empty video plots
    results |= evaluate(tracker, {"video": [video]}, intervals=(0, 2), progress=False)
    assert list(results["video"]) == ["interval_0", "interval_2"]
    names = [p.name for p in plot_results(results, tmp_path)]
    assert names[0] == "accuracy_vs_prompt_interval.png" and "tracking_figures.png" in names


def test_reader_options_and_the_home_folder_in_data_specs(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / "jacquard" / "obj"
    for scene in range(2):  # released Jacquard files, without the mask PNGs
        write_rgb(folder / f"{scene}_obj_RGB.png", seed=scene)
        write_text(folder / f"{scene}_obj_grasps.txt", "20;15;30;10;4\n10;7;-30;8;3\n")
    name, sequences = parse_data_spec("jacquard:~/jacquard:masks=false,depth=none")
    assert name == "jacquard" and len(sequences) == 2
    assert sequences[0].frames[0].load_masks() is None and sequences[0].frames[0].load_depth() is None
    with pytest.raises(DatasetError, match=r"read 0 of 2 images.*no 0_obj_mask.png"):  # masks required
        parse_data_spec("jacquard:~/jacquard")
    with pytest.raises(ValueError, match=r"unknown jacquard options \['mask'\].*known: masks, depth, depth_scale"):
        parse_data_spec("jacquard:~/jacquard:mask=false")
    write_png(folder / "0_obj_mask.png", np.full((30, 40), 255, np.uint8))
    write_png(folder / "1_obj_mask.png", np.full((30, 40), 255, np.uint8))
    _, sequences = parse_data_spec(f"jacquard:{tmp_path / 'jacquard'}:depth=stereo")
    assert sequences[0].frames[0].load_masks() is not None
