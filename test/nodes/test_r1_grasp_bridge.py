"""r1_grasp_bridge (a lifecycle node) in its own process, configured by the test through its lifecycle services,
fed GraspArray messages by the test, its arm and gripper topics listened to: nothing while inactive (the log
says what it would send), the hand-computed base-frame pose and gripper command once enabled, nothing for
stale, out-of-workspace, lost or foreign-frame grasps, the rate limit, nothing after disabling or deactivating
again, ``~/enable`` driving the lifecycle state, and bad parameters failing configure.

Sent commands carry the stamp of the GraspArray they come from, so each command is matched to its input; "nothing
was sent" is shown by a valid sentinel message sent afterwards arriving alone (the bridge handles messages in
order)."""

from __future__ import annotations

import importlib.util
import math
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from ros_harness import RosProcess, RosTestNode, node_process, require_ros

pytestmark = pytest.mark.ros

NS = "/brg"  # the module's main bridge; the others run in OTHER_NS beside it
OTHER_NS = "/brg_other"
S = math.sqrt(0.5)
# The camera looks straight down from 1.2 m above (0.5, 0, 0) of base_link: optical x -> -y_base,
# y -> -x_base, z -> -z_base, a half turn about (1, -1, 0)/sqrt(2), quaternion (S, -S, 0, 0), or as fixed-axis
# roll/pitch/yaw (pi, 0, -pi/2): Rz(-pi/2) Rx(pi) = [[0, -1, 0], [-1, 0, 0], [0, 0, -1]].
DOWN_MATRIX = np.array([[0, -1, 0], [-1, 0, 0], [0, 0, -1]], float)
# A grasp 0.7 m from the camera, 0.1 m right and 0.2 m down in the image -> base (0.5 - 0.2, -0.1, 1.2 - 0.7).
GRASP_IN_CAMERA = (0.1, 0.2, 0.7)
GRASP_IN_BASE = (0.3, -0.1, 0.5)
COMMON = ["extrinsics.x:=0.5", "extrinsics.z:=1.2", "log_period_s:=0.0", "stale_timeout_s:=1.0",
          "max_rate_hz:=100.0", "camera_frame:=test_camera"]
MAIN = [*COMMON, f"extrinsics.qx:={S}", f"extrinsics.qy:={-S}", "extrinsics.qw:=0.0", "gripper_joint_name:=jaw"]


def _bridge_process(params: list[str], namespace: str = NS) -> RosProcess:
    return node_process("r1_grasp_bridge", namespace, *params)


@contextmanager
def bridge(params: list[str]):
    """A bridge in OTHER_NS (arm topics are absolute: give it other ones than the main bridge's)."""
    process = _bridge_process(params, OTHER_NS)
    try:
        yield process
    finally:
        process.stop()
        sys.stdout.write(f"--- output of r1_grasp_bridge ---\n{process.output()}\n")


