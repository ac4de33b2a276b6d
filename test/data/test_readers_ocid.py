"""OCID-grasp reader: nested sequence folders, rectangles given to the instance under their centre."""

import math

import numpy as np
import pytest
from dataset_fixtures import (
    ALONG_X,
    DOWN_RIGHT_30,
    DOWN_RIGHT_30_ANGLE,
    DOWN_RIGHT_30_CENTER,
    corner_lines,
    corrupt_file,
    write_png,
    write_rgb,
    write_text,
)

from spgrasp_ros.data.readers.ocid import read_ocid
from spgrasp_ros.data.types import DatasetError


def ocid_order(cornell_corners):
    """OCID lists a rectangle starting one corner earlier: its edge 1 -> 2 is the closing edge."""
    return [cornell_corners[3], *cornell_corners[:3]]


def instance_mask():
    """Instance 1 left (x < 14), instance 2 right (x >= 16), background between and below y = 25."""
    mask = np.zeros((30, 40), np.uint8)
    mask[:25, :14] = 1
    mask[:25, 16:] = 2
    return mask


def write_frame(folder, name, rectangles_text, seed=0, depth_mm=800):
    """rgb/, depth/, Annotations/, seg_mask_labeled_combi/ and seg_mask_instances_combi/ of one image."""
    image = write_rgb(folder / "rgb" / f"{name}.png", seed)
    write_text(folder / "Annotations" / f"{name}.txt", rectangles_text)
    write_png(folder / "seg_mask_instances_combi" / f"{name}.png", instance_mask())
    write_png(folder / "seg_mask_labeled_combi" / f"{name}.png", instance_mask() * 7)  # class ids (not read)
    if depth_mm is not None:
        write_png(folder / "depth" / f"{name}.png", np.full((30, 40), depth_mm, np.uint16))
    return image


BACKGROUND = [(17.0, 26.0), (17.0, 28.0), (27.0, 28.0), (27.0, 26.0)]  # centre (22, 27): below both objects


