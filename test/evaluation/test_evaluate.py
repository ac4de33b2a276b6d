"""spgrasp eval: prompts, counting and outputs on synthetic sequences with a real (untrained) tracker."""

import json
import subprocess
import sys

import pytest
import torch

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.evaluation.evaluate import evaluate, evaluate_sequence, parse_data_spec
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
    save_checkpoint(tmp_path / "model.pt", tracker.model, config)
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
