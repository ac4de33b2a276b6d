"""The package's node processes under abuse: transitions that are invalid in the current state, signals while
active and busy, parameters of the wrong type or out of range, simulated time without ``/clock``.

Each test starts its own processes (they are meant to end); the tracker runs the bundled demo model on CPU.
The ZED node runs on the stand-in ``pyzed`` of test/helper_nodes/fake_pyzed (the SDK and camera cannot exist
here), as in test_zed_camera_node.
"""

from __future__ import annotations

import os
import signal

import pytest
from ros_harness import HELPERS, node_process
from tracker_rig import Rig, make_clip, tracker_process_for

pytestmark = pytest.mark.ros




def _change_state_by_id(ros_node, node_name: str, transition_id: int) -> bool:
    """A raw ``change_state`` request by id (as launch_ros and ros2 lifecycle send them): its success."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    client = ros_node.node.create_client(ChangeState, f"{node_name}/change_state")
    try:
        return ros_node.call(client, ChangeState.Request(transition=Transition(id=transition_id)), 60).success
    finally:
        ros_node.node.destroy_client(client)


def _state(ros_node, node_name: str) -> str:
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient

    return LifecycleClient(ros_node.node, ros_node.executor, node_name, timeout_s=60).get_state().label


ZED_ENV = {"PYTHONPATH": os.pathsep.join(p for p in (str(HELPERS / "fake_pyzed"), os.environ.get("PYTHONPATH", ""))
                                         if p)}
NODES = {  # lifecycle node -> (module, parameters, environment)
    "spgrasp_tracker": ("tracker_node", ("checkpoint:=demo", "device:=cpu"), None),
    "r1_grasp_bridge": ("r1_grasp_bridge", ("extrinsics.x:=0.1",), None),  # not the identity: calibrated
    "zed_camera_node": ("zed_camera_node", ("svo_real_time:=false",), ZED_ENV),
    "operator_node": ("operator_node", ("port:=0",), None),
}


@pytest.mark.parametrize("name", sorted(NODES))
def test_transitions_invalid_in_the_current_state_are_refused_and_the_node_lives(ros_node, name):
    from lifecycle_msgs.msg import Transition

    module, params, env = NODES[name]
    namespace = f"/abuse_{name[:3]}"
    process = node_process(module, namespace, *params, env=env)
    node_name = f"{namespace}/{name}"
    try:
        assert not _change_state_by_id(ros_node, node_name, Transition.TRANSITION_ACTIVATE), "activate unconfigured"
        assert not _change_state_by_id(ros_node, node_name, Transition.TRANSITION_CLEANUP), "cleanup unconfigured"
        assert _state(ros_node, node_name) == "unconfigured"
        assert _change_state_by_id(ros_node, node_name, Transition.TRANSITION_CONFIGURE), process.output()
        assert _change_state_by_id(ros_node, node_name, Transition.TRANSITION_ACTIVATE), process.output()
        assert not _change_state_by_id(ros_node, node_name, Transition.TRANSITION_CLEANUP), "cleanup while active"
        assert not _change_state_by_id(ros_node, node_name, Transition.TRANSITION_CONFIGURE), "configure active"
        assert not _change_state_by_id(ros_node, node_name, 99), "an id that names no transition"
        assert _state(ros_node, node_name) == "active"
        assert process.popen.poll() is None, process.output()
        assert "refused: not available in state 'active'" in process.output()
    finally:
        assert process.stop(timeout=30) == 0, process.output()


def test_autostart_after_a_failed_configure_leaves_the_tracker_alive(ros_node):
    """launch_ros's autostart: configure and activate sent back to back; configure fails (no such checkpoint)."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    process = node_process("tracker_node", "/abuse_auto", "checkpoint:=/nonexistent/model.pt", "device:=cpu")
    client = ros_node.node.create_client(ChangeState, "/abuse_auto/spgrasp_tracker/change_state")
    try:
        ros_node.spin_until(client.service_is_ready, 60, "the tracker's change_state")
        ros_node.caller.wait_ready(client, 60)
        futures = [client.call_async(ChangeState.Request(transition=Transition(id=t)))
                   for t in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE)]
        ros_node.spin_until(lambda: all(f.done() for f in futures), 60, "both transitions answered")
        assert [f.result().success for f in futures] == [False, False]
        ros_node.spin_for(0.5)
        assert process.popen.poll() is None, process.output()
        assert _state(ros_node, "/abuse_auto/spgrasp_tracker") == "unconfigured"
        assert "/nonexistent/model.pt" in process.output()
    finally:
        assert process.stop(timeout=30) == 0, process.output()


