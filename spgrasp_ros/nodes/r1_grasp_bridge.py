"""``r1_grasp_bridge``: sends the tracked object's best grasp to one arm of a Galaxea R1 (or any arm that takes
an end-effector PoseStamped and a gripper position). A lifecycle node: active = may command the arm.

Subscribes ``grasp_poses`` (spgrasp_ros/msg/GraspArray). For each message it picks the best grasp with a
metric pose of the selected object, moves it into the arm's base frame (tf2 when installed and ``use_tf``,
else the static ``extrinsics.*``), backs it off along the approach axis, checks the workspace and publishes a
geometry_msgs/PoseStamped on ``pose_topic`` and the gripper opening (sensor_msgs/JointState or
std_msgs/Float32) on ``gripper_topic``. Grasps older than ``stale_timeout_s``, a lost object, a target outside
the workspace: nothing is sent (the R1 controllers stop when their target stream stops). Commands go out at
``max_rate_hz`` at most. The rules live in ``spgrasp_ros.arm.arm_target``.

Transitions, each paired with its inverse:
- configure: read and validate the parameters (a bad one fails the transition naming it; the node stays
  unconfigured), create the arm and gripper publishers and the ``grasp_poses`` subscription; cleanup destroys
  them. Configured but inactive, the bridge logs what it would send and commands nothing.
- activate: start commanding (refused while the static extrinsics are the uncalibrated identity);
  deactivate: stop at once (no command goes out after the transition returns).
``~/enable`` (std_srvs/SetBool), served in every state, drives the same lifecycle: true configures (when
unconfigured) and activates, or, when already active, chooses the object anew; false deactivates. The
launch file configures the bridge and leaves it inactive.

Parameters: ``config/r1_grasp_bridge.yaml``. Topics, frames, message types and ``use_tf`` are read at
configure; the geometry (extrinsics, tool, offset, workspace, gripper range), ``object_id`` and the rates can
be changed on the configured node.
"""

from __future__ import annotations

import sys

from geometry_msgs.msg import PoseStamped
from lifecycle_msgs.msg import State
from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import JointState
from std_msgs.msg import Float32, Header
from std_srvs.srv import SetBool
from visualization_msgs.msg import MarkerArray

from spgrasp_ros.arm.arm_target import (
    ArmTarget,
    ArmTargetPlanner,
    GripperRange,
    Plan,
    RigidTransform,
    TargetSettings,
    Workspace,
    rotation_from_rpy,
)
from spgrasp_ros.msg import GraspArray
from spgrasp_ros.ros import parameters as params
from spgrasp_ros.ros.conversions import frame_result_from_msg
from spgrasp_ros.ros.lifecycle_guard import GuardedLifecycleNode
from spgrasp_ros.ros.markers import clear_markers, target_markers
from spgrasp_ros.ros.spin import failed_transition, run_node

try:  # optional: tf2_ros is not among the PyPI wheels
    from tf2_ros import Buffer as TransformBuffer
    from tf2_ros import TransformListener
except ImportError as error:
    TransformBuffer = TransformListener = None
    TF2_MISSING = f"tf2_ros is not installed ({error})"
else:
    TF2_MISSING = ""

NODE_NAME = "r1_grasp_bridge"
ARM_LETTERS = {"left": "l", "right": "r"}
GRIPPER_TYPES = {"JointState": JointState, "Float32": Float32}


def _spec(name: str, default: float, description: str) -> params.ParamSpec:
    """A finite float that may change on the configured node (the geometry)."""
    return params.ParamSpec(name, default, description, params.finite, runtime=True)