class Rig:
    """Test side: GraspArray publisher, arm and gripper listeners, ~/enable, lifecycle and parameter clients.
    Configures the bridge (through its lifecycle services) and waits until its topics are matched."""

    def __init__(self, ros: RosTestNode, process: RosProcess, pose_topic: str, gripper_topic: str,
                 gripper_type, namespace: str = NS) -> None:
        from geometry_msgs.msg import PoseStamped
        from lifecycle_msgs.msg import State
        from rcl_interfaces.srv import SetParametersAtomically
        from std_srvs.srv import SetBool

        from spgrasp_ros.msg import GraspArray
        from spgrasp_ros.ros.lifecycle_client import LifecycleClient

        self.ros, self.process = ros, process
        node = ros.node
        self.poses, self.grippers = [], []
        self.pose_topic = pose_topic
        self.publisher = node.create_publisher(GraspArray, f"{namespace}/grasp_poses", 10)
        node.create_subscription(PoseStamped, pose_topic, self.poses.append, 50)
        node.create_subscription(gripper_type, gripper_topic, self.grippers.append, 50)
        bridge_node = f"{namespace}/r1_grasp_bridge"
        self.enable_client = node.create_client(SetBool, f"{bridge_node}/enable")
        self.param_client = node.create_client(SetParametersAtomically, f"{bridge_node}/set_parameters_atomically")
        self.lifecycle = LifecycleClient(node, ros.executor, bridge_node, timeout_s=30)
        assert self.lifecycle.configure().id == State.PRIMARY_STATE_INACTIVE, process.output()
        ros.spin_until(lambda: self.publisher.get_subscription_count() > 0 or process.popen.poll() is not None,
                       30, "the bridge's grasp_poses subscription")
        assert process.popen.poll() is None, process.output()
        ros.spin_until(lambda: node.count_publishers(pose_topic) > 0 and node.count_publishers(gripper_topic) > 0,
                       30, "the bridge's arm and gripper publishers")
        ros.spin_for(0.2)

    def enable(self, on: bool = True):
        from std_srvs.srv import SetBool

        return self.ros.call(self.enable_client, SetBool.Request(data=on), 30)

    def set_parameters(self, **values):
        from rcl_interfaces.srv import SetParametersAtomically
        from rclpy.parameter import Parameter

        request = SetParametersAtomically.Request(
            parameters=[Parameter(name.replace("__", "."), value=value).to_parameter_msg()
                        for name, value in values.items()])
        return self.ros.call(self.param_client, request, 30).result

    def send(self, *, position=GRASP_IN_CAMERA, angle=0.0, width_m=0.04, object_id=1, visible=True,
             others=(), age_s=0.0, frame_id="test_camera", spin: float = 0.05) -> tuple[int, int]:
        """Publish one GraspArray stamped now - age_s; returns its stamp (sec, nanosec)."""
        from rclpy.duration import Duration
        from std_msgs.msg import Header

        from spgrasp_ros.results import FrameResult, Grasp, GraspPose, ObjectState
        from spgrasp_ros.ros.conversions import frame_result_to_msg

        def state(i, seen):
            return ObjectState(i, seen, 0.9 if seen else 0.1, 400 if seen else 0, (1.0, 1.0, 9.0, 9.0), 5, 0)

        quaternion = (0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2))
        grasps = [Grasp(object_id, 0.8, (50.0, 40.0), angle, 20.0, 10.0,
                        GraspPose(position, quaternion, width_m, position[2]))]
        states = [state(object_id, visible)]
        for other_id, score in others:  # other visible objects, each with one good grasp
            grasps.append(Grasp(other_id, score, (20.0, 20.0), 0.0, 20.0, 10.0,
                                GraspPose(GRASP_IN_CAMERA, (0.0, 0.0, 0.0, 1.0), 0.03, 0.7)))
            states.append(state(other_id, True))
        grasps.sort(key=lambda g: -g.score)
        stamp = (self.ros.node.get_clock().now() - Duration(seconds=age_s)).to_msg()
        result = FrameResult((64, 48), 1, tuple(sorted(states, key=lambda s: s.id)), tuple(grasps))
        self.publisher.publish(frame_result_to_msg(result, Header(stamp=stamp, frame_id=frame_id)))
        self.ros.spin_for(spin)
        return stamp.sec, stamp.nanosec

    def sent_stamps(self) -> list[tuple[int, int]]:
        return [(p.header.stamp.sec, p.header.stamp.nanosec) for p in self.poses]

    def wait_for(self, stamp: tuple[int, int]):
        self.ros.spin_until(lambda: stamp in self.sent_stamps(), 10, f"the command for the grasps stamped {stamp}")
        return self.poses[self.sent_stamps().index(stamp)]


@pytest.fixture(scope="module")
def main_bridge():
    require_ros()
    process = _bridge_process(MAIN)
    try:
        yield process
    finally:
        process.stop()
        sys.stdout.write(f"--- output of r1_grasp_bridge ---\n{process.output()}\n")


@pytest.fixture(scope="module")
def main_rig(main_bridge):
    from sensor_msgs.msg import JointState

    ros = RosTestNode("test_r1_grasp_bridge")
    try:
        yield Rig(ros, main_bridge, "/motion_target/target_pose_arm_left",
                  "/motion_target/target_position_gripper_left", JointState)
    finally:
        ros.close()


