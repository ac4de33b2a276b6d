"""The spgrasp command line."""

import json
import subprocess
import sys

import torch
from dataset_fixtures import corrupt_file, write_cornell
from ros_harness import ros_missing_reason

from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import save_checkpoint
from spgrasp_ros.model.config import load_model_config


def _spgrasp(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "spgrasp_ros", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_info_reports_the_environment_as_json():
    out = subprocess.run([sys.executable, "-m", "spgrasp_ros", "info", "--json"], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    report = json.loads(out)
    assert report["spgrasp_ros"] == "0.1.0"
    assert report["packages"]["torch"] and report["packages"]["sam2"]
    assert report["ros"]["interfaces"] == (ros_missing_reason() is None)
    assert set(report["ros"]["optional"]) == {"launch_ros", "vision_msgs", "cv_bridge", "tf2_ros"}


def test_unknown_subcommand_fails_with_usage():
    result = subprocess.run([sys.executable, "-m", "spgrasp_ros", "fly"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid choice: 'fly'" in result.stderr


def test_eval_reads_the_data_before_the_model_and_reports_an_error_in_one_line(tmp_path):
    missing = tmp_path / "cornell"
    run = _spgrasp("eval", "--checkpoint", tmp_path / "no_model.pt", "--data", f"cornell:{missing}")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.splitlines() == [f"spgrasp eval: {missing}: no such folder"]  # the data, not the model
    run = _spgrasp("eval", "--checkpoint", tmp_path / "no_model.pt", "--data", "cornell:/x:colour=red")
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1 and "unknown cornell options" in run.stderr
    debug = _spgrasp("eval", "--debug", "--checkpoint", tmp_path / "no_model.pt", "--data", f"cornell:{missing}")
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().endswith(f"DatasetError: {missing}: no such folder")


def test_eval_on_single_images_with_a_broken_file(tmp_path):
    config = load_model_config("test_tiny").replace(image_size=64)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "model.pt", build_model(config), config, trained={"grasp_head": True})
    images = write_cornell(tmp_path / "cornell", 4)
    corrupt_file(images[2])
    out = tmp_path / "eval"
    run = _spgrasp("eval", "--checkpoint", tmp_path / "model.pt", "--data", f"cornell:{tmp_path / 'cornell'}",
                   "--device", "cpu", "--threads", "1", "--out", out)
    assert run.returncode == 0, run.stderr
    assert f"cornell {tmp_path / 'cornell'}: read 3 images, rejected 1; annotations: read 6, rejected 0" in run.stdout
    assert f"rejected {tmp_path / 'cornell' / 'pcd0003'}: {images[2]}: corrupt or truncated image" in run.stdout
    cells = json.loads((out / "eval.json").read_text())["results"]["cornell"]
    assert list(cells) == ["single_image"] and cells["single_image"]["scored"] == 3  # one pass, not three
    assert "mask IoU -," in run.stdout and "identity switches" not in run.stdout  # no masks, no video figures
    assert sorted(p.name for p in out.glob("*.png")) == ["accuracy_vs_prompt_interval.png"]


def test_eval_never_scores_an_untrained_head(tmp_path):
    """An official-format SAM 2 file (sam2's own small random model): --grasp-source model is refused in one
    line; auto evaluates the mask-geometry grasps and says so in eval.json."""
    from sam2_reference import predictor_and_model

    predictor, _, _ = predictor_and_model(seed=5)
    official = tmp_path / "sam2.1_hiera_test.pt"
    torch.save({"model": predictor.state_dict()}, official)
    data = "synthetic:sequences=1,frames=3"
    run = _spgrasp("eval", "--checkpoint", official, "--model-config", "test_tiny", "--grasp-source", "model",
                   "--data", data, "--device", "cpu", "--threads", "1", "--out", tmp_path / "refused")
    assert run.returncode == 1 and run.stderr.splitlines() == [
        "spgrasp eval: grasp_source 'model' refused: the grasp head of sam2.1_hiera_test.pt was never trained "
        "(initialised from SAM 2 weights); use 'geometry' or 'auto', or fine-tune it"]
    run = _spgrasp("eval", "--checkpoint", official, "--model-config", "test_tiny", "--intervals", "0",
                   "--data", data, "--device", "cpu", "--threads", "1", "--out", tmp_path / "auto")
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "auto" / "eval.json").read_text())["meta"]["grasp_source"] == "geometry"
