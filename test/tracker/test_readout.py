"""The one read-out path (``readout.pack_results`` -> ``unpack_results``) against a per-tensor reference: the
same arithmetic one result at a time (what the tracker did before the packed path became the only one).
Bit for bit on the CPU, for resized and letterboxed inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spgrasp_ros.grasps.decode import DecodeConfig, decode_grasps
from spgrasp_ros.grasps.frame_geometry import LETTERBOX, RESIZE, FrameGeometry
from spgrasp_ros.model.channels import activate
from spgrasp_ros.tracker.readout import pack_results, unpack_results

SIZE = 128  # model input; maps at SIZE / 4


def _heads(n: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 1, SIZE // 4, SIZE // 4, generator=generator) * 4
    logits[0] = -10.0  # one object found nowhere: empty mask, no grasp
    grasp_logits = torch.randn(n, 4, SIZE // 4, SIZE // 4, generator=generator) * 3
    scores = torch.randn(n, 1, generator=generator) * 3
    full = F.interpolate(logits, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return logits, grasp_logits, scores, full


def _reference(logits, grasp_logits, scores, full, geometry, decode):
    """Each result computed and copied on its own (the former per-tensor read-out)."""
    maps = activate(torch.cat([grasp_logits, logits], dim=1))
    region = None
    if geometry.mode != RESIZE:
        region = torch.from_numpy(geometry.content_mask(*maps.shape[-2:]))
    decoded = decode_grasps(maps, SIZE, decode, region)
    width, height = geometry.input_size
    source = logits
    if geometry.mode != RESIZE:
        x0, y0, x1, y1 = geometry.content_box
        source = full[:, :, y0:y1, x0:x1]
    masks = F.interpolate(source, size=(height, width), mode="bilinear", align_corners=False)[:, 0] > 0
    host = {k: v.float().numpy() for k, v in dict(
        scores=decoded.scores, centers=decoded.centers, angles=decoded.angles, widths=decoded.widths,
        valid=decoded.valid, presence=scores[:, 0].float().sigmoid(), area=masks.sum(dim=(1, 2))).items()}
    host.update(rows=masks.any(dim=2).numpy(), cols=masks.any(dim=1).numpy(), masks=masks.numpy())
    return host


@pytest.mark.parametrize("mode", [RESIZE, LETTERBOX])
@pytest.mark.parametrize("seed", [0, 1])
def test_packed_read_out_equals_the_per_tensor_reference_bit_for_bit(mode, seed):
    geometry = FrameGeometry((160, 96), SIZE, mode)
    decode = DecodeConfig()
    logits, grasp_logits, scores, full = _heads(3, seed)
    letterbox = mode != RESIZE
    region = torch.from_numpy(geometry.content_mask(SIZE // 4, SIZE // 4)) if letterbox else None
    floats, bits = pack_results(logits, grasp_logits, scores, full if letterbox else None, region,
                                geometry.input_size, geometry.content_box if letterbox else None, SIZE, decode)
    packed = unpack_results(floats.numpy(), bits.numpy(), geometry.input_size)
    reference = _reference(logits, grasp_logits, scores, full, geometry, decode)
    assert set(packed) == set(reference)
    for key, value in reference.items():
        assert packed[key].shape == value.shape, key
        assert packed[key].dtype == value.dtype or key == "valid", key
        np.testing.assert_array_equal(packed[key], value, err_msg=key)
    assert reference["valid"].sum() > 0 and reference["area"][0] == 0, "grasps found; the empty object read out"