@pytest.fixture
def rig(main_rig):
    """The main bridge, configured and inactive (disabled), with nothing received yet."""
    from lifecycle_msgs.msg import State

    if main_rig.lifecycle.get_state().id == State.PRIMARY_STATE_UNCONFIGURED:
        assert main_rig.lifecycle.configure().id == State.PRIMARY_STATE_INACTIVE
    assert main_rig.enable(False).success
    main_rig.ros.spin_for(0.1)
    main_rig.poses.clear()
    main_rig.grippers.clear()
    return main_rig


def _orientation(pose) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    q = pose.pose.orientation
    return Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()


def _position(pose) -> tuple[float, float, float]:
    p = pose.pose.position
    return p.x, p.y, p.z


def test_disabled_sends_nothing_and_logs_what_it_would_send(rig):
    for _ in range(3):
        rig.send(spin=0.2)
    assert rig.poses == [] and rig.grippers == []
    output = rig.process.output()
    assert "disabled until /brg/r1_grasp_bridge/enable" in output
    assert ("disabled: would send object 1 (score 0.80): position (0.300, -0.100, 0.600) m" in output
            and "gripper 60.0 (opening 60 mm) in base_link to /motion_target/target_pose_arm_left" in output), output


def test_enabled_sends_the_hand_computed_pose_and_gripper_command(rig):
    response = rig.enable()
    assert response.success and "enabled: commanding the left arm on /motion_target/target_pose_arm_left" in \
        response.message
    angle = 0.3
    stamp = rig.send(angle=angle, width_m=0.04)
    pose = rig.wait_for(stamp)
    assert pose.header.frame_id == "base_link"
    # the grasp point backed off 0.1 m along the approach (straight down): 0.1 m higher
    assert _position(pose) == pytest.approx((0.3, -0.1, 0.6), abs=1e-9)
    matrix = _orientation(pose)
    # closing direction (cos, sin, 0) in the optical frame -> cos * (0, -1, 0) + sin * (-1, 0, 0) in the base
    np.testing.assert_allclose(matrix[:, 0], (-math.sin(angle), -math.cos(angle), 0.0), atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], (0.0, 0.0, -1.0), atol=1e-9)
    assert pose.pose.orientation.w >= 0
    rig.ros.spin_until(lambda: rig.grippers, 5, "the gripper command")
    gripper = rig.grippers[-1]
    assert (gripper.header.stamp.sec, gripper.header.stamp.nanosec) == stamp
    assert list(gripper.name) == ["jaw"] and list(gripper.position) == pytest.approx([60.0])  # 0.06 m of 0.1 m


def test_markers_show_the_target_in_the_base_frame_grey_while_disabled_green_while_commanding(rig):
    from visualization_msgs.msg import Marker, MarkerArray

    markers: list = []
    rig.ros.node.create_subscription(MarkerArray, f"{NS}/r1_grasp_bridge/markers", markers.append, 10)
    rig.ros.spin_until(lambda: rig.ros.node.count_publishers(f"{NS}/r1_grasp_bridge/markers") > 0, 10,
                       "the bridge's markers")
    rig.ros.spin_for(0.5)

    def drawn_for(stamp):
        rig.ros.spin_until(lambda: any((m.markers[0].header.stamp.sec, m.markers[0].header.stamp.nanosec) == stamp
                                       for m in markers), 10, "the markers of the grasps")
        return next(m.markers for m in markers
                    if (m.markers[0].header.stamp.sec, m.markers[0].header.stamp.nanosec) == stamp)

    disabled = drawn_for(rig.send())
    assert disabled[0].action == Marker.DELETEALL and all(m.header.frame_id == "base_link" for m in disabled)
    boxes = [m for m in disabled if m.type == Marker.CUBE]
    assert len(boxes) == 6 and boxes[0].color.g == pytest.approx(boxes[0].color.r), "grey: it would send"
    pre_grasp = [(getattr(boxes[0].pose.position, a) + getattr(boxes[1].pose.position, a)) / 2 for a in "xyz"]
    at_grasp = [(getattr(boxes[3].pose.position, a) + getattr(boxes[4].pose.position, a)) / 2 for a in "xyz"]
    assert pre_grasp == pytest.approx([0.3, -0.1, 0.6], abs=1e-9), "the commanded (pre-grasp) point"
    assert at_grasp == pytest.approx([0.3, -0.1, 0.5], abs=1e-9), "0.1 m further along the approach"
    assert rig.enable().success
    stamp = rig.send()
    rig.wait_for(stamp)
    commanding = [m for m in drawn_for(stamp) if m.type == Marker.CUBE]
    assert commanding[0].color.g > commanding[0].color.r, "green: commanding"
    lost = drawn_for(rig.send(visible=False))
    assert [m.action for m in lost] == [Marker.DELETEALL], "nothing to send: the target markers go"