PARAMETERS = (
    params.ParamSpec("arm", "left", "left or right: fills {arm} (left/right) and {a} (l/r) in the topic names",
                     params.one_of(*ARM_LETTERS)),
    params.ParamSpec("pose_topic", "/motion_target/target_pose_arm_{arm}",
                     "geometry_msgs/PoseStamped end-effector target; ROS 1-era R1: /motion_target/target_pose_arm_{a}",
                     params.not_blank),
    params.ParamSpec("gripper_topic", "/motion_target/target_position_gripper_{arm}",
                     "gripper target ('' = send no gripper commands)"),
    params.ParamSpec("gripper_msg_type", "JointState", "JointState (position[0]) or Float32 (std_msgs data)",
                     params.one_of(*GRIPPER_TYPES)),
    params.ParamSpec("gripper_joint_name", "", "JointState.name[0] of the gripper commands"),
    params.ParamSpec("base_frame", "base_link", "frame_id of the commanded poses: the arm controller's base frame",
                     params.not_blank),
    params.ParamSpec("camera_frame", "", "with the static extrinsics: the frame_id grasps must carry ('' = any)"),
    params.ParamSpec("use_tf", True, "take camera->base from tf2 at the grasps' stamp where tf2_ros is installed "
                                     "(else, or when false, the extrinsics.* parameters)"),
    _spec("extrinsics.x", 0.0, "camera optical frame origin in base_frame [m]"),
    _spec("extrinsics.y", 0.0, "camera optical frame origin in base_frame [m]"),
    _spec("extrinsics.z", 0.0, "camera optical frame origin in base_frame [m]"),
    _spec("extrinsics.qx", 0.0, "camera optical frame orientation in base_frame, quaternion x (or use roll/pitch/yaw)"),
    _spec("extrinsics.qy", 0.0, "quaternion y"),
    _spec("extrinsics.qz", 0.0, "quaternion z"),
    _spec("extrinsics.qw", 1.0, "quaternion w"),
    _spec("extrinsics.roll", 0.0, "camera optical frame orientation in base_frame [rad], fixed axes x, y, z "
                                  "(or use the quaternion)"),
    _spec("extrinsics.pitch", 0.0, "[rad]"),
    _spec("extrinsics.yaw", 0.0, "[rad]"),
    _spec("tool.roll", 0.0, "rotation [rad] from the grasp frame (z approach, x closing) to the frame the arm "
                            "controller expects for its end-effector target"),
    _spec("tool.pitch", 0.0, "[rad]"),
    _spec("tool.yaw", 0.0, "[rad]"),
    _spec("pre_grasp_offset_m", -0.1, "commanded point = grasp point + this along the approach axis [m]; "
                                      "negative: backed off towards the camera"),
    _spec("workspace.x_min", 0.2, "workspace box in base_frame [m]: grasp and pre-grasp point must be inside"),
    _spec("workspace.x_max", 0.9, "[m]"),
    _spec("workspace.y_min", -0.6, "[m]"),
    _spec("workspace.y_max", 0.6, "[m]"),
    _spec("workspace.z_min", 0.3, "[m]"),
    _spec("workspace.z_max", 1.5, "[m]"),
    _spec("gripper.min_opening_m", 0.0, "smallest gripper opening [m] (commanded as gripper.command_at_min)"),
    _spec("gripper.max_opening_m", 0.1, "largest gripper opening [m] (commanded as gripper.command_at_max)"),
    _spec("gripper.command_at_min", 0.0, "gripper command for the smallest opening"),
    _spec("gripper.command_at_max", 100.0, "gripper command for the largest opening"),
    _spec("gripper.margin_m", 0.02, "open this much wider than the grasp width [m]"),
    params.ParamSpec("object_id", 0, "object to grasp; 0 = the best-scoring visible one, kept while commanding "
                                     "(enable again to choose anew)", params.at_least(0), runtime=True),
    params.ParamSpec("max_rate_hz", 10.0, "commands per second at most", params.in_range(0.1, 1000.0),
                     runtime=True),
    params.ParamSpec("stale_timeout_s", 0.5, "grasps whose stamp is further than this from now are not sent [s]",
                     params.in_range(0.001, 60.0), runtime=True),
    params.ParamSpec("log_period_s", 2.0, "at most one line per this many seconds for repeated messages [s]",
                     params.in_range(0.0, 3600.0), runtime=True),
)

def target_settings(values: dict) -> TargetSettings:
    """The geometry and rules from the parameter values; ValueError names what is inconsistent."""
    workspace = Workspace(tuple(values[f"workspace.{axis}_min"] for axis in "xyz"),
                          tuple(values[f"workspace.{axis}_max"] for axis in "xyz"))
    gripper = GripperRange(*(values[f"gripper.{name}"] for name in
                             ("min_opening_m", "max_opening_m", "command_at_min", "command_at_max", "margin_m")))
    return TargetSettings(
        pre_grasp_offset_m=values["pre_grasp_offset_m"], workspace=workspace, gripper=gripper,
        tool=rotation_from_rpy([values[f"tool.{name}"] for name in ("roll", "pitch", "yaw")], "tool rotation"),
        object_id=values["object_id"], max_rate_hz=values["max_rate_hz"], stale_timeout_s=values["stale_timeout_s"])


def static_extrinsics(values: dict) -> RigidTransform:
    """The camera optical frame's pose in the base frame from the extrinsics.* values."""
    return RigidTransform.from_quaternion_or_rpy(
        [values[f"extrinsics.{name}"] for name in "xyz"],
        [values[f"extrinsics.q{name}"] for name in "xyzw"],
        [values[f"extrinsics.{name}"] for name in ("roll", "pitch", "yaw")])


