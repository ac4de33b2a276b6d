"""The grasp decoder: SAM 2's mask path untouched; the optional refiner starts as an exact no-op."""

import pytest
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


@pytest.mark.parametrize("angle_refiner", [False, True])
def test_untrained_refiner_changes_nothing_and_loads_as_new(tmp_path, angle_refiner):
    config = load_model_config("test_tiny").replace(image_size=128)
    torch.manual_seed(1)
    plain = build_model(config)
    refined = build_model(config.replace(grasp_refiner_channels=16, angle_refiner=angle_refiner))
    missing, unexpected = refined.load_state_dict(plain.state_dict(), strict=False)
    new = ("sam_mask_decoder.grasp_refiner.", "sam_mask_decoder.grasp_angle_refiner.")
    assert not unexpected and missing and all(k.startswith(new) for k in missing)
    a, b = _heads(plain), _heads(refined)
    assert torch.equal(a.grasp_logits, b.grasp_logits) and torch.equal(a.object_logits, b.object_logits)
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pt")
    report = init_from_sam2(build_model(config.replace(grasp_refiner_channels=16, angle_refiner=angle_refiner)),
                            tmp_path / "plain.pt")
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


def test_angle_refiner_reads_the_encoders_fine_features_and_moves_only_angles():
    """The angle refiner's input holds the stride-4 and stride-8 image features: its weights on them move the
    angle maps; position and width are left alone."""
    config = load_model_config("test_tiny").replace(image_size=128, grasp_refiner_channels=16)
    model = build_model(config.replace(angle_refiner=True))
    decoder = model.sam_mask_decoder
    extra = decoder.grasp_angle_refiner[0].in_channels - decoder.grasp_refiner[0].in_channels
    assert extra == decoder.transformer_dim // 8 + decoder.transformer_dim // 4
    torch.manual_seed(3)
    with torch.no_grad():
        plain = _heads(model)
        for layer in decoder.grasp_angle_refiner:
            if isinstance(layer, torch.nn.Conv2d):
                torch.nn.init.normal_(layer.weight, std=0.3)
        refined = _heads(model)
        decoder.grasp_angle_refiner[0].weight[:, -extra:] = 0.0  # cut it off the high-resolution features
        blind = _heads(model)
    assert not torch.allclose(refined.grasp_logits[:, 1:3], plain.grasp_logits[:, 1:3])
    assert not torch.allclose(refined.grasp_logits[:, 1:3], blind.grasp_logits[:, 1:3])
    for other in (0, 3):  # position and width
        assert torch.equal(refined.grasp_logits[:, other], plain.grasp_logits[:, other])
    with pytest.raises(ValueError, match="angle refiner"):
        config.replace(grasp_refiner_channels=0, angle_refiner=True)
