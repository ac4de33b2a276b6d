"""Pairing colour frames with depth by stamp."""

import pytest

from spgrasp_ros.cameras.stamp_pairing import StampBuffer

MS = 1_000_000


def test_exact_match_wins_over_a_nearer_looking_neighbour():
    buffer: StampBuffer[str] = StampBuffer(4)
    for stamp, name in ((100 * MS, "a"), (133 * MS, "b"), (166 * MS, "c")):
        buffer.put(stamp, name)
    assert buffer.match(133 * MS, 50 * MS) == "b"
    assert buffer.match(140 * MS, 10 * MS) == "b", "nearest within tolerance"
    assert buffer.match(150 * MS, 20 * MS) == "c", "the nearer of two candidates"
    assert buffer.match(300 * MS, 20 * MS) is None, "nothing close enough: no depth, never a wrong one"


def test_the_buffer_is_bounded():
    buffer: StampBuffer[int] = StampBuffer(3)
    for k in range(100):
        buffer.put(k * MS, k)
    assert len(buffer) == 3
    assert buffer.match(0, 0) is None and buffer.match(99 * MS, 0) == 99
    buffer.clear()
    assert len(buffer) == 0
    with pytest.raises(ValueError):
        StampBuffer(0)