def test_stale_outside_foreign_frame_and_lost_grasps_send_nothing(rig):
    assert rig.enable().success
    first = rig.send()
    rig.wait_for(first)
    rig.send(age_s=3.0)  # stale
    rig.send(position=(0.1, 0.2, 1.0))  # grasp point at z 0.2 m: below the workspace (z >= 0.3)
    rig.send(position=(0.1, 0.2, 0.35))  # grasp point inside (z 0.85), pre-grasp point at 0.95: inside
    rig.send(frame_id="another_camera")  # the extrinsics are for test_camera
    rig.send(visible=False, others=[(2, 0.95)])  # object 1 (being commanded) lost; object 2 is not taken
    rig.send(others=[(2, 0.95)])  # 1 visible again, 2 scores higher: the bridge stays with 1
    sentinel = rig.send()
    rig.wait_for(sentinel)
    stamps = rig.sent_stamps()
    assert len(stamps) == 4 and stamps[0] == first and stamps[-1] == sentinel, stamps
    assert all(p.header.frame_id == "base_link" for p in rig.poses)
    assert _position(rig.poses[1]) == pytest.approx((0.3, -0.1, 0.95), abs=1e-9)
    assert [_position(p) for p in rig.poses[2:]] == [pytest.approx((0.3, -0.1, 0.6), abs=1e-9)] * 2
    output = rig.process.output()
    assert "grasps are stale: stamp 3.0" in output
    assert "grasp point (0.300, -0.100, 0.200) m is outside the workspace" in output
    assert "grasps are in frame 'another_camera' but the extrinsics are for camera_frame 'test_camera'" in output
    assert "object 1 is lost (it was chosen by object_id 0; enable again to choose anew)" in output


def test_a_selected_object_id_is_the_only_one_commanded(rig):
    assert rig.set_parameters(object_id=2).successful
    try:
        assert rig.enable().success
        rig.send()  # only object 1
        sentinel = rig.send(others=[(2, 0.3)])
        assert _position(rig.wait_for(sentinel)) == pytest.approx((0.3, -0.1, 0.6), abs=1e-9)
        assert rig.sent_stamps() == [sentinel]
        assert "nothing to send: object 2 is not tracked" in rig.process.output()
    finally:
        assert rig.set_parameters(object_id=0).successful


def test_rate_limit_is_respected(rig):
    assert rig.set_parameters(max_rate_hz=5.0).successful
    try:
        assert rig.enable().success
        sent = [rig.send(spin=0.02) for _ in range(75)]  # about 1.5 s at about 50 Hz
        rig.ros.spin_for(0.3)
    finally:
        assert rig.set_parameters(max_rate_hz=100.0).successful
    span = (sent[-1][0] - sent[0][0]) + (sent[-1][1] - sent[0][1]) * 1e-9
    stamps = [sec + nanosec * 1e-9 for sec, nanosec in rig.sent_stamps()]
    assert 3 <= len(stamps) <= 1 + span * 5.0 + 1, (span, stamps)  # one more for timing slack
    # 0.2 s apart by the bridge's clock; the input stamps differ by that, less the spread of delivery delays
    assert np.diff(stamps).min() > 0.1, np.diff(stamps)


def test_disabling_again_stops_commanding(rig):
    assert rig.enable().success
    first = rig.send()
    rig.wait_for(first)
    response = rig.enable(False)
    assert response.success and response.message == "disabled: nothing is commanded"
    for _ in range(3):
        rig.send()
    assert rig.enable().success
    sentinel = rig.send()
    rig.wait_for(sentinel)
    assert rig.sent_stamps() == [first, sentinel]


