"""Cornell reader: a tiny dataset in the released layout, read back exactly; bad input named."""

import math

import cv2
import numpy as np
import pytest
from dataset_fixtures import (
    ALONG_X,
    DOWN_RIGHT_30,
    DOWN_RIGHT_30_ANGLE,
    DOWN_RIGHT_30_CENTER,
    UP_RIGHT_30,
    corner_lines,
    corrupt_file,
    truncate_file,
    write_rgb,
    write_text,
)

from spgrasp_ros.data.readers.cornell import read_cornell
from spgrasp_ros.data.types import DatasetError

NAN_RECTANGLE = "NaN NaN\nNaN NaN\nNaN NaN\nNaN NaN\n"  # as in some released cpos files


def write_item(folder, number, rectangles_text, seed=0, depth_m=None):
    """pcdNNNNr.png + pcdNNNNcpos.txt (+ a negative file, + optional float32 depth tiff: a value in metres, as
    the released tiffs hold, or a full array)."""
    stem = folder / f"pcd{number:04d}"
    image = write_rgb(folder / f"pcd{number:04d}r.png", seed)
    write_text(folder / f"pcd{number:04d}cpos.txt", rectangles_text)
    write_text(folder / f"pcd{number:04d}cneg.txt", corner_lines(ALONG_X, ALONG_X))
    if depth_m is not None:
        assert cv2.imwrite(f"{stem}d.tiff", np.broadcast_to(np.float32(depth_m), (30, 40)).astype(np.float32))
    return image


def test_reads_rectangles_depth_and_structure(tmp_path):
    image = write_item(tmp_path / "01", 100, corner_lines(DOWN_RIGHT_30, ALONG_X), seed=1, depth_m=0.75)
    write_item(tmp_path / "01", 101, corner_lines(UP_RIGHT_30) + NAN_RECTANGLE)
    write_item(tmp_path / "02", 200, "23 9.7\n33 10\n32 16\n22 15.7\n")  # integer and decimal corners
    write_rgb(tmp_path / "backgrounds" / "pcdb0001r.png")  # background images carry no labels
    sequences, report = read_cornell(tmp_path)

    assert [s.name for s in sequences] == ["pcd0100", "pcd0101", "pcd0200"]
    assert all(len(s.frames) == 1 and s.object_ids() == [1] for s in sequences)
    assert report.read == 3 and report.rejected == [] and report.annotations == 4
    assert report.rejected_annotations == [(f"{tmp_path / '01' / 'pcd0101cpos.txt'}:5-8", "NaN or infinite corner")]

    frame = sequences[0].frames[0]
    grasps = frame.object(1).grasps
    assert len(grasps) == 2  # negatives are not ground truth
    np.testing.assert_allclose(grasps.centers[0], DOWN_RIGHT_30_CENTER, atol=1e-6)
    assert grasps.angles[0] == pytest.approx(DOWN_RIGHT_30_ANGLE, abs=1e-6)  # down-right on screen: +30 deg
    assert (grasps.widths[0], grasps.jaws[0]) == pytest.approx((10.0, 4.0), abs=1e-6)
    np.testing.assert_allclose(grasps.centers[1], (10, 7))
    assert (grasps.angles[1], grasps.widths[1], grasps.jaws[1]) == pytest.approx((0.0, 10.0, 4.0))
    up = sequences[1].frames[0].object(1).grasps
    assert len(up) == 1 and up.angles[0] == pytest.approx(-math.pi / 6, abs=1e-6)  # up-right: -30 deg
    third = sequences[2].frames[0].object(1).grasps
    assert third.angles[0] == pytest.approx(math.atan2(0.3, 10))
    assert third.widths[0] == pytest.approx(math.hypot(10, 0.3))

    assert np.array_equal(frame.load_image(), image)
    depth = frame.load_depth()
    assert depth.dtype == np.float32 and depth.shape == (30, 40) and np.allclose(depth, 0.75)
    assert sequences[1].frames[0].load_depth() is None and frame.load_masks() is None


