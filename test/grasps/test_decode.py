"""Grasp decoding from the five maps: peaks inside the mask, angle, width, top-k, suppression."""

import math

import pytest
import torch

from spgrasp_ros.grasps.decode import DecodeConfig, decode_grasps
from spgrasp_ros.model.channels import COS2, NUM_CHANNELS, OBJECT, POSITION, SIN2, WIDTH, activate


def _bump(h, w, row, col, value, sigma=1.5):
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    return value * torch.exp(-((y - row) ** 2 + (x - col) ** 2) / (2 * sigma**2))


def _maps():
    h = w = 64
    maps = torch.zeros(2, NUM_CHANNELS, h, w)
    maps[0, OBJECT, 10:50, 10:50] = 1.0  # object 0 occupies rows/cols 10..49; object 1 has no mask
    maps[0, POSITION] = torch.maximum(_bump(h, w, 20, 30, 0.9), _bump(h, w, 40, 30, 0.6))
    maps[0, POSITION] = torch.maximum(maps[0, POSITION], _bump(h, w, 5, 5, 1.0))  # outside the mask
    maps[0, POSITION] = torch.maximum(maps[0, POSITION], _bump(h, w, 21, 31, 0.85, sigma=0.5))  # too close
    maps[1, POSITION] = _bump(h, w, 30, 30, 0.95)
    for row, theta, width in ((20, 0.3, 0.4), (40, -1.2, 0.25)):
        maps[0, COS2, row, 30] = math.cos(2 * theta)
        maps[0, SIN2, row, 30] = math.sin(2 * theta)
        maps[0, WIDTH, row, 30] = width
    return maps


def test_peaks_inside_the_mask_with_angle_and_width():
    out = decode_grasps(_maps(), model_size=256, config=DecodeConfig(top_k=3, min_distance=2, width_scale=100,
                                                                      readout_window=1))
    assert out.valid[0].tolist() == [True, True, False]
    assert out.scores[0, :2].tolist() == pytest.approx([0.9, 0.6])
    # map pixel (row 20, col 30) -> model px ((30 + 0.5) * 4, (20 + 0.5) * 4)
    assert out.centers[0, 0].tolist() == pytest.approx([122.0, 82.0])
    assert out.centers[0, 1].tolist() == pytest.approx([122.0, 162.0])
    assert out.angles[0, :2].tolist() == pytest.approx([0.3, -1.2], abs=1e-6)
    assert out.widths[0, :2].tolist() == pytest.approx([40.0, 25.0])
    assert not out.valid[1].any(), "an object without mask pixels has no grasp"


def test_threshold_and_min_distance():
    maps = _maps()
    strict = decode_grasps(maps, 256, DecodeConfig(top_k=3, position_threshold=0.7))
    assert strict.valid[0].tolist() == [True, False, False]
    loose = decode_grasps(maps, 256, DecodeConfig(top_k=3, min_distance=0, position_threshold=0.5,
                                                  peak_smoothing=False))
    # without suppression (every pixel is its own neighbourhood) the narrow bump one pixel from the best
    # peak comes second; with min_distance 2 (first test) it is suppressed and the far peak 0.6 is second
    assert loose.valid[0].sum() == 3
    assert loose.scores[0, :2].tolist() == pytest.approx([0.9, 0.85], abs=1e-3)
    assert loose.centers[0, 1].tolist() == pytest.approx([(31 + 0.5) * 4, (21 + 0.5) * 4])


def test_angle_wraps_to_half_open_interval_and_activation_table():
    logits = torch.zeros(1, NUM_CHANNELS, 4, 4)
    logits[0, COS2] = -10.0  # tanh -> -1: 2 theta = pi: theta = pi/2, reported as -pi/2
    logits[0, SIN2] = 0.0
    logits[0, POSITION, 1, 1] = 5.0
    logits[0, OBJECT] = 5.0
    maps = activate(logits)
    assert maps[0, POSITION, 1, 1] == pytest.approx(torch.sigmoid(torch.tensor(5.0)).item())
    assert maps[0, COS2, 0, 0] == pytest.approx(math.tanh(-10.0))
    out = decode_grasps(maps, 16, DecodeConfig(top_k=1, min_distance=1))
    assert out.valid[0, 0] and out.angles[0, 0].item() == pytest.approx(-math.pi / 2, abs=1e-6)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"maps must be \[N, 5, h, w\]"):
        decode_grasps(torch.zeros(5, 8, 8), 32)
    with pytest.raises(ValueError, match="expected 5 channels"):
        activate(torch.zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match="invalid grasp decoding"):
        DecodeConfig(top_k=0)
    with pytest.raises(ValueError, match="invalid grasp decoding"):
        DecodeConfig(readout_window=4)