def test_runtime_parameters_are_checked_and_an_uncalibrated_camera_is_not_enabled(rig):
    refused = rig.set_parameters(workspace__x_min=5.0)
    assert not refused.successful and "x_min must be below x_max" in refused.reason
    refused = rig.set_parameters(arm="right")
    assert not refused.successful and "read-only" in refused.reason, refused.reason
    refused = rig.set_parameters(extrinsics__roll=0.5)  # the quaternion is set already
    assert not refused.successful and "given twice" in refused.reason
    assert rig.set_parameters(extrinsics__x=0.0, extrinsics__z=0.0, extrinsics__qx=0.0, extrinsics__qy=0.0,
                              extrinsics__qw=1.0).successful
    try:
        response = rig.enable()
        assert not response.success and "extrinsics are the identity" in response.message
        rig.send(position=(0.5, -0.1, 0.5))
        sentinel = rig.send(position=(0.5, -0.1, 0.5), spin=0.3)
        assert sentinel not in rig.sent_stamps() and rig.poses == []
    finally:
        assert rig.set_parameters(extrinsics__x=0.5, extrinsics__z=1.2, extrinsics__qx=S, extrinsics__qy=-S,
                                  extrinsics__qw=0.0).successful


def test_float32_gripper_on_ros1_era_topics_of_the_right_arm(ros_node):
    from std_msgs.msg import Float32

    params = [*COMMON, "arm:=right", "pose_topic:=/motion_target/target_pose_arm_{a}",
              "gripper_topic:=/motion_target/target_position_gripper_{a}", "gripper_msg_type:=Float32",
              f"extrinsics.roll:={math.pi}", f"extrinsics.yaw:={-math.pi / 2}", "pre_grasp_offset_m:=-0.05",
              "gripper.command_at_min:=100.0", "gripper.command_at_max:=0.0"]  # this gripper counts closure
    with bridge(params) as process:
        rig = Rig(ros_node, process, "/motion_target/target_pose_arm_r", "/motion_target/target_position_gripper_r",
                  Float32, OTHER_NS)
        assert rig.enable().message.startswith("enabled: commanding the right arm on /motion_target/target_pose_arm_r")
        pose = rig.wait_for(rig.send(width_m=0.04))
        ros_node.spin_until(lambda: rig.grippers, 5, "the Float32 gripper command")
        assert _position(pose) == pytest.approx((0.3, -0.1, 0.55), abs=1e-9)
        np.testing.assert_allclose(_orientation(pose), DOWN_MATRIX, atol=1e-9)
        assert rig.grippers[-1].data == pytest.approx(40.0)  # opening 0.06 m of 0.1 m counted from 100 down to 0
        if importlib.util.find_spec("tf2_ros") is None:
            assert "tf2_ros is not installed" in process.output()


def test_camera_to_base_from_tf2_where_it_is_installed(ros_node):
    if importlib.util.find_spec("tf2_ros") is None:
        pytest.skip("tf2_ros is not installed (a full ROS 2 install has it; the PyPI wheels do not): the static "
                    "extrinsics path is tested instead")
    from geometry_msgs.msg import TransformStamped
    from sensor_msgs.msg import JointState
    from tf2_ros import StaticTransformBroadcaster

    transform = TransformStamped()
    transform.header.frame_id, transform.child_frame_id = "base_link", "test_camera"
    transform.transform.translation.x, transform.transform.translation.z = 0.5, 1.2
    rotation = transform.transform.rotation
    rotation.x, rotation.y, rotation.z, rotation.w = S, -S, 0.0, 0.0
    StaticTransformBroadcaster(ros_node.node).sendTransform(transform)
    # the static extrinsics say something else (the identity): only tf2 gives the expected pose
    with bridge(["use_tf:=true", "log_period_s:=0.0", "max_rate_hz:=100.0", "pose_topic:=/tf_test/pose_{arm}",
                 "gripper_topic:=/tf_test/gripper_{arm}"]) as process:
        rig = Rig(ros_node, process, "/tf_test/pose_left", "/tf_test/gripper_left", JointState, OTHER_NS)
        assert "camera->base from tf2" in process.output()
        assert rig.enable().success

        def commanded() -> bool:  # the listener may need a moment for /tf_static
            rig.send(spin=0.1)
            return bool(rig.poses)

        ros_node.spin_until(commanded, 15, "a command computed with the tf2 transform")
        assert _position(rig.poses[-1]) == pytest.approx((0.3, -0.1, 0.6), abs=1e-6)


