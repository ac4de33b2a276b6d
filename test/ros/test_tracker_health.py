"""The tracker's /diagnostics level from recent windows (RecentHealth) and its depth words (DepthWarnings):
ROS message types, no node."""

import pytest

pytestmark = pytest.mark.ros


def _totals(received=0, processed=0, dropped=0, errors=0, rejected=0):
    return {"received": received, "processed": processed, "dropped": dropped, "errors": errors,
            "rejected": rejected}


def test_one_bad_frame_warns_for_the_window_then_the_level_is_ok_again():
    from diagnostic_msgs.msg import DiagnosticStatus

    from spgrasp_ros.ros.tracker_diagnostics import HealthRules, RecentHealth

    health = RecentHealth(HealthRules(window_s=5.0, stale_after_s=3.0, warn_drop_ratio=0.5))
    recent = health.recent(0.0, _totals(10, 10))
    assert health.assess(recent, 0.1, 0)[0] == DiagnosticStatus.OK
    recent = health.recent(1.0, _totals(20, 19, rejected=1))
    level, message = health.assess(recent, 0.1, 0)
    assert level == DiagnosticStatus.WARN and "1 rejected frames in the last 5 s" in message
    recent = health.recent(4.0, _totals(50, 49, rejected=1))
    assert health.assess(recent, 0.1, 0)[0] == DiagnosticStatus.WARN, "still within the window"
    recent = health.recent(7.0, _totals(80, 79, rejected=1))
    assert recent["rejected"] == 0 and health.assess(recent, 0.1, 0)[0] == DiagnosticStatus.OK


def test_drops_beyond_the_ratio_warn_no_images_is_stale_and_lost_objects_warn():
    from diagnostic_msgs.msg import DiagnosticStatus

    from spgrasp_ros.ros.tracker_diagnostics import HealthRules, RecentHealth

    health = RecentHealth(HealthRules(window_s=2.0, stale_after_s=3.0, warn_drop_ratio=0.5))
    health.recent(0.0, _totals())
    recent = health.recent(1.0, _totals(received=30, processed=10, dropped=20))
    level, message = health.assess(recent, 0.0, 0)
    assert level == DiagnosticStatus.WARN and "20 of 30 frames dropped" in message
    level, message = health.assess(recent, 3.5, 0)
    assert level == DiagnosticStatus.STALE and "no image for 3.5 s" in message
    recent = health.recent(10.0, _totals(received=60, processed=40, dropped=20))
    assert health.assess(recent, 0.0, 2) == (DiagnosticStatus.WARN, "2 object(s) lost")
    health.rules = HealthRules(window_s=2.0, stale_after_s=3.0, warn_drop_ratio=1.0)
    assert health.assess(health.recent(11.0, _totals(90, 40, 50)), 0.0, 0)[0] == DiagnosticStatus.OK


def test_the_window_keeps_a_bounded_number_of_snapshots():
    from spgrasp_ros.ros.tracker_diagnostics import HealthRules, RecentHealth

    health = RecentHealth(HealthRules(window_s=1e9))
    for k in range(5000):
        health.recent(float(k), _totals(received=k))
    assert len(health._snapshots) <= 1000


class _Log:
    def __init__(self):
        self.lines = []

    def warning(self, text, **_):
        self.lines.append(text)


def test_depth_that_never_arrived_is_said_once_and_a_pairing_miss_each_time():
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    from spgrasp_ros.ros.depth_pairing import DepthPairing, DepthWarnings

    settings = {"depth_sync_tolerance_s": 0.05, "error_log_period_s": 0.0}
    pairing, words, log = DepthPairing(), DepthWarnings(lambda name: f"/cam/{name}"), _Log()
    header = Header()
    header.stamp.sec = 10
    for _ in range(5):
        words.say(pairing.pair(header, 0.05), header, log, settings)
    assert log.lines == ["no camera_info has arrived on /cam/camera_info (use_depth is true): grasps carry no "
                         "metric pose. Publish registered depth and camera_info there, or set use_depth:=false. "
                         "Said once."]
    pairing.put_info(CameraInfo())
    depth = Image(encoding="32FC1", width=1, height=1, step=4, data=b"\0\0\x80?")
    depth.header.stamp.sec = 20  # far from the frame: flows, but does not pair
    pairing.put_depth(depth)
    paired = pairing.pair(header, 0.05)
    assert paired.missing == "depth image" and paired.depth_seen
    words.say(paired, header, log, settings)
    assert len(log.lines) == 2 and "for the frame stamped 10.000000000" in log.lines[1]