def test_valid_region_excludes_peaks():
    maps = _maps()
    region = torch.ones(64, 64, dtype=torch.bool)
    region[:30] = False  # removes the 0.9 peak at row 20
    out = decode_grasps(maps, 256, DecodeConfig(top_k=3), valid_region=region)
    assert out.valid[0].tolist() == [True, False, False]
    assert out.scores[0, 0].item() == pytest.approx(0.6)


def test_a_plateau_gives_one_grasp():
    maps = torch.zeros(1, NUM_CHANNELS, 16, 16)
    maps[0, OBJECT] = 1.0
    maps[0, POSITION, 5:8, 5:8] = 1.0  # saturated 3x3 disc: every pixel equals the local maximum
    maps[0, POSITION, 12, 12] = 0.7
    out = decode_grasps(maps, 64, DecodeConfig(top_k=3, min_distance=2))
    assert out.valid[0].tolist() == [True, True, False]
    assert out.scores[0, :2].tolist() == pytest.approx([1.0, 0.7])


def _patch(theta_at, width=0.3, size=16):
    """One object filling the map, a position bump at (8, 8), angle ``theta_at(row, col)``, constant width."""
    maps = torch.zeros(1, NUM_CHANNELS, size, size)
    maps[0, OBJECT] = 1.0
    maps[0, POSITION] = _bump(size, size, 8, 8, 0.9)
    for row in range(size):
        for col in range(size):
            theta = theta_at(row, col)
            maps[0, COS2, row, col], maps[0, SIN2, row, col] = math.cos(2 * theta), math.sin(2 * theta)
    maps[0, WIDTH] = width
    return maps


def test_the_readout_window_averages_a_noisy_peak_pixel_away():
    maps = _patch(lambda row, col: 0.4)
    maps[0, COS2, 8, 8], maps[0, SIN2, 8, 8] = math.cos(2 * 0.9), math.sin(2 * 0.9)  # the peak pixel: 29° off
    maps[0, WIDTH, 8, 8] = 0.9
    peak = decode_grasps(maps, 64, DecodeConfig(top_k=1, readout_window=1))
    window = decode_grasps(maps, 64, DecodeConfig(top_k=1, readout_window=5))
    assert peak.angles[0, 0].item() == pytest.approx(0.9, abs=1e-5)
    assert peak.widths[0, 0].item() == pytest.approx(90)
    assert abs(window.angles[0, 0].item() - 0.4) < math.radians(5), "24 of 25 pixels say 0.4 rad"
    assert 30 < window.widths[0, 0].item() < 40, "the weighted mean width, pulled a little by the peak"
    assert window.centers[0, 0].tolist() == peak.centers[0, 0].tolist(), "the window never moves the centre"


def test_crossing_closing_directions_add_up_instead_of_cancelling():
    """A square's centre: half the pixels say θ, half θ + 90° (opposite (cos 2θ, sin 2θ) vectors)."""
    theta = 0.2
    maps = _patch(lambda row, col: theta if (row + col) % 2 == 0 else theta + math.pi / 2)
    out = decode_grasps(maps, 64, DecodeConfig(top_k=1, readout_window=5))
    # the peak pixel (8, 8) says θ; its perpendicular neighbours are negated onto it, so the mean is θ
    assert out.angles[0, 0].item() == pytest.approx(theta, abs=1e-5)
    assert out.widths[0, 0].item() == pytest.approx(30.0, abs=1e-4)


def test_pixels_outside_the_mask_do_not_enter_the_readout():
    maps = _patch(lambda row, col: 0.4 if col >= 8 else -1.0)
    maps[0, OBJECT, :, :8] = 0.0  # the left half is another object: its angles must not count
    maps[0, WIDTH, :, :8] = 1.0
    out = decode_grasps(maps, 64, DecodeConfig(top_k=1, readout_window=7))
    assert out.angles[0, 0].item() == pytest.approx(0.4, abs=1e-5)
    assert out.widths[0, 0].item() == pytest.approx(30)
