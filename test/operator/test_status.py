"""What the operator page shows of the tracker and the arm, read from the messages the nodes really publish."""

import pytest

pytestmark = pytest.mark.ros


def test_the_tracker_status_is_its_own_diagnostics_entry():
    from builtin_interfaces.msg import Time

    from spgrasp_ros.ros.operator_status import TrackerStatus
    from spgrasp_ros.ros.tracker_diagnostics import RecentHealth, TrackerStats, diagnostics_message
    from spgrasp_ros.tracker.intake import SlotCounts

    status = TrackerStatus("/robot/spgrasp_tracker")
    assert status.summary(0.0) is None
    other = diagnostics_message("/elsewhere/spgrasp_tracker", Time(), TrackerStats(), SlotCounts(), None,
                                RecentHealth(), 1.0, 0.5)
    status.update(other, 1.0)
    assert status.summary(1.0) is None  # another tracker's entry
    mine = diagnostics_message("/robot/spgrasp_tracker", Time(), TrackerStats(), SlotCounts(), None, RecentHealth(),
                               1.0, 0.5)
    status.update(mine, 2.0)
    summary = status.summary(3.5)
    assert summary["level"] == "error" and summary["message"] == "no model loaded"  # no session in this message
    assert summary["fps"] == "0.00" and "latency_ms" in summary and summary["age_s"] == 1.5


def test_the_arm_status_follows_the_bridges_target_markers():
    from std_msgs.msg import Header

    from spgrasp_ros.ros.markers import clear_markers, target_markers
    from spgrasp_ros.ros.operator_status import ArmStatus

    arm = ArmStatus("/robot/r1_grasp_bridge")
    header = Header(frame_id="base_link")
    arm.update_markers(target_markers(header, (0.3, -0.1, 0.6), (0.3, -0.1, 0.5), (0.0, 0.0, 0.0, 1.0), 0.04,
                                      commanding=False), 10.0)
    summary = arm.summary(11.0)
    assert summary["target"] == {"frame_id": "base_link", "pre_grasp": [0.3, -0.1, 0.6], "grasp": [0.3, -0.1, 0.5],
                                 "commanding": False, "age_s": 1.0}
    assert summary["last_command"] is None  # it only would send
    arm.update_markers(target_markers(header, (0.3, 0.0, 0.6), (0.3, 0.0, 0.5), (0.0, 0.0, 0.0, 1.0), 0.04,
                                      commanding=True), 12.0)
    assert arm.summary(12.0)["last_command"]["grasp"] == [0.3, 0.0, 0.5]
    arm.update_markers(clear_markers(header), 13.0)  # nothing to send any more
    summary = arm.summary(14.0)
    assert summary["target"] is None and summary["last_command"]["age_s"] == 2.0
