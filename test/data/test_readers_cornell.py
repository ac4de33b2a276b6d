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
    write_rgb,
    write_text,
)

from spgrasp_ros.data.readers.cornell import read_cornell
from spgrasp_ros.data.types import DatasetError

NAN_RECTANGLE = "NaN NaN\nNaN NaN\nNaN NaN\nNaN NaN\n"  # as in some released cpos files


def write_item(folder, number, rectangles_text, seed=0, depth_mm=None):
    """pcdNNNNr.png + pcdNNNNcpos.txt (+ a negative file, + optional float32 depth tiff in millimetres)."""
    stem = folder / f"pcd{number:04d}"
    image = write_rgb(folder / f"pcd{number:04d}r.png", seed)
    write_text(folder / f"pcd{number:04d}cpos.txt", rectangles_text)
    write_text(folder / f"pcd{number:04d}cneg.txt", corner_lines(ALONG_X, ALONG_X))
    if depth_mm is not None:
        assert cv2.imwrite(f"{stem}d.tiff", np.full((30, 40), depth_mm, dtype=np.float32))
    return image


def test_reads_rectangles_depth_and_structure(tmp_path):
    image = write_item(tmp_path / "01", 100, corner_lines(DOWN_RIGHT_30, ALONG_X), seed=1, depth_mm=750.0)
    write_item(tmp_path / "01", 101, corner_lines(UP_RIGHT_30) + NAN_RECTANGLE)
    write_item(tmp_path / "02", 200, "23 9.7\n33 10\n32 16\n22 15.7\n")  # integer and decimal corners
    write_rgb(tmp_path / "backgrounds" / "pcdb0001r.png")  # background images carry no labels
    sequences, report = read_cornell(tmp_path)

    assert [s.name for s in sequences] == ["pcd0100", "pcd0101", "pcd0200"]
    assert all(len(s.frames) == 1 and s.object_ids() == [1] for s in sequences)
    assert report.read == 3
    assert report.rejected == [(f"{tmp_path / '01' / 'pcd0101cpos.txt'}:5-8", "NaN or infinite corner")]

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
    write_item(tmp_path, 5, corner_lines(ALONG_X), depth_mm=2.0)
    sequences, _ = read_cornell(tmp_path, depth_scale=1.0)
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
    reasons = dict(report.rejected)
    assert report.read == 7 and len(sequences) == 7
    assert "no pcd0110cpos.txt" in reasons[str(root / "01" / "pcd0110")]
    assert "annotation without its image pcd0111r.png" in reasons[str(root / "01" / "pcd0111")]
    assert "empty annotation file" in reasons[str(root / "01" / "pcd0112")]
    cpos = root / "01" / "pcd0113cpos.txt"
    assert reasons[f"{cpos}:5-8"] == "malformed corner line '5 5 5' (expected 'x y')"
    assert reasons[f"{cpos}:9-10"] == "incomplete rectangle (2 of 4 lines)"
    assert len(sequences[-1].frames[0].object(1).grasps) == 1

    mostly_bad = tmp_path / "mostly_bad"
    write_item(mostly_bad, 1, corner_lines(ALONG_X))
    for number in (2, 3):
        write_item(mostly_bad, number, NAN_RECTANGLE)  # rectangle and image both rejected
    with pytest.raises(DatasetError, match=r"read 1 of 5 items.*NaN or infinite corner"):
        read_cornell(mostly_bad)
