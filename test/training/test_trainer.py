"""Training end to end on the tiny model: runs, learns, checkpoints, resumes exactly, runs distributed."""

import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from spgrasp_ros.model.checkpoints import load_checkpoint
from spgrasp_ros.training.trainer import load_train_config, train

QUICK = ["model_overrides={image_size: 64}", "clip.frames=3", "clip.max_objects=2", "log_every=1",
         "sources=[{kind: synthetic, sequences: 4, synth: {size: [64, 48], frames: 6}}]", "warmup_steps=2",
         "threads=2"]


def test_config_overrides_and_errors(tmp_path):
    config = load_train_config(None, QUICK + ["loss.position_weight=2.5", "clip.labels.position_radius=2"])
    assert config.loss.position_weight == 2.5 and config.clip.labels.position_radius == 2.0
    assert config.sources[0].synth["size"] == [64, 48] and config.model_config().image_size == 64
    with pytest.raises(ValueError, match=r"unknown TrainConfig keys: \['stepz'\]"):
        load_train_config(None, ["stepz=3"])
    assert load_train_config(None, ["lr=2e-3", "steps=10.0"]).lr == 0.002
    with pytest.raises(ValueError, match="TrainConfig.lr must be a number, got 'fast'"):
        load_train_config(None, ["lr=fast"])
    with pytest.raises(ValueError, match="not key=value"):
        load_train_config(None, ["steps"])


def test_resume_continues_exactly(tmp_path):
    config = load_train_config(None, QUICK + ["steps=4", "checkpoint_every=2"])
    straight = train(config, tmp_path / "a", progress=False).model_path
    stopped = load_train_config(None, QUICK + ["steps=2", "checkpoint_every=2"])
    train(stopped, tmp_path / "b", progress=False)
    resumed = train(config, tmp_path / "b", resume=True, progress=False).model_path
    a, _, _ = load_checkpoint(straight)
    b, _, extra = load_checkpoint(resumed)
    assert extra["steps"] == 4
    assert extra["trained"] == {"grasp_head": True}  # training records its head as trained (tracker.grasp_source)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    rows = list(csv.DictReader(open(tmp_path / "a" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert all(float(r["loss/total"]) > 0 for r in rows)
    assert (tmp_path / "a" / "checkpoints" / "step_000002.pt").exists()
    assert "image_size: 64" in (tmp_path / "a" / "config.yaml").read_text()


def test_clip_workers_train_on_the_same_clips(tmp_path):
    """Clips made by a worker process a few steps ahead: the run is the one made without workers."""
    config = load_train_config(None, QUICK + ["steps=3", "checkpoint_every=10"])
    inline = train(config, tmp_path / "inline", progress=False).model_path
    ahead = train(load_train_config(None, QUICK + ["steps=3", "checkpoint_every=10", "workers=1"]),
                  tmp_path / "ahead", progress=False).model_path
    a, _, _ = load_checkpoint(inline)
    b, _, _ = load_checkpoint(ahead)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_training_lowers_the_loss(tmp_path):
    config = load_train_config(None, QUICK + ["steps=40", "lr=2e-3", "lr_image_encoder=2e-3", "log_every=5",
                                              "sources=[{kind: synthetic, sequences: 1, synth: {size: [64, 48], "
                                              "frames: 6, max_objects: 1}}]", "checkpoint_every=100"])
    train(config, tmp_path / "run", progress=False)
    losses = [float(r["loss/total"]) for r in csv.DictReader(open(tmp_path / "run" / "log.csv"))]
    assert losses[-1] < 0.6 * losses[0], losses


@pytest.mark.slow
def test_distributed_training_with_two_processes(tmp_path):
    """torchrun, gloo backend, 2 CPU processes: gradients are averaged, both ranks end with equal weights."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, os, sys, torch\n"
        "from spgrasp_ros.training.trainer import load_train_config, train\n"
        f"config = load_train_config(None, {QUICK + ['steps=2', 'threads=1']!r})\n"
        "model = train(config, sys.argv[1], progress=False).model\n"
        "rank = int(os.environ['RANK'])\n"
        "from spgrasp_ros.model.checkpoints import read_checkpoint\n"
        "_, weights, extra = read_checkpoint(os.path.join(sys.argv[1], 'checkpoints', 'last.pt'))\n"
        "checksum = float(sum(p.double().abs().sum() for p in model.parameters()))\n"
        "report = {'rank': rank, 'world': int(os.environ['WORLD_SIZE']), 'rngs': len(extra['rng']),\n"
        "          'checksum': checksum}\n"
        "with open(os.path.join(sys.argv[1], f'report_{rank}.json'), 'w') as out:  # not stdout: ranks interleave\n"
        "    json.dump(report, out)\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(probe), str(tmp_path / "run")], capture_output=True, text=True, timeout=240, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    reports = [json.loads((tmp_path / "run" / f"report_{rank}.json").read_text()) for rank in (0, 1)]
    assert sorted(r["rank"] for r in reports) == [0, 1] and all(r["world"] == 2 and r["rngs"] == 2 for r in reports)
    # the ranks trained on different clips: equal weights mean their gradients were averaged
    assert reports[0]["checksum"] == reports[1]["checksum"]
    assert (tmp_path / "run" / "model.pt").exists()