def test_reads_sequences_and_associates_instances(tmp_path):
    sequence = tmp_path / "ARID20" / "table" / "top" / "seq08"
    first = write_frame(sequence, "result_2018-08-21-14-44-31",
                        corner_lines(ocid_order(DOWN_RIGHT_30), ocid_order(ALONG_X), BACKGROUND), seed=1)
    write_frame(sequence, "result_2018-08-21-14-44-58", corner_lines(ocid_order(ALONG_X)), depth_mm=None)
    write_frame(tmp_path / "YCB10" / "floor" / "seq02", "result_2018-08-24-10-00-00",
                corner_lines(ocid_order(DOWN_RIGHT_30)))
    sequences, report = read_ocid(tmp_path)

    assert [s.name for s in sequences] == ["ARID20/table/top/seq08", "YCB10/floor/seq02"]
    assert [f.name for f in sequences[0].frames] == ["ARID20/table/top/seq08/result_2018-08-21-14-44-31",
                                                     "ARID20/table/top/seq08/result_2018-08-21-14-44-58"]
    assert report.read == 3
    annotation = sequence / "Annotations" / "result_2018-08-21-14-44-31.txt"
    assert report.rejected == [] and report.annotations == 4
    assert report.rejected_annotations == [(f"{annotation}:9-12",
                                            "rectangle centre (22.0, 27.0) lies on background in the instance mask")]

    frame = sequences[0].frames[0]
    assert [o.object_id for o in frame.objects] == [1, 2] and sequences[0].object_ids() == [1, 2]
    right = frame.object(2).grasps  # centre (20, 15) lies on instance 2
    np.testing.assert_allclose(right.centers, [DOWN_RIGHT_30_CENTER], atol=1e-6)
    assert right.angles[0] == pytest.approx(DOWN_RIGHT_30_ANGLE, abs=1e-6)  # closing down-right: +30 deg
    assert (right.widths[0], right.jaws[0]) == pytest.approx((10.0, 4.0), abs=1e-6)
    left = frame.object(1).grasps  # centre (10, 7) lies on instance 1
    np.testing.assert_allclose(left.centers, [[10, 7]])
    assert (left.angles[0], left.widths[0], left.jaws[0]) == pytest.approx((0.0, 10.0, 4.0))
    assert len(sequences[0].frames[1].object(2).grasps) == 0  # visible, no grasp in that frame

    assert np.array_equal(frame.load_image(), first)
    assert np.array_equal(frame.load_masks(), instance_mask())
    depth = frame.load_depth()
    assert depth.dtype == np.float32 and np.allclose(depth, 0.8)
    assert sequences[0].frames[1].load_depth() is None

    cornell_order, _ = read_ocid(tmp_path / "YCB10", closing_edge_start=0)  # the other corner order
    grasps = cornell_order[0].frames[0].object(2).grasps
    assert grasps.angles[0] == pytest.approx(-math.pi / 3, abs=1e-6)  # +30 deg + 90 deg, wrapped
    assert (grasps.widths[0], grasps.jaws[0]) == pytest.approx((4.0, 10.0), abs=1e-6)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        read_ocid(tmp_path / "missing")
    with pytest.raises(ValueError, match="corner index 0..3"):
        read_ocid(tmp_path, closing_edge_start=4)
    write_text(tmp_path / "flat" / "a.txt", "1 2\n")
    with pytest.raises(DatasetError, match="no OCID sequence folders"):
        read_ocid(tmp_path / "flat")

    root = tmp_path / "ocid" / "seq01"
    for index in range(10):
        write_frame(root, f"frame_{index:02d}", corner_lines(ocid_order(ALONG_X)))
    write_rgb(root / "rgb" / "frame_10.png")  # image without annotation
    write_frame(root, "frame_11", corner_lines(ocid_order(ALONG_X)))
    (root / "seg_mask_instances_combi" / "frame_11.png").unlink()  # no instance mask
    write_text(root / "Annotations" / "frame_12.txt", corner_lines(ALONG_X))  # annotation without image
    write_frame(root, "frame_13", "")  # empty annotation
    write_frame(root, "frame_14", corner_lines(BACKGROUND, [(60, 5), (60, 9), (70, 9), (70, 5)]))
    write_frame(root, "frame_15", corner_lines(ocid_order(ALONG_X)))
    corrupt_file(root / "rgb" / "frame_15.png")
    write_frame(root, "frame_16", corner_lines(ocid_order(ALONG_X)))
    write_png(root / "seg_mask_instances_combi" / "frame_16.png", np.ones((30, 20), np.uint8))
    sequences, report = read_ocid(tmp_path / "ocid")
    reasons = dict(report.rejected + report.rejected_annotations)
    rgb = root / "rgb"
    assert report.read == 10 and len(sequences) == 1 and len(sequences[0].frames) == 10
    assert "no annotation Annotations/frame_10.txt" in reasons[str(rgb / "frame_10.png")]
    assert "no instance mask seg_mask_instances_combi/frame_11.png" in reasons[str(rgb / "frame_11.png")]
    assert reasons[str(root / "Annotations" / "frame_12.txt")] == \
        "annotation without its image rgb/frame_12.png"
    assert "empty annotation file" in reasons[str(rgb / "frame_13.png")]
    annotation = root / "Annotations" / "frame_14.txt"
    assert "lies outside the image" in reasons[f"{annotation}:5-8"]
    assert "no rectangle on an object instance" in reasons[str(rgb / "frame_14.png")]
    assert "frame_15.png: corrupt or truncated image" in reasons[str(rgb / "frame_15.png")]
    assert reasons[str(rgb / "frame_16.png")].endswith("instance mask of 20x30 px for an image of 40x30 px")
    assert len(report.rejected) == 6  # frames 10, 11, 13, 14, 15, 16; frame_12.txt is an annotation

    mostly_bad = tmp_path / "mostly_bad" / "seq01"
    write_frame(mostly_bad, "a", corner_lines(ocid_order(ALONG_X)))
    write_frame(mostly_bad, "b", corner_lines(BACKGROUND))
    write_frame(mostly_bad, "c", corner_lines(BACKGROUND))
    with pytest.raises(DatasetError, match=r"read 1 of 3 images"):
        read_ocid(tmp_path / "mostly_bad")