def arm_topic(template: str, arm: str) -> str:
    """A topic name template with {arm} (left/right) and {a} (l/r) filled in."""
    try:
        return template.format(arm=arm, a=ARM_LETTERS[arm])
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"topic {template!r}: only the placeholders {{arm}} and {{a}} are known ({error!r})") from None


class R1GraspBridge(GuardedLifecycleNode):
    """The bridge (see the module docstring)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        params.declare(self, PARAMETERS)
        self.add_on_set_parameters_callback(self._check_parameters_cb)
        self.add_post_set_parameters_callback(self._parameters_changed_cb)
        # the convenience switch: it drives the lifecycle, so it exists in every state
        self.create_service(SetBool, "~/enable", self.enable_cb)
        self._state = State.PRIMARY_STATE_UNCONFIGURED
        self._settings: dict = {}
        self._publishers_made: list = []  # what configure made, for cleanup
        self._subscription = self._marker_pub = None
        self._tf_buffer = self._tf_listener = None
        self._commanding = False
        self._not_active_because = ""  # why the last configure / activate failed
        self.finished = False  # set by on_shutdown; run_node then exits

    # --- lifecycle ----------------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read and check the parameters, make the command publishers and the grasp subscription."""
        try:
            self._settings = params.read(self, PARAMETERS)
            self._planner = ArmTargetPlanner(target_settings(self._settings))
            self._extrinsics = static_extrinsics(self._settings)
            arm = self._settings["arm"]
            self._pose_topic = arm_topic(self._settings["pose_topic"], arm)
            gripper_template = self._settings["gripper_topic"].strip()
            self._gripper_topic = arm_topic(gripper_template, arm) if gripper_template else ""
            self._gripper_type = GRIPPER_TYPES[self._settings["gripper_msg_type"]]
            qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
            self._pose_pub = self._publisher(PoseStamped, self._pose_topic, qos)
            self._gripper_pub = (self._publisher(self._gripper_type, self._gripper_topic, qos)
                                 if self._gripper_topic else None)
            if self._settings["use_tf"] and TransformBuffer is not None:
                self._tf_buffer = TransformBuffer()
                self._tf_listener = TransformListener(self._tf_buffer, self)
            self._subscription = self.create_subscription(GraspArray, "grasp_poses", self.grasps_cb, qos)
            self._marker_pub = self.create_publisher(MarkerArray, "~/markers", 2)  # also while disabled
        except Exception as error:  # everything configure made is undone: the node stays unconfigured
            self._destroy_outputs()
            self._not_active_because = f"not enabled: configure failed: {error}"
            return failed_transition(self, "configure", error)
        gripper = (f"gripper {self._settings['gripper_msg_type']} on {self._gripper_topic}" if self._gripper_pub
                   else "no gripper commands")
        self.get_logger().info(
            f"{arm} arm: PoseStamped on {self._pose_topic} in {self._settings['base_frame']}, {gripper}; "
            f"camera->base from {self._transform_source()}; disabled until {self.get_fully_qualified_name()}"
            "/enable (or the lifecycle activate transition)")
        self._state = State.PRIMARY_STATE_INACTIVE
        params.set_configure_time_read_only(self, PARAMETERS, True)
        return super().on_configure(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Undo configure."""
        self._destroy_outputs()
        self._state = State.PRIMARY_STATE_UNCONFIGURED
        params.set_configure_time_read_only(self, PARAMETERS, False)
        return super().on_cleanup(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """May command the arm from now on (refused while the extrinsics are the identity)."""
        if self._tf_buffer is None and _is_identity(self._extrinsics):
            self._not_active_because = (
                "not enabled: the camera extrinsics are the identity (camera frame = base frame), which is almost "
                "surely not calibrated; set extrinsics.* (or use tf2)")
            self.get_logger().warning(self._not_active_because)
            return TransitionCallbackReturn.FAILURE
        result = super().on_activate(state)  # the lifecycle publishers go live first
        self._choose_anew()
        self._state = State.PRIMARY_STATE_ACTIVE
        self.get_logger().info(self._enabled_message())
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop commanding at once."""
        self._state = State.PRIMARY_STATE_INACTIVE  # first: no command goes out from here on
        self._commanding = False
        self.get_logger().info("disabled: nothing is commanded")
        return super().on_deactivate(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """A transition raised: stop commanding, undo what configure made; the node is unconfigured again."""
        self._state = State.PRIMARY_STATE_UNCONFIGURED
        self._commanding = False
        self._destroy_outputs()
        self.get_logger().error("a lifecycle transition failed with an error: disabled and unconfigured")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop commanding, undo configure; the process then exits."""
        self._state = State.PRIMARY_STATE_FINALIZED
        self._destroy_outputs()
        self.finished = True
        return super().on_shutdown(state)

    def _publisher(self, msg_type, topic: str, qos: QoSProfile):
        publisher = self.create_lifecycle_publisher(msg_type, topic, qos)
        self._publishers_made.append(publisher)
        return publisher

    def _destroy_outputs(self) -> None:
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
            self._subscription = None
        for publisher in self._publishers_made:
            self.destroy_lifecycle_publisher(publisher)
        self._publishers_made = []
        self._pose_pub = self._gripper_pub = None
        if self._marker_pub is not None:
            self.destroy_publisher(self._marker_pub)
        self._marker_pub = None
        if self._tf_listener is not None:
            self._tf_listener.unregister()
        self._tf_buffer = self._tf_listener = None

    def _transform_source(self) -> str:
        if self._tf_buffer is not None:
            return "tf2 at the grasps' stamp"
        why = f" ({TF2_MISSING}; use_tf is true)" if self._settings["use_tf"] and TF2_MISSING else ""
        return f"the static extrinsics parameters{why}"

    def _enabled_message(self) -> str:
        listeners = self._pose_pub.get_subscription_count()
        return (f"enabled: commanding the {self._settings['arm']} arm on {self._pose_topic}"
                + ("" if listeners else " (no subscriber yet: is the arm controller running?)"))

    def _choose_anew(self) -> None:
        self._planner.reset()  # a new choice of object, a fresh rate limit
        self._commanding = False

    # --- callbacks ----------------------------------------------------------------------------------------------
    def grasps_cb(self, msg: GraspArray) -> None:
        """One frame's grasps -> one command, or nothing (logged, throttled)."""
        try:
            plan = self._plan(msg)
        except Exception as error:  # a bad message must not end the node: nothing is sent for it
            plan = Plan(None, f"grasps could not be processed: {error!r}", refused=True)
        if plan.target is not None and not plan.held:
            self._command(plan.target, msg.header)
        elif plan.target is None:
            self._idle(plan, msg.header)

    def enable_cb(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        """true: configure (if needed) and activate, or choose anew when active; false: deactivate. The
        transitions log what they did."""
        if request.data:
            response.success, response.message = self._enable()
        else:
            if self._state == State.PRIMARY_STATE_ACTIVE:
                self.trigger_deactivate()
            response.success, response.message = True, "disabled: nothing is commanded"
        return response

    def _enable(self) -> tuple[bool, str]:
        if self._state == State.PRIMARY_STATE_FINALIZED:
            return False, "not enabled: the node is shut down"
        if self._state == State.PRIMARY_STATE_ACTIVE:
            self._choose_anew()
            self.get_logger().info("enabled again: the object is chosen anew")
            return True, self._enabled_message()
        if self._state == State.PRIMARY_STATE_UNCONFIGURED and \
                self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            return False, self._not_active_because
        if self.trigger_activate() != TransitionCallbackReturn.SUCCESS:
            return False, self._not_active_because
        return True, self._enabled_message()

    def _check_parameters_cb(self, parameters) -> SetParametersResult:
        configured = self._state in (State.PRIMARY_STATE_INACTIVE, State.PRIMARY_STATE_ACTIVE)
        result = params.validator(PARAMETERS, frozen=lambda: configured)(parameters)
        if not result.successful or not configured:
            return result  # unconfigured: configure checks how the values fit together
        values = {**self._settings, **{p.name: p.value for p in parameters}}
        try:
            target_settings(values)
            static_extrinsics(values)
        except (ValueError, TypeError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        return result

    def _parameters_changed_cb(self, parameters) -> None:
        if self._state not in (State.PRIMARY_STATE_INACTIVE, State.PRIMARY_STATE_ACTIVE):
            return  # configure reads them
        self._settings = params.read(self, PARAMETERS)
        self._planner.settings = target_settings(self._settings)
        self._extrinsics = static_extrinsics(self._settings)

    # --- one frame ----------------------------------------------------------------------------------------------
    def _plan(self, msg: GraspArray) -> Plan:
        now_s = self.get_clock().now().nanoseconds * 1e-9
        stamp_s = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        try:
            camera_to_base = self._camera_to_base(msg.header)
        except ValueError as error:
            return Plan(None, str(error), refused=True)
        return self._planner.plan(frame_result_from_msg(msg), stamp_s, now_s, camera_to_base)

    def _camera_to_base(self, header: Header) -> RigidTransform:
        base = self._settings["base_frame"]
        if self._tf_buffer is None:
            expected = self._settings["camera_frame"]
            if expected and header.frame_id != expected:
                raise ValueError(f"grasps are in frame '{header.frame_id}' but the extrinsics are for "
                                 f"camera_frame '{expected}'")
            return self._extrinsics
        try:
            transform = self._tf_buffer.lookup_transform(base, header.frame_id, Time.from_msg(header.stamp)).transform
        except Exception as error:  # tf2's Lookup/Connectivity/Extrapolation errors
            raise ValueError(f"no tf2 transform from '{header.frame_id}' to '{base}' at the grasps' stamp: "
                             f"{error}") from None
        t, q = transform.translation, transform.rotation
        return RigidTransform.from_quaternion((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))

    def _draw(self, target: ArmTarget | None, header: Header) -> None:
        """~/markers while someone subscribes: the target's grippers (green: commanding, grey: would send) in
        the base frame, or nothing (a DELETEALL)."""
        if self._marker_pub is None or not self._marker_pub.get_subscription_count():
            return
        base = Header(stamp=header.stamp, frame_id=self._settings["base_frame"])
        if target is None:
            self._marker_pub.publish(clear_markers(base))
            return
        grasp_frame = Rotation.from_quat(target.orientation) * self._planner.settings.tool.inv()  # z = approach
        self._marker_pub.publish(target_markers(base, target.position, target.grasp_position, grasp_frame.as_quat(),
                                                target.opening_m, self._state == State.PRIMARY_STATE_ACTIVE))

    def _command(self, target: ArmTarget, header: Header) -> None:
        self._draw(target, header)
        pose, gripper = self._messages(target, header)
        period = self._settings["log_period_s"]
        if self._state != State.PRIMARY_STATE_ACTIVE:
            where = f" and {self._gripper_topic}" if self._gripper_pub else ""
            self.get_logger().info(f"disabled: would send {target.describe()} in {self._settings['base_frame']} "
                                   f"to {self._pose_topic}{where} (call {self.get_fully_qualified_name()}/enable)",
                                   throttle_duration_sec=period)
            return
        self._pose_pub.publish(pose)
        if gripper is not None:
            self._gripper_pub.publish(gripper)
        self._planner.sent(target, self.get_clock().now().nanoseconds * 1e-9)
        if not self._commanding:
            self.get_logger().info(f"commanding {target.describe()}")
        self._commanding = True
        self.get_logger().debug(f"sent {target.describe()}")

    def _idle(self, plan: Plan, header: Header) -> None:
        self._draw(None, header)
        period = self._settings["log_period_s"]
        if self._state == State.PRIMARY_STATE_ACTIVE and self._commanding:
            self.get_logger().warning(f"stopped commanding: {plan.reason}")
        elif plan.refused:
            self.get_logger().warning(f"not sent: {plan.reason}", throttle_duration_sec=period)
        else:
            self.get_logger().info(f"nothing to send: {plan.reason}", throttle_duration_sec=period)
        self._commanding = False

    def _messages(self, target: ArmTarget, header: Header):
        """(PoseStamped, gripper message or None); stamped with the grasps' (the image's) stamp."""
        pose = PoseStamped()
        pose.header.stamp = header.stamp
        pose.header.frame_id = self._settings["base_frame"]
        p, q = pose.pose.position, pose.pose.orientation
        p.x, p.y, p.z = target.position
        q.x, q.y, q.z, q.w = target.orientation
        if self._gripper_pub is None:
            return pose, None
        if self._gripper_type is Float32:
            return pose, Float32(data=float(target.gripper_command))
        joint = JointState(name=[self._settings["gripper_joint_name"]], position=[float(target.gripper_command)],
                           velocity=[0.0], effort=[0.0])
        joint.header.stamp = header.stamp
        return pose, joint


def _is_identity(transform: RigidTransform) -> bool:
    return not transform.translation.any() and transform.rotation.magnitude() < 1e-12


def main(args: list[str] | None = None) -> int:
    """``ros2 run spgrasp_ros r1_grasp_bridge``: the bridge, unconfigured until a launch file, a lifecycle client
    or ``~/enable`` drives it."""
    return run_node(R1GraspBridge, args)


if __name__ == "__main__":
    sys.exit(main())
