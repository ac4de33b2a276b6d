"""Checkpoints: official SAM 2 files as initialisation with an exact report, SPGrasp files with their config."""

import pytest
import torch
from sam2_reference import predictor_and_model

from spgrasp_ros.model.build import build_model
from spgrasp_ros.model.checkpoints import (
    CheckpointError,
    init_from_sam2,
    load_checkpoint,
    load_weights,
    remap_tpos,
    save_checkpoint,
)
from spgrasp_ros.model.config import load_model_config


@pytest.fixture(scope="module")
def sam2_file(tmp_path_factory):
    """An official-format SAM 2 checkpoint ({"model": state_dict}) written from sam2's own model."""
    predictor, _, _ = predictor_and_model(seed=3)
    path = tmp_path_factory.mktemp("ckpt") / "sam2.1_hiera_test.pt"
    torch.save({"model": predictor.state_dict()}, path)
    return path, predictor.state_dict()


def test_init_from_sam2_reports_exactly_the_new_tensors(sam2_file):
    path, weights = sam2_file
    config = load_model_config("test_tiny")
    model = build_model(config)
    report = init_from_sam2(model, path)
    assert report.new and all(name.startswith("sam_mask_decoder.grasp_hypernetworks_mlps.") for name in report.new)
    assert len(report.new) == 4 * 6  # 4 MLPs x 3 layers x (weight, bias)
    assert report.reshaped == {}
    assert set(report.loaded) == set(weights)
    own = model.state_dict()
    assert all(torch.equal(own[k], weights[k]) for k in weights)
    assert "new (initialised, not in the checkpoint): sam_mask_decoder.grasp_hypernetworks_mlps.0" in report.summary()


def test_other_memory_length_remaps_the_temporal_encoding(sam2_file):
    path, weights = sam2_file
    model = build_model(load_model_config("test_tiny").replace(n_hist=8))
    report = init_from_sam2(model, path)
    assert list(report.reshaped) == ["maskmem_tpos_enc"]
    old, new = weights["maskmem_tpos_enc"], model.state_dict()["maskmem_tpos_enc"]
    assert new.shape[0] == 9 and old.shape[0] == 7
    assert torch.equal(new[:6], old[:6]) and torch.equal(new[6:8], old[5:6].expand(2, -1, -1, -1))
    assert torch.equal(new[-1], old[-1]), "the prompt-frame row stays the prompt-frame row"
    assert torch.equal(remap_tpos(old, 3), torch.cat([old[:2], old[-1:]]))


def test_checkpoint_of_another_variant_names_the_tensor(tmp_path, sam2_file):
    _, weights = sam2_file
    bad = dict(weights)
    bad["memory_encoder.out_proj.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save({"model": bad}, tmp_path / "other.pt")
    model = build_model(load_model_config("test_tiny"))
    with pytest.raises(CheckpointError, match=r"tensor 'memory_encoder.out_proj.weight' is \[3, 3, 1, 1\]"):
        init_from_sam2(model, tmp_path / "other.pt")
    torch.save({"model": {**weights, "extra_head.weight": torch.zeros(1)}}, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="'extra_head.weight'.*no place in this model"):
        init_from_sam2(model, tmp_path / "extra.pt")


def test_missing_and_corrupt_files_are_named(tmp_path):
    model = build_model(load_model_config("test_tiny"))
    with pytest.raises(FileNotFoundError, match="nope.pt does not exist"):
        init_from_sam2(model, tmp_path / "nope.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="broken.pt: not a readable checkpoint"):
        init_from_sam2(model, tmp_path / "broken.pt")


def test_spgrasp_checkpoint_round_trip_and_mismatches(tmp_path):
    config = load_model_config("test_tiny")
    torch.manual_seed(5)
    model = build_model(config)
    save_checkpoint(tmp_path / "run" / "model.pt", model, config, trained={"grasp_head": True}, step=123)
    loaded, loaded_config, extra = load_checkpoint(tmp_path / "run" / "model.pt")
    assert loaded_config == config and extra["step"] == 123
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))

    other = config.replace(memory_source="position")
    with pytest.raises(CheckpointError, match="another model config.*memory_source"):
        load_weights(build_model(other), other, tmp_path / "run" / "model.pt")

    payload = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    payload["model"]["sam_mask_decoder.iou_token.weight"] = torch.zeros(2, 64)
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=r"'sam_mask_decoder.iou_token.weight' is \[2, 64\] in the checkpoint"):
        load_checkpoint(tmp_path / "edited.pt")
    del payload["model"]["sam_mask_decoder.iou_token.weight"]
    torch.save(payload, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="'sam_mask_decoder.iou_token.weight' is missing from the checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"model": model.state_dict()}, tmp_path / "official.pt")
    with pytest.raises(CheckpointError, match="not an SPGrasp checkpoint.*init_from_sam2"):
        load_checkpoint(tmp_path / "official.pt")


def test_checkpoint_loads_for_another_memory_length(tmp_path):
    config = load_model_config("test_tiny")
    torch.manual_seed(6)
    model = build_model(config)
    save_checkpoint(tmp_path / "model.pt", model, config, trained={"grasp_head": True})
    saved = model.state_dict()
    for n_hist in (2, 0, 9):
        loaded, loaded_config, _ = load_checkpoint(tmp_path / "model.pt", n_hist=n_hist)
        assert loaded_config == config.replace(n_hist=n_hist) and loaded.num_maskmem == n_hist + 1
        weights = loaded.state_dict()
        assert torch.equal(weights["maskmem_tpos_enc"], remap_tpos(saved["maskmem_tpos_enc"], n_hist + 1))
        assert all(torch.equal(weights[k], v) for k, v in saved.items() if k != "maskmem_tpos_enc")
    same, same_config, _ = load_checkpoint(tmp_path / "model.pt", n_hist=config.n_hist)
    assert same_config == config and torch.equal(same.maskmem_tpos_enc, saved["maskmem_tpos_enc"])
