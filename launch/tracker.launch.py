"""Camera source + SPGrasp tracker (configured and activated by this file) + the operator page (on by default:
open the URL it logs) + optional R1 arm bridge (configured by this file and left inactive: it commands the arm
once enabled).

    ros2 launch spgrasp_ros tracker.launch.py video:=/data/mug.mp4
    ros2 launch spgrasp_ros tracker.launch.py camera:=zed checkpoint:=/models/spgrasp.pt arm:=left
    ros2 launch spgrasp_ros tracker.launch.py camera:=zed_wrapper zed_topics:=5.1   # the official wrapper >= 5.1
    ros2 launch spgrasp_ros tracker.launch.py camera:=bag bag:=/data/session_bag rviz:=true
    ros2 launch spgrasp_ros tracker.launch.py video:=/data/mug.mp4 operator_host:=0.0.0.0   # page for the LAN
    ros2 launch spgrasp_ros tracker.launch.py --show-args

What starts and how it is wired (executables, remappings, parameters) is decided by the ROS-free
spgrasp_ros.ros.launch_plan, where plain tests reach it; this file turns that plan into launch_ros actions
and drives the lifecycles: the camera and tracker are configured, then activated once inactive; the bridge is
only configured. A failed configure leaves the node unconfigured and says why in its log.
"""

import inspect
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction, RegisterEventHandler
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition

from spgrasp_ros.ros.launch_plan import PACKAGE, make_plan


def _arguments(config: str) -> list[tuple[str, str, str]]:
    """(name, default, description) of every launch argument; config is share/spgrasp_ros/config."""
    return [
        ("camera", "video", "camera source: zed (ZED 2i or .svo), zed_wrapper (the official zed-ros2-wrapper, "
                            "started by you: read on its zed/zed_node topics), video (file, image folder, "
                            "webcam), bag (a rosbag2 bag, MCAP or sqlite3, with its stamps and /clock) or none "
                            "(your own driver publishing image, depth, camera_info in the namespace)"),
        ("zed_topics", "legacy", "ZED topic names for camera:=zed and zed_wrapper: legacy "
                                 "(rgb/image_rect_color, zed-ros2-wrapper up to v5.0) or 5.1 "
                                 "(rgb/color/rect/image, v5.1 and later)"),
        ("video", "", "what camera:=video publishes: video file, image folder, recorded sequence (e.g. from "
                      "`spgrasp synth`), webcam:N or /dev/videoN ('' = `source` in video_params)"),
        ("bag", "", "what camera:=bag replays: a rosbag2 folder ('' = `bag` in bag_params); its /clock turns "
                    "use_sim_time on for the other nodes"),
        ("checkpoint", "", "bundled model name or checkpoint file ('' = tracker_params: demo)"),
        ("model_config", "", "model preset/YAML the checkpoint must match ('' = tracker_params: the one "
                             "inside the checkpoint)"),
        ("device", "", "auto, cpu, cuda or cuda:N ('' = tracker_params: auto)"),
        ("grasp_source", "", "model (the trained grasp head), geometry (from each tracked mask) or auto (model "
                             "when the checkpoint's head was trained) ('' = tracker_params: auto)"),
        ("image_transport", "", "raw or compressed ('' = tracker_params: raw)"),
        ("namespace", "", "namespace of every node and topic started here"),
        ("arm", "none", "none, left or right: start the R1 arm bridge for that arm (configured, inactive: "
                        "it commands nothing until r1_grasp_bridge/enable is called)"),
        ("use_sim_time", "false", "true: every node follows /clock (bag replay)"),
        ("tracker_params", os.path.join(config, "tracker.yaml"), "parameter file of the tracker"),
        ("video_params", os.path.join(config, "video_source.yaml"), "parameter file of video_source_node"),
        ("zed_params", os.path.join(config, "zed_camera.yaml"), "parameter file of zed_camera_node"),
        ("bag_params", os.path.join(config, "bag_source.yaml"), "parameter file of bag_source_node (topics in "
                                                                 "the bag, rate, loop, publish_clock)"),
        ("bridge_params", os.path.join(config, "r1_grasp_bridge.yaml"), "parameter file of r1_grasp_bridge"),
        ("rviz", "false", "true: also start rviz2 showing the image, mask, debug image and grasp markers"),
        ("rviz_config", os.path.join(config, "spgrasp.rviz"), "the rviz2 configuration rviz:=true opens"),
        ("operator", "true", "true: also start the operator page (point at objects in a browser; the node logs "
                             "the URL to open)"),
        ("operator_host", "", "address of the operator page ('' = operator_params: 127.0.0.1; any other needs "
                              "the token the node generates and logs in the URL)"),
        ("operator_port", "", "TCP port of the operator page ('' = operator_params: 8080)"),
        ("operator_params", os.path.join(config, "operator.yaml"), "parameter file of operator_node"),
    ]


def _has_autostart() -> bool:
    """Whether this launch_ros's LifecycleNode configures and activates by itself (launch_ros >= 0.26.7)."""
    return any("autostart" in inspect.signature(cls.__init__).parameters for cls in (LifecycleNode, Node))


def _lifecycle_node(activate: bool, **kwargs) -> list:
    """A lifecycle node the launch file configures at start and, with ``activate``, activates once inactive."""
    if activate and _has_autostart():
        return [LifecycleNode(autostart=True, **kwargs)]
    node = LifecycleNode(**kwargs)  # Humble, early Jazzy, or configure only: the transitions as launch events

    def change_state(transition_id: int) -> EmitEvent:
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                           transition_id=transition_id))

    actions = [node, change_state(Transition.TRANSITION_CONFIGURE)]
    if activate:
        actions.insert(0, RegisterEventHandler(OnStateTransition(
            target_lifecycle_node=node, start_state="configuring", goal_state="inactive",
            entities=[change_state(Transition.TRANSITION_ACTIVATE)], handle_once=True)))
    return actions


def _launch_setup(context, argument_names: list[str]) -> list:
    plan = make_plan(**{name: LaunchConfiguration(name).perform(context) for name in argument_names})
    actions = [LogInfo(msg=plan.describe())]
    for node in plan.nodes:
        kwargs = dict(package=node.package, executable=node.executable, name=node.name, namespace=plan.namespace,
                      parameters=[node.parameters], remappings=node.remappings, output="screen")
        if node.arguments:
            kwargs["arguments"] = node.arguments
        actions += _lifecycle_node(node.activate, **kwargs) if node.lifecycle else [Node(**kwargs)]
    return actions


def generate_launch_description() -> LaunchDescription:
    """The launch arguments and the setup that turns them into nodes (``ros2 launch`` calls this)."""
    arguments = _arguments(os.path.join(get_package_share_directory(PACKAGE), "config"))
    return LaunchDescription([
        *(DeclareLaunchArgument(name, default_value=default, description=description)
          for name, default, description in arguments),
        OpaqueFunction(function=_launch_setup, args=[[name for name, _, _ in arguments]]),
    ])
