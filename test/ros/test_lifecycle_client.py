"""A lifecycle node in one process driven through every transition from another (LifecycleClient)."""

import pytest
from ros_harness import helper_node

pytestmark = pytest.mark.ros


def test_drive_lifecycle_node_through_all_transitions(ros_node):
    from lifecycle_msgs.msg import State, TransitionEvent
    from std_msgs.msg import UInt32

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient

    events: list[str] = []
    beats: list[int] = []
    node = ros_node.node
    node.create_subscription(TransitionEvent, "/probe/transition_event",
                             lambda e: events.append(e.goal_state.label), 10)
    node.create_subscription(UInt32, "/probe/heartbeat", lambda m: beats.append(m.data), 10)
    client = LifecycleClient(node, ros_node.executor, "/probe", timeout_s=30)

    with helper_node("lifecycle_probe_node.py", "probe") as process:
        assert client.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
        assert client.configure().id == State.PRIMARY_STATE_INACTIVE
        ros_node.spin_for(0.5)
        assert beats == [], "a lifecycle publisher must not publish while inactive"

        assert client.activate().id == State.PRIMARY_STATE_ACTIVE
        ros_node.spin_until(lambda: len(beats) >= 3, timeout=15, what="heartbeats while active")

        assert client.deactivate().id == State.PRIMARY_STATE_INACTIVE
        ros_node.spin_for(0.5)  # drain what was in flight
        count = len(beats)
        ros_node.spin_for(0.5)
        assert len(beats) == count, "heartbeats continued after deactivate"

        assert client.activate().id == State.PRIMARY_STATE_ACTIVE, "re-activation after deactivate"
        ros_node.spin_until(lambda: len(beats) >= count + 3, timeout=15, what="heartbeats after re-activation")
        assert client.deactivate().id == State.PRIMARY_STATE_INACTIVE
        assert client.cleanup().id == State.PRIMARY_STATE_UNCONFIGURED
        assert client.shutdown().id == State.PRIMARY_STATE_FINALIZED
        assert process.wait(timeout=15) == 0, "the node process should exit cleanly once finalized"

    ros_node.spin_until(lambda: "finalized" in events, timeout=10, what="the finalized transition event")
    assert events == ["configuring", "inactive", "activating", "active", "deactivating", "inactive",
                      "activating", "active", "deactivating", "inactive", "cleaningup", "unconfigured",
                      "shuttingdown", "finalized"]


def test_failed_configure_is_reported_and_node_stays_unconfigured(ros_node):
    from lifecycle_msgs.msg import State

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    client = LifecycleClient(ros_node.node, ros_node.executor, "/probe_failing", timeout_s=30)
    with helper_node("lifecycle_probe_node.py", "probe_failing", "--fail-configure"):
        with pytest.raises(LifecycleError, match="unconfigured"):
            client.configure()
        assert client.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
        with pytest.raises(LifecycleError, match="refused"):
            client.activate()  # not a valid transition from unconfigured


def test_missing_node_is_a_clear_error(ros_node):
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    client = LifecycleClient(ros_node.node, ros_node.executor, "/no_such_node", timeout_s=1)
    with pytest.raises(LifecycleError, match="/no_such_node/get_state is not available"):
        client.get_state()


def test_lost_replies_are_recovered(ros_node):
    """The target handles every request but the first reply of each service never comes (as when Fast DDS
    drops a reply to a client it has not discovered yet): queries are resent, a transition is confirmed by
    the target's state."""
    from lifecycle_msgs.msg import State

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient

    client = LifecycleClient(ros_node.node, ros_node.executor, "/lossy", timeout_s=20, resend_s=0.5)
    with helper_node("lossy_lifecycle_node.py", "lossy") as process:
        assert client.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
        assert client.configure().id == State.PRIMARY_STATE_INACTIVE
        assert client.activate().id == State.PRIMARY_STATE_ACTIVE
        assert client.deactivate().id == State.PRIMARY_STATE_INACTIVE
        withheld = sorted(line.split()[1] for line in process.output().splitlines() if line.startswith("WITHHELD"))
        assert withheld == ["change_state", "get_available_transitions", "get_state"], process.output()
