"""The recorded-sequence format: write, read back exactly, and clear errors for broken folders."""

import json

import numpy as np
import pytest
from dataset_fixtures import corrupt_file, truncate_file

from spgrasp_ros.data.recorded import SequenceWriter, read_recorded, read_sequence
from spgrasp_ros.data.synthetic import SynthConfig, generate_clip, write_synthetic
from spgrasp_ros.data.types import DatasetError, GraspSet, ObjectLabel


def test_synthetic_sequences_round_trip(tmp_path):
    config = SynthConfig(frames=5, occlusion_probability=1.0)
    folders = write_synthetic(tmp_path / "synth", 2, config, seed=10, progress=False)
    sequences, report = read_recorded(tmp_path / "synth")
    assert report.read == 2 and not report.rejected and [s.name for s in sequences] == [f.name for f in folders]
    clip = generate_clip(config, 10)
    sequence = sequences[0]
    assert len(sequence.frames) == 5 and sequence.meta["size"] == [160, 120]
    for t, frame in enumerate(sequence.frames):
        assert np.array_equal(frame.load_image(), clip.images[t])
        assert np.array_equal(frame.load_masks(), clip.masks[t])
        assert frame.load_depth() is None
        for ours, theirs in zip(frame.objects, clip.objects[t]):
            assert ours.object_id == theirs.object_id and ours.visible == theirs.visible
            np.testing.assert_allclose(ours.grasps.centers, theirs.grasps.centers, atol=1e-4)
            np.testing.assert_allclose(ours.grasps.widths, theirs.grasps.widths, atol=1e-4)


def test_depth_and_camera_are_stored(tmp_path):
    grasps = GraspSet.create([[10, 12]], [0.5], [8], [4])
    depth = np.full((20, 30), 0.75, dtype=np.float32)
    depth[0, 0] = np.nan
    with SequenceWriter(tmp_path / "rec", (30, 20), fps=15, camera={"fx": 100, "fy": 100, "cx": 15, "cy": 10}) as w:
        w.write(np.zeros((20, 30, 3), np.uint8), [ObjectLabel(3, grasps)], depth_m=depth)
    sequence = read_sequence(tmp_path / "rec")
    loaded = sequence.frames[0].load_depth()
    assert np.isnan(loaded[0, 0]) and loaded[5, 5] == pytest.approx(0.75)  # 0 on disk: no measurement
    assert sequence.meta["camera"]["fx"] == 100 and sequence.meta["fps"] == 15
    assert sequence.frames[0].objects[0].grasps.angles[0] == pytest.approx(0.5)
    with pytest.raises(FileExistsError):
        SequenceWriter(tmp_path / "rec", (30, 20))
    with pytest.raises(ValueError, match="expected 30x20x3 uint8"):
        SequenceWriter(tmp_path / "rec2", (30, 20)).write(np.zeros((20, 31, 3), np.uint8), [])


def test_broken_folders_are_named(tmp_path):
    write_synthetic(tmp_path / "ok", 1, SynthConfig(frames=3), progress=False)
    folder = next((tmp_path / "ok").iterdir())
    with pytest.raises(DatasetError, match="no such folder"):
        read_recorded(tmp_path / "missing")
    (tmp_path / "empty" / "junk").mkdir(parents=True)
    with pytest.raises(DatasetError, match="read 0 of 1.*no sequence.json"):
        read_recorded(tmp_path / "empty")
    lines = (folder / "annotations.jsonl").read_text().splitlines()
    (folder / "annotations.jsonl").write_text("\n".join(lines[:2]) + "\n")
    with pytest.raises(DatasetError, match="2 lines for 3 frames"):
        read_sequence(folder)
    (folder / "annotations.jsonl").write_text("\n".join([lines[0], "{broken", lines[2]]) + "\n")
    with pytest.raises(DatasetError, match="annotations.jsonl:2: invalid JSON"):
        read_sequence(folder)
    (folder / "annotations.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "rgb" / "000001.png").unlink()
    with pytest.raises(DatasetError, match="000001.png: missing colour frame"):
        read_sequence(folder)
    meta = json.loads((folder / "sequence.json").read_text())
    (folder / "sequence.json").write_text(json.dumps({**meta, "format": "other/9"}))
    with pytest.raises(DatasetError, match="format 'other/9'"):
        read_sequence(folder)


def test_a_sequence_with_a_broken_frame_is_rejected_when_read(tmp_path):
    folders = write_synthetic(tmp_path / "rec", 5, SynthConfig(frames=3, size=(64, 48)), progress=False)
    truncate_file(folders[1] / "rgb" / "000002.png")
    corrupt_file(folders[2] / "masks" / "000000.png")
    sequences, report = read_recorded(tmp_path / "rec")
    assert [s.name for s in sequences] == [folders[i].name for i in (0, 3, 4)] and report.read == 3
    reasons = dict(report.rejected)
    assert reasons[str(folders[1])].startswith(f"{folders[1] / 'rgb' / '000002.png'}: corrupt or truncated image")
    assert reasons[str(folders[2])].startswith(f"{folders[2] / 'masks' / '000000.png'}: corrupt or truncated")
    assert report.summary().startswith("read 3 sequences, rejected 2")
