"""Image, depth and camera-info conversions (spgrasp_ros.ros.image_messages): exact round trips, row
padding, zero copies where promised, and clear errors for malformed messages. Message objects only, no ROS
graph."""

import importlib

import cv2
import numpy as np
import pytest
from ros_harness import require_ros

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def im():
    require_ros()
    return importlib.import_module("spgrasp_ros.ros.image_messages")


def _rgb(height: int = 7, width: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _message(im, pixels: np.ndarray, encoding: str, pad: int = 0, big_endian: bool = False):
    """An Image built by hand: rows of ``pixels`` followed by ``pad`` junk bytes each."""
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    if pixels.dtype.itemsize > 1:
        rows = pixels.astype(pixels.dtype.newbyteorder(">" if big_endian else "<")).reshape(height, -1)
    raw = rows.view(np.uint8).reshape(height, -1)
    padded = np.concatenate([raw, np.full((height, pad), 0xAB, np.uint8)], axis=1)
    return im.Image(height=height, width=width, encoding=encoding, is_bigendian=int(big_endian),
                    step=padded.shape[1], data=padded.tobytes())


_TO_WIRE = {"rgb8": None, "bgr8": cv2.COLOR_RGB2BGR, "bgra8": cv2.COLOR_RGB2BGRA, "rgba8": cv2.COLOR_RGB2RGBA}


@pytest.mark.parametrize("pad", [0, 5])
@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "bgra8", "rgba8"])
def test_colour_encodings_decode_to_rgb(im, encoding, pad):
    rgb = _rgb()
    wire = rgb if _TO_WIRE[encoding] is None else cv2.cvtColor(rgb, _TO_WIRE[encoding])
    out = im.image_to_rgb(_message(im, wire, encoding, pad))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("pad", [0, 3])
def test_mono8_decodes_to_grey_rgb_and_round_trips(im, pad):
    grey = _rgb()[:, :, 0].copy()
    out = im.image_to_rgb(_message(im, grey, "mono8", pad))
    np.testing.assert_array_equal(out, np.repeat(grey[:, :, None], 3, axis=2))
    msg = im.rgb_to_image(grey, im.Header(frame_id="cam"), "mono8")
    assert (msg.encoding, msg.step, msg.width, msg.height) == ("mono8", 5, 5, 7)
    np.testing.assert_array_equal(im.image_to_rgb(msg)[:, :, 1], grey)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_rgb_to_image_round_trips(im, encoding):
    rgb = _rgb(6, 9)
    header = im.Header(frame_id="camera_color_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 12, 34
    msg = im.rgb_to_image(rgb, header, encoding)
    assert (msg.encoding, msg.width, msg.height, msg.step, msg.is_bigendian) == (encoding, 9, 6, 27, 0)
    assert msg.header.frame_id == "camera_color_optical_frame" and msg.header.stamp.nanosec == 34
    np.testing.assert_array_equal(im.image_to_rgb(msg), rgb)
    # A non-contiguous input (a crop) is written correctly too.
    crop = rgb[1:5, 2:7]
    np.testing.assert_array_equal(im.image_to_rgb(im.rgb_to_image(crop, header, encoding)), crop)


@pytest.mark.parametrize("pad", [0, 4])
def test_rgb8_is_read_without_a_copy(im, pad):
    rgb = _rgb()
    msg = _message(im, rgb, "rgb8", pad)
    out = im.image_to_rgb(msg)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))
    np.testing.assert_array_equal(out, rgb)


def test_malformed_sizes_are_refused(im):
    msg = _message(im, _rgb(), "rgb8")
    msg.data = msg.data[:-1]
    with pytest.raises(ValueError, match="104 data bytes, expected step 15 x height 7 = 105"):
        im.image_to_rgb(msg)
    msg = _message(im, _rgb(), "bgra8")
    msg.step = 19
    with pytest.raises(ValueError, match="step 19 is less than width 5 x 4 bytes per pixel = 20"):
        im.image_to_rgb(msg)
    with pytest.raises(ValueError, match="no pixels"):
        im.image_to_rgb(im.Image(encoding="rgb8"))
    with pytest.raises(ValueError, match=r"needs \[H, W, 3\] uint8 RGB, got float32"):
        im.rgb_to_image(np.zeros((4, 4, 3), np.float32), im.Header())
    with pytest.raises(ValueError, match=r"needs \[H, W\] uint8"):
        im.rgb_to_image(_rgb(), im.Header(), "mono8")


def test_unsupported_encodings_are_named(im):
    msg = _message(im, _rgb(), "rgb8")
    msg.encoding = "yuv422"
    with pytest.raises(im.UnsupportedEncoding, match="'yuv422'.*rgb8, bgr8, bgra8, rgba8, mono8"):
        im.image_to_rgb(msg)
    assert issubclass(im.UnsupportedEncoding, ValueError)
    with pytest.raises(im.UnsupportedEncoding, match="'rgba8'"):
        im.rgb_to_image(_rgb(), im.Header(), "rgba8")
    with pytest.raises(im.UnsupportedEncoding, match="'8UC1'.*32FC1, 16UC1"):
        im.depth_to_metres(_message(im, np.zeros((2, 2), np.uint8), "8UC1"))
    with pytest.raises(im.UnsupportedEncoding, match="'16UC2'"):
        im.depth_to_image(np.zeros((2, 2), np.float32), im.Header(), "16UC2")


