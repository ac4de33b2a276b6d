"""The paper's loss on hand-computed cases."""

import math

import pytest
import torch

from spgrasp_ros.training.loss import LossConfig, balanced_bce, frame_loss


def test_balanced_bce_weights_positives_by_the_clamped_ratio():
    target = torch.zeros(1, 4, 4)
    target[0, 0, 0] = 1.0  # 1 positive, 15 negatives: ratio 15
    logits = torch.zeros(1, 4, 4)  # sigmoid 0.5 everywhere: each pixel's BCE is ln 2
    expected = (15 * math.log(2) + 15 * math.log(2)) / 16  # positive weighted 15, 15 negatives
    assert balanced_bce(logits, target, max_pos_weight=20)[0].item() == pytest.approx(expected)
    clamped = (5 * math.log(2) + 15 * math.log(2)) / 16
    assert balanced_bce(logits, target, max_pos_weight=5)[0].item() == pytest.approx(clamped)
    assert balanced_bce(logits, torch.zeros(1, 4, 4), 20)[0].item() == pytest.approx(math.log(2))


def test_frame_loss_terms_and_weights():
    b, h = 2, 8
    targets = torch.zeros(b, 5, h, h)
    targets[:, 0, 3, 3] = 1.0
    targets[:, 1, 3, 3] = 0.5
    targets[:, 2, 3, 3] = -0.5
    targets[:, 3, 3, 3] = 0.4
    targets[:, 4, 2:5, 2:5] = 1.0
    grasp_logits = torch.zeros(b, 4, h, h)
    object_logits = torch.zeros(b, 1, h, h)
    scores = torch.tensor([[2.0], [-2.0]])
    terms = frame_loss(object_logits, grasp_logits, scores, targets, torch.tensor([True, False]),
                       torch.tensor([True, True]))
    assert terms["cos"].item() == pytest.approx(0.25 / 64) and terms["sin"].item() == pytest.approx(0.25 / 64)
    presence = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-2))) / 2  # both "right" with margin 2
    assert terms["presence"].item() == pytest.approx(presence, rel=1e-5)
    weighted = 5 * terms["position"] + 5 * terms["cos"] + 5 * terms["sin"] + terms["width"] + terms["object"] \
        + terms["presence"]
    assert terms["total"].item() == pytest.approx(weighted.item())
    only_grasps = frame_loss(object_logits, grasp_logits, scores, targets, torch.tensor([True, False]),
                             torch.tensor([False, False]), LossConfig(angle_on_grasps_only=True))
    assert only_grasps["cos"].item() == pytest.approx(0.25) and only_grasps["object"].item() == 0.0


def test_loss_decreases_when_predictions_approach_targets():
    targets = torch.zeros(1, 5, 8, 8)
    targets[0, 0, 4, 4] = targets[0, 4, 3:6, 3:6] = 1.0
    good = torch.full((1, 4, 8, 8), -6.0)
    good[0, 0, 4, 4] = 6.0
    good[0, 1:3] = 0.0
    object_good = torch.full((1, 1, 8, 8), -6.0)
    object_good[0, 0, 3:6, 3:6] = 6.0
    args = (torch.tensor([[4.0]]), targets, torch.tensor([True]), torch.tensor([True]))
    assert frame_loss(object_good, good, *args)["total"] < frame_loss(torch.zeros(1, 1, 8, 8),
                                                                     torch.zeros(1, 4, 8, 8), *args)["total"]


def test_width_loss_on_grasps_is_unbiased_and_the_balanced_one_is_not():
    """Minimise each width loss over a constant prediction: the grasp-only BCE recovers the target width."""
    targets = torch.zeros(1, 5, 8, 8)
    targets[0, 0, 2:4, 2:4] = 1.0
    targets[0, 3, 2:4, 2:4] = 0.2
    for config, expected in ((LossConfig(width_on_grasps_only=True), 0.2), (LossConfig(), None)):
        logit = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.Adam([logit], lr=0.05)
        for _ in range(600):
            grasp = torch.zeros(1, 4, 8, 8)
            grasp[0, 3] = logit
            terms = frame_loss(torch.zeros(1, 1, 8, 8), grasp, torch.zeros(1, 1), targets, torch.tensor([True]),
                               torch.tensor([False]), config)
            optimizer.zero_grad()
            terms["width"].backward()
            optimizer.step()
        if expected is not None:
            assert torch.sigmoid(logit).item() == pytest.approx(expected, abs=0.01)
        else:  # the paper's balanced BCE over all pixels pulls grasp widths away from the target
            assert abs(torch.sigmoid(logit).item() - 0.2) > 0.05


def test_dice_penalises_covering_other_objects():
    targets = torch.zeros(1, 5, 8, 8)
    targets[0, 4, :, :2] = 1.0  # the prompted object: two columns
    own_only = torch.full((1, 1, 8, 8), -8.0)
    own_only[0, 0, :, :2] = 8.0
    everything = torch.full((1, 1, 8, 8), -8.0)
    everything[0, 0, :, :6] = 8.0  # also covers other objects in columns 2..5
    config = LossConfig(object_dice_weight=1.0)
    args = (torch.zeros(1, 4, 8, 8), torch.zeros(1, 1), targets, torch.tensor([True]), torch.tensor([True]), config)
    assert frame_loss(own_only, *args)["dice"] < 0.01
    assert frame_loss(everything, *args)["dice"] > 0.4


def test_any_valid_angle_scores_the_nearer_of_two_crossing_grasps():
    """At a square's centre (labels: 0 and 90 degrees) a prediction of either axis is right with
    ``angle_any_valid``; the paper's single target charges the other axis the full error, so its optimum is
    the (0, 0) average of the two."""
    targets = torch.zeros(1, 7, 8, 8)
    targets[0, 0, 4, 4] = 1.0
    targets[0, 1, 4, 4], targets[0, 5, 4, 4] = 1.0, -1.0  # cos 2θ of 0 and of 90 degrees
    vertical = torch.zeros(1, 4, 8, 8)
    vertical[0, 1, 4, 4] = -8.0  # tanh -> -1: the 90-degree axis
    args = (torch.zeros(1, 1), targets, torch.tensor([True]), torch.tensor([False]))
    any_valid = frame_loss(torch.zeros(1, 1, 8, 8), vertical, *args, LossConfig(angle_on_grasps_only=True,
                                                                                angle_any_valid=True))
    single = frame_loss(torch.zeros(1, 1, 8, 8), vertical, *args, LossConfig(angle_on_grasps_only=True))
    assert any_valid["cos"].item() < 1e-6 and any_valid["sin"].item() < 1e-6
    assert single["cos"].item() == pytest.approx(4.0, rel=1e-4)
