"""SequenceRecorder: frames written off the caller's thread into a readable sequence, with bounded memory."""

import threading

import numpy as np
import pytest

from spgrasp_ros.cameras import sequence_recorder
from spgrasp_ros.cameras.sequence_recorder import SequenceRecorder, new_sequence_folder
from spgrasp_ros.data.recorded import SequenceWriter, read_recorded, read_sequence

SIZE = (16, 12)  # (W, H)
CAMERA = {"fx": 20.0, "fy": 21.0, "cx": 7.5, "cy": 5.5}


def _frame(index: int) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.random.default_rng(index).integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    depth = np.full((SIZE[1], SIZE[0]), 0.5 + 0.25 * index, np.float32)
    depth[1, 2] = np.nan
    return rgb, depth


def test_recorded_frames_read_back_as_a_sequence(tmp_path):
    recorder = SequenceRecorder(tmp_path / "seq", SIZE, 15.0, CAMERA)
    for index in range(4):
        assert recorder.put(*_frame(index))
    assert recorder.close() == 4 and recorder.dropped == 0 and recorder.error is None
    sequence = read_sequence(tmp_path / "seq")
    assert sequence.meta["fps"] == 15.0 and sequence.meta["camera"] == CAMERA and len(sequence.frames) == 4
    for index, frame in enumerate(sequence.frames):
        rgb, depth = _frame(index)
        np.testing.assert_array_equal(frame.load_image(), rgb)
        recorded = frame.load_depth()
        assert np.isnan(recorded[1, 2])  # no measurement
        np.testing.assert_allclose(recorded[~np.isnan(depth)], depth[~np.isnan(depth)], atol=1e-3)
        assert frame.objects == []  # unlabelled


def test_a_full_queue_drops_frames_instead_of_growing(tmp_path, monkeypatch):
    release, writing = threading.Event(), threading.Event()
    original = SequenceWriter.write

    def slow_write(self, *args, **kwargs):
        writing.set()
        release.wait(10)
        original(self, *args, **kwargs)

    monkeypatch.setattr(sequence_recorder.SequenceWriter, "write", slow_write)
    recorder = SequenceRecorder(tmp_path / "seq", SIZE, 30.0, max_pending=2)
    assert recorder.put(*_frame(0))
    assert writing.wait(10)  # the writer holds frame 0
    accepted = [recorder.put(*_frame(index)) for index in range(1, 6)]
    assert accepted == [True, True, False, False, False] and recorder.dropped == 3
    release.set()
    assert recorder.close() == 3
    assert len(read_sequence(tmp_path / "seq").frames) == 3


def test_a_write_failure_stops_recording_and_still_finishes_the_sequence(tmp_path, monkeypatch):
    def failing_write(self, *args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(sequence_recorder.SequenceWriter, "write", failing_write)
    recorder = SequenceRecorder(tmp_path / "seq", SIZE, 30.0)
    recorder.put(*_frame(0))
    assert recorder.close() == 0
    assert "No space left" in str(recorder.error) and not recorder.put(*_frame(1))
    assert read_sequence(tmp_path / "seq").frames == []


def test_an_existing_sequence_is_never_overwritten(tmp_path):
    SequenceRecorder(tmp_path / "seq", SIZE, 30.0).close()
    with pytest.raises(FileExistsError):
        SequenceRecorder(tmp_path / "seq", SIZE, 30.0)


def test_new_sequence_folders_are_unique_and_read_as_one_dataset(tmp_path):
    folders = []
    for index in range(2):
        folder = new_sequence_folder(tmp_path / "root", "zed")
        assert folder.parent == tmp_path / "root" and folder.name.startswith("zed_") and folder not in folders
        recorder = SequenceRecorder(folder, SIZE, 30.0)
        recorder.put(*_frame(index))
        recorder.close()
        folders.append(folder)
    sequences, report = read_recorded(tmp_path / "root")
    assert len(sequences) == 2 and report.read == 2