def _depth() -> np.ndarray:
    depth = np.linspace(0.25, 3.0, 20, dtype=np.float32).reshape(4, 5)
    depth[0, :4] = [np.nan, np.inf, -1.0, 0.0]
    return depth


def _expected_metres() -> np.ndarray:
    expected = _depth()
    expected[0, :4] = np.nan
    return expected


def test_depth_32fc1_round_trip_marks_invalid_as_nan(im):
    msg = im.depth_to_image(_depth(), im.Header(frame_id="cam"))
    assert (msg.encoding, msg.step, msg.width, msg.height) == ("32FC1", 20, 5, 4)
    out = im.depth_to_metres(msg)
    assert out.dtype == np.float32 and out.shape == (4, 5)
    np.testing.assert_array_equal(out, _expected_metres())  # NaNs compare equal here


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("pad", [0, 6])
def test_depth_32fc1_honours_step_and_byte_order(im, big_endian, pad):
    msg = _message(im, _depth(), "32FC1", pad, big_endian)
    np.testing.assert_array_equal(im.depth_to_metres(msg), _expected_metres())


def test_depth_16uc1_is_millimetres_with_zero_as_no_measurement(im):
    depth = _depth()
    depth[3, 4] = 70.0  # beyond uint16 millimetres: no measurement rather than a clipped wrong value
    msg = im.depth_to_image(depth, im.Header(), "16UC1")
    assert (msg.encoding, msg.step) == ("16UC1", 10)
    mm = np.frombuffer(msg.data, np.uint16).reshape(4, 5)
    assert list(mm[0, :5]) == [0, 0, 0, 0, round(float(depth[0, 4]) * 1000)] and mm[3, 4] == 0
    out = im.depth_to_metres(msg)
    expected = np.round(_expected_metres() * 1000) / 1000
    expected[3, 4] = np.nan
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    assert np.array_equal(np.isnan(out), np.isnan(expected))


@pytest.mark.parametrize("big_endian", [False, True])
def test_depth_16uc1_big_endian_and_padded(im, big_endian):
    mm = np.array([[0, 1, 1000], [258, 65535, 1500]], np.uint16)
    out = im.depth_to_metres(_message(im, mm, "16UC1", pad=2, big_endian=big_endian))
    np.testing.assert_allclose(out, [[np.nan, 0.001, 1.0], [0.258, 65.535, 1.5]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"needs \[H, W\] float metres"):
        im.depth_to_image(mm, im.Header(), "16UC1")


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_compressed_images_decode(im, ext):
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :24] = (200, 30, 60)  # flat regions: jpeg keeps them close
    rgb[:, 24:] = (20, 180, 90)
    ok, data = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    out = im.compressed_to_rgb(im.CompressedImage(format=ext[1:], data=data.tobytes()))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    if ext == ".png":
        np.testing.assert_array_equal(out, rgb)
    else:
        assert np.abs(out.astype(int) - rgb).mean() < 4


def test_undecodable_compressed_data_is_refused(im):
    with pytest.raises(ValueError, match="cannot decode the compressed image .format 'jpeg', 9 bytes"):
        im.compressed_to_rgb(im.CompressedImage(format="jpeg", data=b"not a jpg"))
    with pytest.raises(ValueError, match="0 bytes"):
        im.compressed_to_rgb(im.CompressedImage(format="png"))


def test_labels_become_mono16_and_read_back(im):
    labels = np.array([[0, 1, 2], [300, 65535, 0]], np.int64)  # ids above 255 keep their own value
    msg = im.labels_to_mono16(labels, im.Header(frame_id="cam"))
    assert (msg.encoding, msg.width, msg.height, msg.step, msg.header.frame_id) == ("mono16", 3, 2, 6, "cam")
    np.testing.assert_array_equal(im.mono16_to_labels(msg), labels)
    with pytest.raises(ValueError, match="0..65536 do not fit mono16"):
        im.labels_to_mono16(np.array([[0, 65536]]), im.Header())
    with pytest.raises(ValueError, match="needs \\[H, W\\] integers"):
        im.labels_to_mono16(np.zeros((2, 2), np.float32), im.Header())
    with pytest.raises(im.UnsupportedEncoding):
        im.mono16_to_labels(im.rgb_to_image(np.zeros((2, 2), np.uint8), im.Header(), "mono8"))


def test_camera_info_round_trip(im):
    header = im.Header(frame_id="cam")
    info = im.camera_info_msg(header, 640, 480, 500.0, 510.0, 319.5, 239.5)
    assert (info.width, info.height, info.distortion_model) == (640, 480, "plumb_bob")
    assert info.header.frame_id == "cam"
    assert list(info.d) == [0.0] * 5
    assert list(info.k) == [500.0, 0, 319.5, 0, 510.0, 239.5, 0, 0, 1]
    assert list(info.r) == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert list(info.p) == [500.0, 0, 319.5, 0, 0, 510.0, 239.5, 0, 0, 0, 1, 0]
    assert im.intrinsics_from_camera_info(info) == (500.0, 510.0, 319.5, 239.5)
    with pytest.raises(ValueError, match="K is all zeros"):
        im.intrinsics_from_camera_info(im.CameraInfo())
    info.k[4] = 0.0
    with pytest.raises(ValueError, match="invalid intrinsics"):
        im.intrinsics_from_camera_info(info)
    with pytest.raises(ValueError, match="invalid camera intrinsics"):
        im.camera_info_msg(header, 640, 480, 0.0, 500.0, 320.0, 240.0)