def test_deactivating_stops_commanding_at_once(rig):
    from lifecycle_msgs.msg import State

    assert rig.enable().success
    first = rig.send()
    rig.wait_for(first)
    assert rig.lifecycle.deactivate().id == State.PRIMARY_STATE_INACTIVE
    # sent after the transition answered: the bridge handles them after it, so none may be commanded
    for _ in range(3):
        rig.send(spin=0.0)
    assert rig.lifecycle.activate().id == State.PRIMARY_STATE_ACTIVE
    sentinel = rig.send()
    rig.wait_for(sentinel)
    assert rig.sent_stamps() == [first, sentinel]
    assert "disabled: would send" in rig.process.output()


def test_enable_drives_the_lifecycle_state(rig):
    from lifecycle_msgs.msg import State

    assert rig.lifecycle.get_state().id == State.PRIMARY_STATE_INACTIVE
    assert rig.enable().success
    assert rig.lifecycle.get_state().label == "active"
    assert rig.enable(False).success
    assert rig.lifecycle.get_state().label == "inactive"
    assert rig.lifecycle.activate().id == State.PRIMARY_STATE_ACTIVE
    assert rig.enable(False).message == "disabled: nothing is commanded"
    assert rig.lifecycle.get_state().label == "inactive", "enable false deactivates what the lifecycle activated"
    # unconfigured (as after `ros2 run`): enable configures first, then activates
    assert rig.lifecycle.cleanup().id == State.PRIMARY_STATE_UNCONFIGURED
    response = rig.enable()
    assert response.success and response.message.startswith("enabled: commanding the left arm"), response.message
    assert rig.lifecycle.get_state().label == "active"
    sentinel = rig.send()
    rig.wait_for(sentinel)


@pytest.mark.parametrize(("params", "message"), [
    (["arm:=middle"], "arm must be one of left, right, got 'middle'"),
    (["workspace.z_min:=2.0"], "workspace: z_min must be below z_max"),
    (["extrinsics.qw:=0.5"], "is not a unit quaternion"),
    (["pose_topic:=/arm_{side}"], "only the placeholders {arm} and {a} are known"),
])
def test_unusable_parameters_fail_configure_naming_them(ros_node, params, message):
    from lifecycle_msgs.msg import State
    from std_srvs.srv import SetBool

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    with bridge(params) as process:
        client = LifecycleClient(ros_node.node, ros_node.executor, f"{OTHER_NS}/r1_grasp_bridge", timeout_s=30)
        with pytest.raises(LifecycleError, match="unconfigured"):
            client.configure()
        assert client.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
        ros_node.spin_until(lambda: any("configure failed: " in line and message in line
                                        for line in process.output().splitlines()),
                            10, "one log line naming the bad parameter")
        enable = ros_node.node.create_client(SetBool, f"{OTHER_NS}/r1_grasp_bridge/enable")
        refused = ros_node.call(enable, SetBool.Request(data=True), 30)
        assert not refused.success and message in refused.message, refused.message
        assert client.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
        assert process.popen.poll() is None, "a bad parameter does not end the node"


def test_a_fixed_parameter_lets_the_node_configure(ros_node):
    from lifecycle_msgs.msg import State
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    with bridge(["arm:=middle"]):
        target = f"{OTHER_NS}/r1_grasp_bridge"
        client = LifecycleClient(ros_node.node, ros_node.executor, target, timeout_s=30)
        with pytest.raises(LifecycleError, match="unconfigured"):
            client.configure()
        setter = ros_node.node.create_client(SetParameters, f"{target}/set_parameters")
        result = ros_node.call(setter, SetParameters.Request(
            parameters=[Parameter("arm", value="right").to_parameter_msg()]), 30).results[0]
        assert result.successful, result.reason
        assert client.configure().id == State.PRIMARY_STATE_INACTIVE


def test_the_parameter_file_holds_every_parameter_with_its_default():
    require_ros()
    from pathlib import Path

    from spgrasp_ros.nodes.r1_grasp_bridge import PARAMETERS
    from spgrasp_ros.ros.launch_plan import node_parameters

    path = Path(__file__).resolve().parents[2] / "config" / "r1_grasp_bridge.yaml"
    assert node_parameters(path, "r1_grasp_bridge") == {spec.name: spec.default for spec in PARAMETERS}
