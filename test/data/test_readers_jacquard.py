"""Jacquard reader: the released layout read back, theta's sign pinned against image axes, clear errors."""

import math

import cv2
import numpy as np
import pytest
from dataset_fixtures import DOWN_RIGHT_30, corrupt_file, write_png, write_rgb, write_text

from spgrasp_ros.data.readers.jacquard import read_jacquard
from spgrasp_ros.data.types import DatasetError
from spgrasp_ros.grasps.rectangles import grasp_corners

OBJECT = "1a1ec1cfe633adcdebbf11b1629fc16a"  # ShapeNet-style object id, as the dataset's folders are named


def write_item(folder, scene, lines, seed=0, mask=True, depth=True):
    """<n>_<id>_RGB.png, _grasps.txt, _mask.png (0/255) and float32 depth tiffs in metres."""
    stem = folder / f"{scene}_{folder.name}"
    image = write_rgb(folder / f"{scene}_{folder.name}_RGB.png", seed)
    write_text(folder / f"{scene}_{folder.name}_grasps.txt", "".join(line + "\n" for line in lines))
    if mask:
        object_mask = np.zeros((30, 40), np.uint8)
        object_mask[10:20, 12:30] = 255
        write_png(folder / f"{scene}_{folder.name}_mask.png", object_mask)
    if depth:
        assert cv2.imwrite(f"{stem}_perfect_depth.tiff", np.full((30, 40), 0.70, np.float32))
        assert cv2.imwrite(f"{stem}_stereo_depth.tiff", np.full((30, 40), 0.72, np.float32))
    return image


def test_reads_grasps_masks_and_depth(tmp_path):
    folder = tmp_path / "Jacquard_Dataset_0" / OBJECT
    image = write_item(folder, 0, ["20.0;15.0;30.0;10.0;4.0",  # closing down-right at +30 deg on screen
                                   "20.0;15.0;30.0;10.0;6.0",  # the same grasp with another jaw size
                                   "10; 7; -30; 8; 3",  # spaces after the separators, as in released files
                                   "30;20;120;9;2"])  # 120 deg is the same closing line as -60 deg
    write_item(folder, 1, ["5;5;90;6;2"], seed=2, depth=False)
    sequences, report = read_jacquard(tmp_path)

    assert [s.name for s in sequences] == [f"0_{OBJECT}", f"1_{OBJECT}"] and report.read == 1 + 1
    assert not report.rejected and not report.rejected_annotations and report.annotations == 5
    assert sequences[0].meta["object"] == OBJECT and sequences[1].meta["scene"] == 1
    frame = sequences[0].frames[0]
    grasps = frame.object(1).grasps
    np.testing.assert_allclose(grasps.centers, [[20, 15], [20, 15], [10, 7], [30, 20]])
    np.testing.assert_allclose(grasps.angles, [math.pi / 6, math.pi / 6, -math.pi / 6, -math.pi / 3],
                               atol=1e-12)
    np.testing.assert_allclose(grasps.widths, [10, 10, 8, 9])
    np.testing.assert_allclose(grasps.jaws, [4, 6, 3, 2])
    # theta = +30 is the rectangle whose jaw-to-jaw edge points down-right on screen (worked out by hand)
    np.testing.assert_allclose(grasp_corners(grasps.centers[:1], grasps.angles[:1], grasps.widths[:1],
                                             grasps.jaws[:1])[0], DOWN_RIGHT_30, atol=1e-5)
    assert sequences[1].frames[0].object(1).grasps.angles[0] == pytest.approx(-math.pi / 2)  # wrapped

    assert np.array_equal(frame.load_image(), image)
    masks = frame.load_masks()
    assert masks.dtype == np.int32 and set(np.unique(masks)) == {0, 1}
    assert masks[15, 20] == 1 and masks[0, 0] == 0
    assert np.allclose(frame.load_depth(), 0.70) and sequences[1].frames[0].load_depth() is None


def test_depth_and_mask_options(tmp_path):
    write_item(tmp_path / OBJECT, 0, ["20;15;0;10;4"])
    write_item(tmp_path / "other", 0, ["20;15;0;10;4"], mask=False)
    sequences, report = read_jacquard(tmp_path, depth="stereo")
    assert [s.name for s in sequences] == [f"0_{OBJECT}"]
    assert np.allclose(sequences[0].frames[0].load_depth(), 0.72)
    assert report.rejected == [(str(tmp_path / "other" / "0_other"),
                                f"{tmp_path / 'other' / '0_other_RGB.png'}: no 0_other_mask.png")]
    sequences, report = read_jacquard(tmp_path, masks=False, depth=None)
    assert len(sequences) == 2 and not report.rejected
    assert sequences[0].frames[0].load_masks() is None and sequences[0].frames[0].load_depth() is None
    with pytest.raises(ValueError, match="depth must be one of"):
        read_jacquard(tmp_path, depth="kinect")