def test_sigint_and_sigterm_end_the_active_tracker_with_exit_0_every_time(ros_node):
    """20 runs, SIGINT and SIGTERM in turn; every second one while a 16-object prompt is being applied on a
    large frame and frames stream in. Every run exits 0 within 60 s."""
    import cv2

    from spgrasp_ros.msg import PromptBox
    from spgrasp_ros.srv import SetPrompt

    frames, ids, boxes = make_clip(frames=4)
    large = cv2.resize(frames[0][0], (1920, 1080), interpolation=cv2.INTER_LINEAR)
    busy_prompt = SetPrompt.Request(boxes=[PromptBox(x_min=c * 480.0 + 10, y_min=r * 270.0 + 10,
                                                     x_max=c * 480.0 + 470, y_max=r * 270.0 + 260)
                                           for r in range(4) for c in range(4)])
    codes = []
    for run in range(20):
        namespace = f"/sig{run}"
        process = tracker_process_for(namespace, "-p", "warmup_frames:=0")
        try:
            rig = Rig(ros_node, namespace)
            rig.bring_up()
            rig.show(frames[0][0])
            assert rig.prompt(boxes=[boxes[ids[0]]]).success
            if run % 2:  # busy: a long prompt in the worker, frames arriving
                rig.show(large)
                rig.prompt_client.call_async(busy_prompt)
                rig.stream([large, large], period=0.1, wait_for_each=False)
            else:
                rig.stream([rgb for rgb, _, _ in frames[1:]], period=0.05, wait_for_each=False)
            process.popen.send_signal(signal.SIGINT if run % 4 < 2 else signal.SIGTERM)
            codes.append(process.popen.wait(timeout=60))
        finally:
            process.stop(timeout=10)
        assert codes[-1] == 0, f"run {run}: exit {codes[-1]}\n{process.output()[-3000:]}"
        assert "Traceback" not in process.output(), process.output()
    assert codes == [0] * 20


def test_parameters_have_ranges_fixed_types_and_configure_time_ones_are_read_only_while_configured(ros_node):
    from rcl_interfaces.msg import ParameterType
    from rcl_interfaces.srv import DescribeParameters

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient

    process = node_process("tracker_node", "/abuse_par", "checkpoint:=demo", "device:=cpu",
                            "depth_sync_tolerance_s:=1")  # an integer for a float: taken as 1.0
    rig = Rig(ros_node, "/abuse_par")
    describe = ros_node.node.create_client(DescribeParameters, "/abuse_par/spgrasp_tracker/describe_parameters")

    def descriptors():
        names = ["presence_threshold", "top_k", "readout_window", "checkpoint", "depth_sync_tolerance_s"]
        response = ros_node.call(describe, DescribeParameters.Request(names=names), 30)
        return {d.name: d for d in response.descriptors}

    try:
        found = descriptors()
        ranges = found["presence_threshold"].floating_point_range[0]
        assert (ranges.from_value, ranges.to_value) == (0.0, 1.0)
        assert found["presence_threshold"].type == ParameterType.PARAMETER_DOUBLE
        assert not found["presence_threshold"].dynamic_typing
        window = found["readout_window"].integer_range[0]
        assert (window.from_value, window.to_value, window.step) == (1, 31, 2)
        assert not found["checkpoint"].read_only, "unconfigured: configure-time parameters may change"
        assert rig.get_parameter("depth_sync_tolerance_s") == 1.0
        lifecycle = LifecycleClient(ros_node.node, ros_node.executor, rig.node_name, timeout_s=120)
        lifecycle.configure()
        assert descriptors()["checkpoint"].read_only and not descriptors()["top_k"].read_only
        refused = rig.set_parameter("presence_threshold", 1)  # an integer on a float parameter
        assert not refused.successful and "type" in refused.reason.lower(), refused.reason
        assert rig.get_parameter("presence_threshold") == 0.5, "its type did not flip"
        out_of_range = rig.set_parameter("top_k", 0)
        assert not out_of_range.successful and "top_k" in out_of_range.reason
        lifecycle.cleanup()
        assert not descriptors()["checkpoint"].read_only, "cleaned up: writable again"
        assert rig.set_parameter("checkpoint", "demo").successful
    finally:
        assert process.stop(timeout=30) == 0, process.output()


def test_an_override_of_the_wrong_type_fails_configure_in_one_line_not_the_start(ros_node):
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    process = node_process("tracker_node", "/abuse_typ", "checkpoint:=demo", "device:=cpu", "top_k:=many",
                            "presence_threshold:=7.0")
    try:
        lifecycle = LifecycleClient(ros_node.node, ros_node.executor, "/abuse_typ/spgrasp_tracker", timeout_s=120)
        with pytest.raises(LifecycleError):
            lifecycle.configure()
        assert process.popen.poll() is None, process.output()
        lines = [line for line in process.output().splitlines() if "configure failed" in line]
        assert len(lines) == 1, process.output()
        assert "top_k must be a int, got str 'many'" in lines[0] and "presence_threshold" in lines[0], lines[0]
        assert "Traceback" not in process.output()
    finally:
        assert process.stop(timeout=30) == 0, process.output()


def test_simulated_time_without_clock_is_warned_once(ros_node, tmp_path):
    import cv2
    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(3):
        cv2.imwrite(str(folder / f"{k:03d}.png"), np.full((48, 64, 3), 40 * k, np.uint8))
    source = node_process("video_source_node", "/abuse_sim", f"source:={folder}", "use_sim_time:=true",
                           "loop:=true")
    try:
        ros_node.spin_until(lambda: "no /clock has arrived" in source.output(), 30, "the sim-time warning")
        ros_node.spin_for(2.0)
        assert source.output().count("no /clock has arrived") == 1, source.output()
        assert "ros2 bag play --clock" in source.output()
    finally:
        assert source.stop(timeout=30) == 0, source.output()
