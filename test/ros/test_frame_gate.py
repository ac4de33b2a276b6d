"""The tracker's frame gate: malformed messages turned away by their sizes, unreadable ones rejected at decoding,
each kind said once and the remembered kinds bounded."""

import numpy as np
import pytest

pytestmark = pytest.mark.ros


class _Log:  # collects what would go to the node's logger
    def __init__(self):
        self.lines = []

    def warning(self, text, **_):
        self.lines.append(text)


def _image(width=4, height=3, encoding="rgb8", data_bytes=None):
    from std_msgs.msg import Header

    from spgrasp_ros.ros.image_messages import rgb_to_image

    msg = rgb_to_image(np.zeros((3, 4, 3), np.uint8), Header(), "rgb8")
    msg.width, msg.height, msg.encoding = width, height, encoding
    if data_bytes is not None:
        msg.data = bytes(data_bytes)
    return msg


def test_sizes_that_cannot_hold_the_image_are_named():
    from sensor_msgs.msg import CompressedImage

    from spgrasp_ros.ros.frame_gate import size_problem

    assert size_problem(_image()) is None
    assert "without pixels (0x3)" in size_problem(_image(width=0))
    assert "10 data bytes < step 12 x height 3" in size_problem(_image(data_bytes=10))
    wide = _image(width=8)
    assert "step 12 < 24 bytes a row" in size_problem(wide)
    assert size_problem(CompressedImage()) == "compressed image without data"


def test_each_kind_is_said_once_and_counted_every_time():
    from spgrasp_ros.ros.frame_gate import FrameGate

    gate, log = FrameGate(), _Log()
    for _ in range(3):
        assert not gate.admit(_image(data_bytes=10), log)
        assert gate.decode(_image(encoding="yuv422"), log) is None
    assert gate.admit(_image(), log) and gate.decode(_image(), log).shape == (3, 4, 3)
    assert (gate.malformed, gate.unreadable, gate.rejected) == (3, 3, 6)
    assert len(log.lines) == 2 and "yuv422" in log.lines[1]


def test_a_publisher_varying_its_encoding_cannot_grow_the_gate():
    from spgrasp_ros.ros.frame_gate import MAX_KINDS, FrameGate

    gate, log = FrameGate(), _Log()
    for k in range(10 * MAX_KINDS):
        gate.decode(_image(encoding=f"weird{k}"), log)
    assert gate.unreadable == 10 * MAX_KINDS and len(gate._said) == MAX_KINDS
