"""The bundled demo model, evaluated on held-out synthetic scenes with a prompt on the first frame only.

The floor sits below the accuracy measured when the model was committed (see the model's notes in
spgrasp_ros/presets/train/demo.yaml); a change that breaks the tracker, the decoder or the checkpoint drops
far below it.
"""

import pytest

from spgrasp_ros.evaluation.evaluate import evaluate, parse_data_spec
from spgrasp_ros.model.checkpoints import load_checkpoint
from spgrasp_ros.tracker.build import build_tracker
from spgrasp_ros.weights import BUNDLED, resolve_checkpoint

FLOOR = 0.95  # measured 96.8 % with the tracker's defaults (motion and steady grasps on), 2026-12-01
HELD_OUT = "synthetic:seed=300000,sequences=12"  # training uses seeds 0..4999, the reported figure 100000+
# hard suites on their own first seeds (data/synth_suites.py), small sets: measured 84.0 % and 79.8 % (89.5 and
# 79.5 % before steady grasps became a default: they cost occlusion 0.9 points on 10 sequences, 5.5 on these 4)
SUITE_FLOORS = {"suite:occlusion:sequences=4": 0.80, "suite:reentry:sequences=4": 0.75}


def test_demo_checkpoint_is_small_and_loads():
    path = resolve_checkpoint("demo")
    assert path == BUNDLED["demo"] and path.stat().st_size < 20 * 2**20


@pytest.mark.timeout(900)
def test_demo_model_accuracy_with_first_frame_prompt_only():
    model, config, _ = load_checkpoint(resolve_checkpoint("demo"))
    name, sequences = parse_data_spec(HELD_OUT)
    tracker = build_tracker(model, config)  # the deployed defaults, as the node runs
    results = evaluate(tracker, {name: sequences}, intervals=(0,), progress=False)
    cell = results[name]["interval_0"]
    assert cell["scored"] > 200
    print(f"demo model, first-frame prompt, {cell['scored']} object-frames: {cell['grasp_accuracy']:.1%}")
    assert cell["grasp_accuracy"] >= FLOOR, cell


@pytest.mark.timeout(900)
@pytest.mark.parametrize("spec", sorted(SUITE_FLOORS))
def test_demo_model_on_hard_suites(spec):
    """Long occlusions while moving, and leaving and re-entering the view: the tracker must find the object
    again (the box filter's prediction and the growing search window)."""
    model, config, _ = load_checkpoint(resolve_checkpoint("demo"))
    name, sequences = parse_data_spec(spec)
    results = evaluate(build_tracker(model, config), {name: sequences}, intervals=(0,), progress=False)
    cell = results[name]["interval_0"]
    print(f"demo model, {name}, {cell['scored']} object-frames: {cell['grasp_accuracy']:.1%}")
    assert cell["scored"] > 100 and cell["grasp_accuracy"] >= SUITE_FLOORS[spec], cell
