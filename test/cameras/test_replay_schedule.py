"""ReplaySchedule: due times on the recorded time line scaled by the rate, loop-shifted stamps, a clock that
never goes back (ROS-free: times are passed in)."""

import pytest

from spgrasp_ros.cameras.replay_schedule import ReplaySchedule

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def test_due_times_follow_the_recorded_gaps_scaled_by_the_rate():
    schedule = ReplaySchedule(rate=2.0)
    assert not schedule.started and schedule.clock_ns(5.0, T0) == T0, "before the start the clock stands"
    schedule.start(10.0, T0)
    assert [schedule.due_s(T0 + gap * MS) for gap in (0, 100, 300)] == pytest.approx([10.0, 10.05, 10.15])
    assert schedule.clock_ns(10.05) == T0 + 100 * MS
    assert schedule.clock_ns(10.0) == T0 + 100 * MS, "never back"
    assert schedule.clock_ns(10.06, at_least_ns=T0 + 200 * MS) == T0 + 200 * MS, "at least the frame going out"


def test_each_loop_shifts_the_stamps_by_the_length_plus_one_period():
    schedule = ReplaySchedule()
    schedule.start(0.0, T0)
    first = [schedule.stamp(T0 + k * 100 * MS) for k in range(3)]
    schedule.next_loop()
    second = [schedule.stamp(T0 + k * 100 * MS) for k in range(3)]
    schedule.next_loop()
    third = [schedule.stamp(T0 + k * 100 * MS) for k in range(3)]
    assert first + second + third == [T0 + k * 100 * MS for k in range(9)]
    assert schedule.loops == 2 and schedule.due_s(T0) == pytest.approx(0.6), "due on the shifted time line"


def test_a_one_frame_recording_loops_at_30_hz_and_bad_rates_are_refused():
    schedule = ReplaySchedule()
    schedule.start(0.0, T0)
    assert schedule.stamp(T0) == T0
    schedule.next_loop()
    assert schedule.stamp(T0) == T0 + 33_333_333
    with pytest.raises(ValueError, match="rate must be > 0"):
        ReplaySchedule(rate=0.0)
