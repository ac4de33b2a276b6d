"""Frame sources for replay (spgrasp_ros.cameras.frame_sources): image folders, recorded sequences with depth and
intrinsics, video files; start frame, looping, lazy reads and clear errors. No ROS needed."""

import math

import cv2
import numpy as np
import pytest

from spgrasp_ros.cameras.frame_sources import FrameSourceError, open_frame_source, pinhole_intrinsics
from spgrasp_ros.data.recorded import SequenceWriter
from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic

SIZE = (24, 16)  # (W, H)


def _images(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8) for _ in range(count)]


def _write_folder(folder, images) -> None:
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"frame_{i:03d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    (folder / "notes.txt").write_text("not an image")


def _depths(count: int) -> list[np.ndarray]:
    depths = []
    for i in range(count):
        depth = np.full((SIZE[1], SIZE[0]), 0.5 + 0.25 * i, np.float32)
        depth[0, 0] = np.nan  # no measurement
        depths.append(depth)
    return depths


def _frames(source, count: int):
    return [source.read() for _ in range(count)]


def test_image_folder_in_name_order_lazily(tmp_path):
    images = _images(3)
    _write_folder(tmp_path / "imgs", images)
    with open_frame_source(str(tmp_path / "imgs")) as source:
        assert (source.fps, source.size, source.intrinsics, source.has_depth) == (30.0, SIZE, None, False)
        assert len(source) == 3
        (tmp_path / "imgs" / "frame_002.png").write_bytes(b"broken")  # read only when reached
        for (rgb, depth), image in zip(_frames(source, 2), images):
            assert depth is None and rgb.dtype == np.uint8
            np.testing.assert_array_equal(rgb, image)
        with pytest.raises(FrameSourceError, match="frame_002.png: not a readable image"):
            source.read()
        assert source.read() is None


def test_start_frame_and_loop(tmp_path):
    images = _images(3)
    _write_folder(tmp_path / "imgs", images)
    source = open_frame_source(str(tmp_path / "imgs"), start_frame=1, loop=True)
    got = [rgb for rgb, _ in _frames(source, 5)]
    for rgb, index in zip(got, [1, 2, 1, 2, 1]):
        np.testing.assert_array_equal(rgb, images[index])
    assert len(list(open_frame_source(str(tmp_path / "imgs"), start_frame=2))) == 1


def test_recorded_sequence_with_depth_and_intrinsics(tmp_path):
    images, depths = _images(3), _depths(3)
    camera = {"fx": 40.0, "fy": 41.0, "cx": 11.5, "cy": 7.5}
    with SequenceWriter(tmp_path / "rec", SIZE, fps=15.0, camera=camera) as writer:
        for image, depth in zip(images, depths):
            writer.write(image, [], depth_m=depth)
    with open_frame_source(str(tmp_path / "rec")) as source:
        assert (source.fps, source.size, source.has_depth) == (15.0, SIZE, True)
        assert source.intrinsics == (40.0, 41.0, 11.5, 7.5)
        frames = list(source)
    assert len(frames) == 3
    for (rgb, depth), image, expected in zip(frames, images, depths):
        np.testing.assert_array_equal(rgb, image)
        assert depth.dtype == np.float32 and math.isnan(depth[0, 0])
        np.testing.assert_allclose(depth[1:], expected[1:], atol=1e-6)


def test_recorded_sequence_without_depth(tmp_path):
    folder = write_synthetic(tmp_path / "synth", 1, SynthConfig(size=SIZE, frames=2), progress=False)[0]
    with open_frame_source(str(folder)) as source:
        assert (source.fps, source.intrinsics, source.has_depth) == (30.0, None, False)
        assert [depth for _, depth in source] == [None, None]


def _write_video(path, colours, fps: float = 12.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened(), "OpenCV cannot write MJPG .avi here"
    for colour in colours:
        writer.write(np.full((SIZE[1], SIZE[0], 3), colour[::-1], np.uint8))  # BGR
    writer.release()


COLOURS = [(200, 20, 20), (20, 200, 20), (20, 20, 200), (200, 200, 20)]


def _colour_index(rgb: np.ndarray) -> int:
    mean = rgb.reshape(-1, 3).mean(0)
    return int(np.argmin([np.abs(mean - c).sum() for c in COLOURS]))


def test_video_file(tmp_path):
    _write_video(tmp_path / "clip.avi", COLOURS)
    with open_frame_source(str(tmp_path / "clip.avi")) as source:
        assert source.fps == pytest.approx(12.0) and source.size == SIZE and source.intrinsics is None
        frames = list(source)
    assert [_colour_index(rgb) for rgb, _ in frames] == [0, 1, 2, 3]
    assert all(rgb.shape == (SIZE[1], SIZE[0], 3) and depth is None for rgb, depth in frames)
    assert np.abs(frames[0][0].astype(int) - COLOURS[0]).mean() < 6  # RGB order, MJPG is lossy
    looping = open_frame_source(str(tmp_path / "clip.avi"), start_frame=2, loop=True)
    assert [_colour_index(rgb) for rgb, _ in _frames(looping, 5)] == [2, 3, 2, 3, 2]
    looping.close()
    assert looping.read() is None  # closed


def test_single_image_file(tmp_path):
    image = _images(1)[0]
    cv2.imwrite(str(tmp_path / "one.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    frames = list(open_frame_source(str(tmp_path / "one.png")))
    assert len(frames) == 1
    np.testing.assert_array_equal(frames[0][0], image)


def test_unusable_sources_are_named(tmp_path):
    with pytest.raises(FrameSourceError, match="no source given"):
        open_frame_source("  ")
    with pytest.raises(FrameSourceError, match=f"{tmp_path}/missing.avi: no such file or folder"):
        open_frame_source(str(tmp_path / "missing.avi"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FrameSourceError, match=r"empty: no \*.png/\*.jpg/\*.jpeg images"):
        open_frame_source(str(tmp_path / "empty"))
    (tmp_path / "junk.avi").write_bytes(b"\0" * 100)
    with pytest.raises(FrameSourceError, match="junk.avi: cannot open this video"):
        open_frame_source(str(tmp_path / "junk.avi"))
    with pytest.raises(FrameSourceError, match="webcam:99: cannot open this camera"):
        open_frame_source("webcam:99")
    _write_folder(tmp_path / "imgs", _images(2))
    with pytest.raises(FrameSourceError, match="start frame 2 is outside its 2 frames"):
        open_frame_source(str(tmp_path / "imgs"), start_frame=2)
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "sequence.json").write_text("{broken")
    with pytest.raises(FrameSourceError, match="sequence.json: invalid JSON"):
        open_frame_source(str(tmp_path / "rec"))


def test_a_frame_of_another_size_is_refused_and_skipped(tmp_path):
    images = _images(3)
    images[1] = np.zeros((SIZE[1] + 2, SIZE[0], 3), np.uint8)
    _write_folder(tmp_path / "imgs", images)
    source = open_frame_source(str(tmp_path / "imgs"))
    source.read()
    with pytest.raises(FrameSourceError, match="frame_001.png: 24x18, expected 24x16"):
        source.read()
    np.testing.assert_array_equal(source.read()[0], images[2])


def test_default_intrinsics_are_a_centred_60_degree_pinhole():
    fx, fy, cx, cy = pinhole_intrinsics((640, 480))
    assert fx == fy == pytest.approx(320 / math.tan(math.radians(30)))
    assert (cx, cy) == (319.5, 239.5)
    assert 2 * math.degrees(math.atan(320 / fx)) == pytest.approx(60.0)
