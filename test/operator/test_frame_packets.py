"""What the operator page is sent: packets round-trip, JPEGs are shrunk to the bound, masks keep their colours."""

import math

import cv2
import numpy as np
import pytest

from spgrasp_ros.operator.frame_packets import (
    FRAME,
    MASK,
    MASK_ALPHA,
    display_size,
    frame_packet,
    grasp_summary,
    mask_packet,
    pack,
    unpack,
)
from spgrasp_ros.visualize import object_colour


def test_a_packet_round_trips():
    kind, header, payload = unpack(pack(FRAME, {"stamp": "17", "n": [1, 2]}, b"\xff\xd8abc"))
    assert (kind, header, payload) == (FRAME, {"stamp": "17", "n": [1, 2]}, b"\xff\xd8abc")


def test_a_broken_packet_is_refused():
    with pytest.raises(ValueError, match="too short"):
        unpack(b"\x01\x00")
    with pytest.raises(ValueError, match="header says"):
        unpack(pack(FRAME, {"a": 1}, b"")[:-2])


def test_display_size_keeps_the_aspect():
    assert display_size(640, 480, 960) == (640, 480)
    assert display_size(1920, 1080, 960) == (960, 540)


def test_a_frame_is_a_jpeg_of_at_most_the_width():
    rgb = np.zeros((1080, 1920, 3), np.uint8)
    rgb[:, :960] = (255, 0, 0)
    kind, header, payload = unpack(frame_packet(rgb, {"stamp": "5", "width": 1920, "height": 1080}, 960, 80,
                                                {"grasps_at_ms": 1.5}))
    assert kind == FRAME and (header["jpeg_width"], header["jpeg_height"]) == (960, 540)
    assert header["width"] == 1920 and header["grasps_at_ms"] == 1.5
    image = cv2.cvtColor(cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert image.shape == (540, 960, 3)
    assert np.abs(image[270, 200].astype(int) - (255, 0, 0)).max() < 10  # red where red was
    assert image[270, 700].max() < 10


def test_a_mask_is_each_object_in_its_colour_over_transparency():
    labels = np.zeros((120, 160), np.uint16)
    labels[10:40, 10:50] = 3
    labels[60:100, 80:150] = 700
    kind, header, payload = unpack(mask_packet(labels, "99", 960))
    assert kind == MASK and header == {"stamp": "99", "ids": [3, 700]}
    bgra = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgra.shape == (120, 160, 4)
    assert bgra[0, 0, 3] == 0  # background: transparent
    for (y, x), object_id in (((20, 20), 3), ((80, 100), 700)):
        b, g, r, a = bgra[y, x]
        assert (r, g, b) == object_colour(object_id) and a == MASK_ALPHA


def test_a_grasp_array_becomes_json_data():
    from geometry_msgs.msg import Pose

    from spgrasp_ros.msg import Grasp, GraspArray, ObjectState

    array = GraspArray(image_width=320, image_height=240, frame_index=4, processing_ms=12.5)
    array.header.stamp.sec, array.header.stamp.nanosec = 1_800_000_000, 123
    array.header.frame_id = "cam"
    array.objects = [ObjectState(id=2, visible=True, presence_score=0.9, mask_area=50, bbox=[1.0, 2.0, 3.0, 4.0])]
    pose = Pose()
    pose.position.x, pose.position.z, pose.orientation.w = 0.1, 0.7, 1.0
    array.grasps = [Grasp(object_id=2, score=0.8, center_x=10.0, center_y=20.0, angle=0.5, width=30.0,
                          jaw_size=15.0, has_pose=True, pose=pose, width_m=0.04, depth_m=0.7),
                    Grasp(object_id=2, score=0.5, has_pose=False, width_m=math.nan, depth_m=math.nan)]
    summary = grasp_summary(array)
    assert summary["stamp"] == "1800000000000000123"  # exact: a string, not a JavaScript number
    assert summary["frame_index"] == 4 and (summary["width"], summary["height"]) == (320, 240)
    assert summary["objects"][0]["id"] == 2 and summary["objects"][0]["colour"].startswith("#")
    first, second = summary["grasps"]
    assert first["pose"]["position"] == [0.1, 0.0, 0.7] and first["pose"]["width_m"] == pytest.approx(0.04)
    assert "pose" not in second and second["has_pose"] is False
