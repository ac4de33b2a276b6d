"""GraspNet-1Billion reader: scene views as a video, rect rows converted exactly, ids as in label PNGs."""

import math

import numpy as np
import pytest
from dataset_fixtures import DOWN_RIGHT_30, corrupt_file, truncate_file, write_png, write_rgb

from spgrasp_ros.data.readers.graspnet import read_graspnet
from spgrasp_ros.data.types import DatasetError
from spgrasp_ros.grasps.rectangles import grasp_corners

CAM_K = np.array([[631.5, 0.0, 638.4], [0.0, 631.2, 366.5], [0.0, 0.0, 1.0]])  # a kinect camK.npy

# center_x, center_y, open_x, open_y, height, score, object_id -- worked out by hand:
ROWS = np.array([
    [20.0, 15.0, 24.330127, 17.5, 4.0, 0.9, 0.0],  # open point 5 px down-right at +30 deg: dataset object 0
    [20.0, 15.0, 15.669873, 12.5, 4.0, 0.3, 0.0],  # the other jaw of the same grasp (open point up-left)
    [10.0, 7.0, 10.0, 3.0, 6.0, 0.5, 2.0],  # open point straight up: closing along y, dataset object 2
], dtype=np.float32)


def label_image():
    """Object 0 (value 1) on the right, object 2 (value 3) on the left, 0 background."""
    label = np.zeros((30, 40), np.uint8)
    label[:, 16:] = 1
    label[:, :14] = 3
    return label


def write_view(camera_dir, view, rows=ROWS, seed=0, skip=()):
    """rgb/, depth/ (uint16 mm), label/ and rect/ files of one view."""
    name = f"{view:04d}"
    image = write_rgb(camera_dir / "rgb" / f"{name}.png", seed) if "rgb" not in skip else None
    if "depth" not in skip:
        write_png(camera_dir / "depth" / f"{name}.png", np.full((30, 40), 500 + view, np.uint16))
    if "label" not in skip:
        write_png(camera_dir / "label" / f"{name}.png", label_image())
    if "rect" not in skip:
        (camera_dir / "rect").mkdir(parents=True, exist_ok=True)
        np.save(camera_dir / "rect" / f"{name}.npy", rows)
    return image


def write_scene(root, scene, camera="kinect", views=3, cam_k=True):
    camera_dir = root / "scenes" / f"scene_{scene:04d}" / camera
    camera_dir.mkdir(parents=True)
    if cam_k:
        np.save(camera_dir / "camK.npy", CAM_K)
    return camera_dir, [write_view(camera_dir, v, seed=v) for v in range(views)]


def test_reads_scene_views_as_a_sequence(tmp_path):
    _, images = write_scene(tmp_path, 0)
    write_scene(tmp_path, 1)
    sequences, report = read_graspnet(tmp_path, views=range(3))

    assert [s.name for s in sequences] == ["scene_0000/kinect", "scene_0001/kinect"] and report.read == 6
    assert not report.rejected
    sequence = sequences[0]
    assert [f.name for f in sequence.frames] == [f"scene_0000/kinect/{v:04d}" for v in range(3)]
    assert np.array_equal(sequence.meta["K"], CAM_K) and sequence.meta["views"] == [0, 1, 2]
    assert sequence.object_ids() == [1, 3]  # dataset ids 0 and 2, + 1

    frame = sequence.frames[1]
    grasps = frame.object(1).grasps
    np.testing.assert_allclose(grasps.centers, [[20, 15], [20, 15]])
    np.testing.assert_allclose(grasps.angles, [math.pi / 6, math.pi / 6], atol=1e-6)  # either jaw: +30 deg
    np.testing.assert_allclose(grasps.widths, [10, 10], atol=1e-5)
    np.testing.assert_allclose(grasps.jaws, [4, 4])
    np.testing.assert_allclose(grasp_corners(grasps.centers[:1], grasps.angles[:1], grasps.widths[:1],
                                             grasps.jaws[:1])[0], DOWN_RIGHT_30, atol=1e-5)
    up = frame.object(3).grasps
    assert (up.angles[0], up.widths[0], up.jaws[0]) == pytest.approx((-math.pi / 2, 8.0, 6.0))

    assert np.array_equal(frame.load_image(), images[1])
    masks = frame.load_masks()
    assert masks.dtype == np.int32 and set(np.unique(masks)) == {0, 1, 3}  # the same ids as the grasps
    depth = frame.load_depth()
    assert depth.dtype == np.float32 and np.allclose(depth, 0.501)