def test_bad_input_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        read_jacquard(tmp_path / "missing")
    write_rgb(tmp_path / "cornell" / "pcd0100r.png")
    with pytest.raises(DatasetError, match="no Jacquard files"):
        read_jacquard(tmp_path / "cornell")

    root = tmp_path / "jacquard" / OBJECT
    for scene in (0, 1, 2, 3, 4, 10, 11, 12, 13, 14):
        write_item(root, scene, ["20;15;30;10;4"])
    write_rgb(root / f"5_{OBJECT}_RGB.png")  # image without grasps
    write_text(root / f"6_{OBJECT}_grasps.txt", "20;15;30;10;4\n")  # grasps without image
    write_item(root, 7, [])  # empty grasp file
    write_item(root, 8, ["20;15;30;10;4", "20;15;30;10", "nan;15;30;10;4", "20;15;30;-1;4", "20,15,30,10,4"])
    sequences, report = read_jacquard(tmp_path / "jacquard")
    reasons = dict(report.rejected + report.rejected_annotations)
    grasp_file = root / f"8_{OBJECT}_grasps.txt"
    by_name = {s.name: s for s in sequences}
    assert report.read == 11 and len(by_name[f"8_{OBJECT}"].frames[0].object(1).grasps) == 1
    assert [s.meta["scene"] for s in sequences] == [0, 1, 2, 3, 4, 8, 10, 11, 12, 13, 14]  # numeric order
    assert f"no 5_{OBJECT}_grasps.txt" in reasons[str(root / f"5_{OBJECT}")]
    assert "grasp file without its image" in reasons[str(root / f"6_{OBJECT}_grasps.txt")]
    assert len(report.rejected) == 2 and len(report.rejected_annotations) == 5  # images 5, 7; file 6, 4 lines
    assert "empty annotation file" in reasons[str(root / f"7_{OBJECT}")]
    assert reasons[f"{grasp_file}:2"] == "malformed grasp line '20;15;30;10' (expected 'x;y;theta;w;h')"
    assert reasons[f"{grasp_file}:3"] == "NaN or infinite value"
    assert reasons[f"{grasp_file}:4"] == "non-positive opening or jaw size (-1.0, 4.0)"
    assert "malformed grasp line '20,15,30,10,4'" in reasons[f"{grasp_file}:5"]

    mostly_bad = tmp_path / "mostly_bad" / OBJECT
    write_item(mostly_bad, 0, ["1;2;3;4;5"])
    write_item(mostly_bad, 1, ["1;2;3;4"])  # its only line and the image are rejected
    write_item(mostly_bad, 2, ["1;2;3;4"])
    with pytest.raises(DatasetError, match=r"read 1 of 3 images"):
        read_jacquard(tmp_path / "mostly_bad")


def test_stereo_depth_marks_no_measurement_with_minus_one(tmp_path):
    write_item(tmp_path / OBJECT, 0, ["20;15;0;10;4"])
    stereo = np.full((30, 40), 0.72, np.float32)
    stereo[3:6, 4:9] = -1.0  # the released stereo tiffs: -1 where stereo matching found nothing
    assert cv2.imwrite(str(tmp_path / OBJECT / f"0_{OBJECT}_stereo_depth.tiff"), stereo)
    sequences, _ = read_jacquard(tmp_path, depth="stereo")
    depth = sequences[0].frames[0].load_depth()
    assert np.isnan(depth[3:6, 4:9]).all() and np.isnan(depth).sum() == 15
    assert np.nanmin(depth) == pytest.approx(0.72)


def test_broken_images_and_masks_are_rejected_when_read(tmp_path):
    folder = tmp_path / OBJECT
    for scene in range(7):
        write_item(folder, scene, ["20;15;0;10;4"], seed=scene)
    corrupt_file(folder / f"1_{OBJECT}_RGB.png")
    corrupt_file(folder / f"2_{OBJECT}_mask.png")
    write_png(folder / f"3_{OBJECT}_mask.png", np.zeros((20, 40), np.uint8))  # another size than the image
    sequences, report = read_jacquard(tmp_path)
    reasons = dict(report.rejected)
    assert [s.meta["scene"] for s in sequences] == [0, 4, 5, 6] and report.read == 4
    assert "corrupt or truncated image" in reasons[str(folder / f"1_{OBJECT}")]
    assert reasons[str(folder / f"2_{OBJECT}")].startswith(f"{folder / f'2_{OBJECT}_mask.png'}: corrupt or truncated")
    assert reasons[str(folder / f"3_{OBJECT}")] == \
        f"{folder / f'3_{OBJECT}_mask.png'}: mask of 40x20 px for an image of 40x30 px"
    sequences, report = read_jacquard(tmp_path, masks=False)  # without masks, only the colour image counts
    assert [s.meta["scene"] for s in sequences] == [0, 2, 3, 4, 5, 6]


def test_bad_grasp_lines_count_as_annotations_not_images(tmp_path):
    """One image whose file has three NaN lines beside a good one is read; a 140-line file of bad lines
    rejects its image only."""
    write_item(tmp_path / "one" / OBJECT, 0, ["20;15;0;10;4", "nan;1;2;3;4", "1;nan;2;3;4", "1;2;nan;3;4"])
    sequences, report = read_jacquard(tmp_path / "one")
    assert len(sequences) == 1 and report.rejected == [] and len(report.rejected_annotations) == 3

    folder = tmp_path / "folder" / OBJECT
    for scene in range(3):
        write_item(folder, scene, ["20;15;0;10;4", "20;15;30;10;4"])
    write_item(folder, 3, ["nan;15;0;10;4"] * 140)
    sequences, report = read_jacquard(tmp_path / "folder")
    assert len(sequences) == 3 and len(report.rejected) == 1 and len(report.rejected_annotations) == 140
    assert report.summary().startswith("read 3 images, rejected 1; annotations: read 6, rejected 140")
