"""ZedCamera (spgrasp_ros.cameras.zed_source) against a STAND-IN for the ZED SDK.

A ZED 2i camera and the ZED SDK's Python API (pyzed, which needs CUDA and Stereolabs' installer) cannot exist on
the test machines. These tests therefore hand ZedCamera a stand-in for the ``pyzed.sl`` module
(test/helper_nodes/fake_pyzed/pyzed/sl.py) that imitates the SDK calls ZedCamera makes and returns known synthetic
frames. Everything after those SDK calls is the real code: settings checks, what is asked of the SDK, copying the
SDK's buffers, BGRA -> RGB, depth cleaning, intrinsics, error codes, closing. Without any pyzed, the real import
is tried and must fail with instructions to install the ZED SDK.
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from spgrasp_ros.cameras.zed_source import (
    SDK_URL,
    ZedCamera,
    ZedError,
    ZedSettings,
    ZedUnavailable,
    clean_depth,
    to_bgra,
)

FAKE_SL = Path(__file__).resolve().parents[1] / "helper_nodes" / "fake_pyzed" / "pyzed" / "sl.py"


@pytest.fixture
def calls(tmp_path, monkeypatch) -> Path:
    """The stand-in's call log (open/close/set_svo_position, one JSON object a line)."""
    monkeypatch.setenv("FAKE_PYZED_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.delenv("FAKE_PYZED_FAIL_GRABS", raising=False)
    return tmp_path / "calls.jsonl"


@pytest.fixture
def sl(calls):
    """The stand-in ``pyzed.sl``, loaded under another name (the test process's sys.path stays untouched)."""
    spec = importlib.util.spec_from_file_location("fake_pyzed_sl", FAKE_SL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log(calls: Path) -> list[dict]:
    return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


def _svo(tmp_path: Path, frames: int) -> str:
    path = tmp_path / "rec.svo2"
    path.write_text(str(frames))  # the stand-in's "recording": its number of frames
    return str(path)


def test_without_pyzed_open_explains_how_to_install_the_zed_sdk(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyzed", None)  # makes `import pyzed.sl` fail as where it is absent
    monkeypatch.setitem(sys.modules, "pyzed.sl", None)
    with pytest.raises(ZedUnavailable) as error:
        ZedCamera.open(ZedSettings())
    message = str(error.value)
    assert "pyzed" in message and SDK_URL in message
    assert f"{sys.executable} /usr/local/zed/get_python_api.py" in message


def test_open_asks_the_sdk_for_the_settings_and_reads_the_left_calibration(sl, calls):
    settings = ZedSettings(resolution="VGA", fps=60, depth_mode="ULTRA", depth_min_m=0.4, depth_max_m=5.0)
    with ZedCamera.open(settings, sl) as camera:
        assert camera.info.serial_number == sl.FAKE_SERIAL and camera.info.model == "ZED2i"
        assert camera.info.size == sl.FAKE_SIZE and camera.info.fps == 60
        assert camera.info.intrinsics == tuple(sl.FAKE_CALIBRATION[k] for k in ("fx", "fy", "cx", "cy"))
        assert camera.open_status == "SUCCESS"
    opened, closed = _log(calls)
    assert opened == {"call": "open", "input": {"type": "first"}, "resolution": "VGA", "fps": 60,
                      "depth_mode": "ULTRA", "units": "METER", "depth_min": 0.4, "depth_max": 5.0,
                      "svo_real_time": False}
    assert closed == {"call": "close", "was_open": True}


def test_grab_returns_copies_of_the_image_depth_in_metres_and_the_image_timestamp(sl):
    with ZedCamera.open(ZedSettings(serial_number=sl.FAKE_SERIAL, depth_max_m=10.0), sl) as camera:
        first, second = camera.grab(), camera.grab()
    for index, frame in enumerate((first, second)):  # the first is intact: not a view of the SDK's buffer
        np.testing.assert_array_equal(frame.bgra, sl.fake_bgra(index))
        np.testing.assert_array_equal(frame.rgb, sl.fake_bgra(index)[..., 2::-1])  # B, G, R -> R, G, B
        assert frame.timestamp_ns == sl.fake_timestamp_ns(index, 30) and frame.status == "SUCCESS"
        assert frame.depth_m.dtype == np.float32 and frame.depth_m.shape == sl.FAKE_SIZE[::-1]
        expected = sl.fake_depth(index)  # metres: the stand-in gives millimetres unless METER was asked for
        for row, col in sl.FAKE_DEPTH_SPECIALS:  # NaN, -inf, +inf, 25 m (> depth_max_m): no measurement
            assert math.isnan(frame.depth_m[row, col])
            expected[row, col] = np.nan
        np.testing.assert_array_equal(frame.depth_m, expected)


def test_a_camera_that_is_not_found_fails_with_the_sdk_code_and_is_closed(sl, calls):
    with pytest.raises(ZedError, match="cannot open the ZED with serial number 42: the ZED SDK says "
                                       "CAMERA_NOT_DETECTED"):
        ZedCamera.open(ZedSettings(serial_number=42), sl)
    assert [entry["call"] for entry in _log(calls)] == ["open", "close"]
    assert _log(calls)[0]["input"] == {"type": "serial", "serial_number": 42}


def test_an_svo_ends_with_none_or_starts_over_with_svo_loop(sl, calls, tmp_path):
    path = _svo(tmp_path, 3)
    with ZedCamera.open(ZedSettings(svo_file=path, svo_real_time=False), sl) as camera:
        stamps = [camera.grab().timestamp_ns for _ in range(3)]
        assert camera.grab() is None and camera.grab() is None
    assert stamps == [sl.fake_timestamp_ns(i, 30) for i in range(3)]
    assert _log(calls)[0]["input"] == {"type": "svo", "path": path}
    with ZedCamera.open(ZedSettings(svo_file=path, svo_loop=True, svo_real_time=False), sl) as camera:
        frames = [camera.grab() for _ in range(5)]
        assert camera.svo_restarts == 1
    for frame, index in zip(frames, (0, 1, 2, 0, 1)):
        np.testing.assert_array_equal(frame.bgra, sl.fake_bgra(index))
    assert {"call": "set_svo_position", "position": 0} in _log(calls)


def test_a_failed_grab_raises_and_the_next_grab_works(sl, monkeypatch):
    monkeypatch.setenv("FAKE_PYZED_FAIL_GRABS", "2")
    with ZedCamera.open(ZedSettings(), sl) as camera:
        camera.grab()
        with pytest.raises(ZedError, match="grab failed: the ZED SDK says FAILURE"):
            camera.grab()
        np.testing.assert_array_equal(camera.grab().bgra, sl.fake_bgra(1))


@pytest.mark.parametrize(("settings", "message"), [
    (ZedSettings(resolution="HD1080", fps=60), "fps 60 is not a HD1080 frame rate of the ZED 2i (15, 30)"),
    (ZedSettings(resolution="4K"), "resolution must be one of HD2K, HD1080, HD720, VGA, got '4K'"),
    (ZedSettings(depth_mode="FAST"), "depth_mode must be one of"),
    (ZedSettings(depth_min_m=2.0, depth_max_m=1.0), "need 0 < depth_min_m < depth_max_m, got 2.0 and 1.0"),
    (ZedSettings(svo_file="/no/such.svo2"), "svo_file /no/such.svo2: no such file"),
    (ZedSettings(serial_number=-1), "serial_number must be >= 0"),
])
def test_invalid_settings_are_refused_before_the_sdk_is_touched(monkeypatch, settings, message):
    monkeypatch.setitem(sys.modules, "pyzed", None)
    monkeypatch.setitem(sys.modules, "pyzed.sl", None)
    with pytest.raises(ValueError, match="invalid ZED settings") as error:
        ZedCamera.open(settings)
    assert message in str(error.value)


def test_close_twice_closes_once(sl, calls):
    camera = ZedCamera.open(ZedSettings(), sl)
    camera.close()
    camera.close()
    assert [entry["call"] for entry in _log(calls)] == ["open", "close"]


def test_to_bgra_copies_bgra_and_converts_bgr_and_grey():
    bgra = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    copy = to_bgra(bgra)
    assert copy is not bgra and not np.shares_memory(copy, bgra)
    np.testing.assert_array_equal(copy, bgra)
    np.testing.assert_array_equal(to_bgra(bgra[..., :3])[..., :3], bgra[..., :3])
    assert (to_bgra(bgra[..., :3])[..., 3] == 255).all()
    np.testing.assert_array_equal(to_bgra(bgra[..., 0])[..., 2], bgra[..., 0])
    with pytest.raises(ZedError, match="unexpected image"):
        to_bgra(bgra.astype(np.float32))


def test_clean_depth_keeps_the_range_and_turns_the_rest_into_nan():
    raw = np.array([[np.nan, -np.inf, np.inf, 0.0], [-1.0, 0.2, 0.3, 9.5]], np.float32)
    depth = clean_depth(raw[..., None], 0.3, 9.0)  # the SDK's Mat may come as [H, W, 1]
    assert depth.shape == (2, 4) and not np.shares_memory(depth, raw)
    np.testing.assert_array_equal(np.isnan(depth), [[True] * 4, [True, True, False, True]])
    assert depth[1, 2] == np.float32(0.3)