def test_depth_scale_and_flat_layout(tmp_path):
    write_item(tmp_path, 5, corner_lines(ALONG_X), depth_m=2000.0)  # a tiff made in millimetres
    sequences, _ = read_cornell(tmp_path, depth_scale=0.001)
    assert sequences[0].name == "pcd0005" and np.allclose(sequences[0].frames[0].load_depth(), 2.0)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        read_cornell(tmp_path / "missing")
    write_text(tmp_path / "other" / "image_0001.txt", "1 2\n")
    with pytest.raises(DatasetError, match="no Cornell files"):
        read_cornell(tmp_path / "other")

    root = tmp_path / "cornell"
    for number in range(100, 106):
        write_item(root / "01", number, corner_lines(ALONG_X))
    write_rgb(root / "01" / "pcd0110r.png")  # image without its positive rectangles
    write_text(root / "01" / "pcd0111cpos.txt", corner_lines(ALONG_X))  # rectangles without their image
    write_item(root / "01", 112, "")  # empty annotation file
    write_item(root / "01", 113, corner_lines(ALONG_X) + "5 5 5\n6 6\n7 7\n8 8\n" + "1 1\n2 2\n")
    sequences, report = read_cornell(root)
    reasons = dict(report.rejected + report.rejected_annotations)
    assert report.read == 7 and len(sequences) == 7 and len(report.rejected) == 2  # pcd0110, pcd0112
    assert "no pcd0110cpos.txt" in reasons[str(root / "01" / "pcd0110")]
    assert reasons[str(root / "01" / "pcd0111cpos.txt")] == "annotation without its image pcd0111r.png"
    assert "empty annotation file" in reasons[str(root / "01" / "pcd0112")]
    cpos = root / "01" / "pcd0113cpos.txt"
    assert reasons[f"{cpos}:5-8"] == "malformed corner line '5 5 5' (expected 'x y')"
    assert reasons[f"{cpos}:9-10"] == "incomplete rectangle (2 of 4 lines)"
    assert len(sequences[-1].frames[0].object(1).grasps) == 1

    mostly_bad = tmp_path / "mostly_bad"
    write_item(mostly_bad, 1, corner_lines(ALONG_X))
    for number in (2, 3):
        write_item(mostly_bad, number, NAN_RECTANGLE)  # rectangle and image both rejected
    with pytest.raises(DatasetError, match=r"read 1 of 3 images; first rejected: .*pcd0002: .*no valid rectangle"):
        read_cornell(mostly_bad)


def test_depth_tiffs_hold_metres(tmp_path):
    """The released pcdNNNNd.tiff files are float32 metres (median about 1.2, maximum about 2.0): read as they
    are; pixels without a point (0, NaN) are no measurement."""
    depth = np.full((30, 40), 1.20, np.float32)
    depth[0, :5] = 2.04
    depth[1, 0], depth[1, 1] = 0.0, np.nan
    write_item(tmp_path, 1, corner_lines(ALONG_X), depth_m=depth)
    sequences, _ = read_cornell(tmp_path)
    loaded = sequences[0].frames[0].load_depth()
    assert loaded.dtype == np.float32 and np.nanmedian(loaded) == pytest.approx(1.20)
    assert np.nanmax(loaded) == pytest.approx(2.04) and np.isnan(loaded[1, :2]).all()


def test_corrupt_and_truncated_images_are_rejected_when_read(tmp_path):
    for number in range(1, 5):
        write_item(tmp_path, number, corner_lines(ALONG_X), seed=number)
    truncate_file(tmp_path / "pcd0002r.png")
    corrupt_file(tmp_path / "pcd0003r.png")
    sequences, report = read_cornell(tmp_path)
    assert [s.name for s in sequences] == ["pcd0001", "pcd0004"]
    reasons = dict(report.rejected)
    assert report.read == 2 and len(reasons) == 2
    for number in (2, 3):
        reason = reasons[str(tmp_path / f"pcd000{number}")]
        assert reason.startswith(f"{tmp_path / f'pcd000{number}r.png'}: corrupt or truncated image (")
    assert "rejected 2" in report.summary()
    assert all(f.load_image().shape == (30, 40, 3) for s in sequences for f in s.frames)


def test_bad_rectangles_count_as_annotations_not_images(tmp_path):
    """Three NaN rectangles beside a good one leave a readable image; one long bad file among good images
    rejects its rectangles (and its image), not the dataset."""
    write_item(tmp_path / "one", 1, corner_lines(ALONG_X) + NAN_RECTANGLE * 3)
    sequences, report = read_cornell(tmp_path / "one")
    assert len(sequences) == 1 and report.read == 1 and report.rejected == []
    assert report.annotations == 1 and len(report.rejected_annotations) == 3

    folder = tmp_path / "folder"
    for number in range(1, 4):
        write_item(folder, number, corner_lines(ALONG_X, DOWN_RIGHT_30))
    write_item(folder, 4, NAN_RECTANGLE * 35)  # a 140-line file, every rectangle bad
    sequences, report = read_cornell(folder)
    assert len(sequences) == 3 and report.read == 3 and len(report.rejected) == 1
    assert report.annotations == 6 and len(report.rejected_annotations) == 35
    assert report.summary().startswith("read 3 images, rejected 1; annotations: read 6, rejected 35")