def test_options_select_scenes_views_and_scores(tmp_path):
    write_scene(tmp_path, 0)
    write_scene(tmp_path, 7, camera="realsense")
    sequences, report = read_graspnet(tmp_path, camera="realsense", scenes=[7], views=[2, 0], min_score=0.5)
    assert [s.name for s in sequences] == ["scene_0007/realsense"] and report.read == 2
    assert [f.name[-4:] for f in sequences[0].frames] == ["0002", "0000"]
    frame = sequences[0].frames[0]
    assert len(frame.object(1).grasps) == 1 and len(frame.object(3).grasps) == 1  # score 0.3 dropped

    only_low = ROWS.copy()
    only_low[:, 5] = 0.1
    camera_dir, _ = write_scene(tmp_path / "low", 0, views=1)
    write_view(camera_dir, 0, rows=only_low)
    sequences, _ = read_graspnet(tmp_path / "low", views=[0], min_score=0.5)
    assert sequences[0].frames[0].objects == []  # the view stays in the video, with nothing annotated
    with pytest.raises(ValueError, match="camera must be one of"):
        read_graspnet(tmp_path, camera="zed")


def test_bad_input_is_named(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        read_graspnet(tmp_path / "missing")
    (tmp_path / "cornell" / "01").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no scenes/ folder"):
        read_graspnet(tmp_path / "cornell")
    (tmp_path / "empty" / "scenes" / "models").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no scene_NNNN folders"):
        read_graspnet(tmp_path / "empty")

    root = tmp_path / "graspnet"
    camera_dir, _ = write_scene(root, 0, views=8)
    write_view(camera_dir, 8, skip=("rect",))
    write_view(camera_dir, 9, skip=("depth", "label"))
    write_view(camera_dir, 10, rows=ROWS[:, :5])
    bad_rows = ROWS.copy()
    bad_rows[0, 2] = np.nan
    bad_rows[2, 2:4] = bad_rows[2, 0:2]  # open point at the centre
    write_view(camera_dir, 11, rows=bad_rows)
    write_view(camera_dir, 12)
    corrupt_file(camera_dir / "rgb" / "0012.png")
    write_view(camera_dir, 13)
    truncate_file(camera_dir / "label" / "0013.png")
    write_scene(root, 1, views=1, cam_k=False)
    sequences, report = read_graspnet(root, scenes=[0, 1, 2], views=range(14))
    reasons = dict(report.rejected + report.rejected_annotations)
    assert report.read == 9 and [s.name for s in sequences] == ["scene_0000/kinect"]
    assert "rgb/0012.png: corrupt or truncated image" in reasons[str(camera_dir / "0012")]
    assert "label/0013.png: corrupt or truncated image" in reasons[str(camera_dir / "0013")]
    assert reasons[str(camera_dir / "0008")] == f"{camera_dir}: view 0008 lacks rect/0008.npy"
    assert reasons[str(camera_dir / "0009")] == \
        f"{camera_dir}: view 0009 lacks depth/0009.png, label/0009.png"
    assert "shape [3, 5], expected [N, 7] (center_x, center_y, open_x, open_y, height, score, object_id)" in \
        reasons[str(camera_dir / "0010")]
    assert reasons[str(camera_dir / "rect" / "0011.npy")] == \
        "2 of 3 rows with non-finite values, open point at the centre or non-positive height"
    assert len(sequences[0].frames[-1].objects) == 1
    assert "missing camera intrinsics" in reasons[str(root / "scenes" / "scene_0001" / "kinect")]
    assert "no such folder (scene or camera missing)" in \
        reasons[str(root / "scenes" / "scene_0002" / "kinect")]

    with pytest.raises(DatasetError, match=r"read 2 of 5 views"):  # views 8-10 rejected (11's bad rows apart)
        read_graspnet(root, scenes=[0], views=range(7, 12))
    with pytest.raises(DatasetError, match=r"read 0 of 0 views"):
        read_graspnet(root, scenes=[])
