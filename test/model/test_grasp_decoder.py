"""The grasp decoder: SAM 2's mask path untouched; the optional refiner starts as an exact no-op."""

import torch

from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import init_from_sam2
from spgrasp_ros.model.config import load_model_config


def _heads(model, seed=0):
    torch.manual_seed(seed)
    image = torch.randn(1, 3, 128, 128)
    features = model.frame_features(model.forward_image(image), 2)
    points = {"point_coords": torch.tensor([[[10.0, 10.0], [60.0, 50.0]], [[70.0, 20.0], [120.0, 90.0]]]),
              "point_labels": torch.tensor([[2, 3], [2, 3]], dtype=torch.int32)}
    with torch.no_grad():
        return model.step(0, features, {}, is_prompt_frame=True, point_inputs=points)[0]


def test_untrained_refiner_changes_nothing_and_loads_as_new(tmp_path):
    config = load_model_config("test_tiny").replace(image_size=128)
    torch.manual_seed(1)
    plain = build_model(config)
    refined = build_model(config.replace(grasp_refiner_channels=16))
    missing, unexpected = refined.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("sam_mask_decoder.grasp_refiner.") for k in missing)
    a, b = _heads(plain), _heads(refined)
    assert torch.equal(a.grasp_logits, b.grasp_logits) and torch.equal(a.object_logits, b.object_logits)
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pt")
    report = init_from_sam2(build_model(config.replace(grasp_refiner_channels=16)), tmp_path / "plain.pt")
    assert {k for k in report.new} == set(missing)


def test_trained_refiner_changes_only_angle_and_width():
    config = load_model_config("test_tiny").replace(image_size=128, grasp_refiner_channels=16)
    torch.manual_seed(2)
    model = build_model(config)
    before = _heads(model)
    with torch.no_grad():
        model.sam_mask_decoder.grasp_refiner[-1].bias.fill_(0.5)
    after = _heads(model)
    assert torch.allclose(after.grasp_logits[:, 1:], before.grasp_logits[:, 1:] + 0.5)
    assert torch.equal(after.grasp_logits[:, 0], before.grasp_logits[:, 0]), "position stays the token's"
    assert torch.equal(after.object_logits, before.object_logits) and torch.equal(after.obj_ptr, before.obj_ptr)
