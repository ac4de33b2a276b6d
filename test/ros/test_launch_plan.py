"""tracker.launch.py's decisions (spgrasp_ros.ros.launch_plan) without ROS, the parameter files it reads,
and the launch file itself (compiled always; built where launch_ros is installed)."""

import ast
import importlib.util
import inspect
import py_compile
import re
from pathlib import Path

import pytest

from spgrasp_ros.ros.launch_plan import (
    CAMERA_NODES,
    TRACKER,
    LaunchPlanError,
    make_plan,
    node_parameters,
    read_parameter_file,
    tracker_remappings,
)

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILE = ROOT / "launch" / "tracker.launch.py"
# config/<file> -> the node whose entry it must hold
CONFIG_NODES = {"tracker.yaml": TRACKER, "video_source.yaml": "video_source_node",
                "zed_camera.yaml": "zed_camera_node", "r1_grasp_bridge.yaml": "r1_grasp_bridge",
                "bag_source.yaml": "bag_source_node", "operator.yaml": "operator_node"}


def _yaml(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def args(tmp_path):
    """make_plan's arguments as the launch file passes them by default (strings), with small parameter files."""
    tracker = _yaml(tmp_path, "tracker.yaml", "spgrasp_tracker:\n  ros__parameters:\n    checkpoint: demo\n"
                                              "    device: auto\n    image_transport: raw\n    top_k: 5\n")
    video = _yaml(tmp_path, "video.yaml",
                  "video_source_node:\n  ros__parameters:\n    source: ''\n    loop: false\n")
    zed = _yaml(tmp_path, "zed.yaml", "zed_camera_node:\n  ros__parameters:\n    serial_number: 0\n")
    bridge = _yaml(tmp_path, "bridge.yaml", "r1_grasp_bridge:\n  ros__parameters:\n    arm: left\n")
    return dict(camera="video", video="clip.mp4", checkpoint="", model_config="", device="", namespace="",
                arm="none", image_transport="", use_sim_time="false", tracker_params=tracker,
                video_params=video, zed_params=zed, bridge_params=bridge)


def test_video_camera_and_tracker_share_topic_names(args):
    plan = make_plan(**args)
    camera, tracker = plan.nodes
    assert (camera.executable, camera.name) == ("video_source_node", "video_source_node") and not camera.lifecycle
    assert camera.parameters == {"source": "clip.mp4", "loop": False, "use_sim_time": False}
    assert (tracker.executable, tracker.name, tracker.lifecycle) == (TRACKER, TRACKER, True)
    assert tracker.remappings == []  # the video source publishes image, depth, camera_info: the tracker's names
    assert tracker.parameters == {"checkpoint": "demo", "device": "auto", "image_transport": "raw", "top_k": 5,
                                  "use_sim_time": False}
    assert plan.namespace == "" and "video_source_node, spgrasp_tracker" in plan.describe()


def test_zed_camera_remaps_the_tracker_onto_wrapper_names(args):
    plan = make_plan(**{**args, "camera": "zed", "namespace": "robot/", "image_transport": "compressed"})
    camera, tracker = plan.nodes
    assert camera.executable == CAMERA_NODES["zed"] and camera.parameters["serial_number"] == 0
    assert dict(tracker.remappings) == {
        "image": "zed/zed_node/rgb/image_rect_color",
        "image/compressed": "zed/zed_node/rgb/image_rect_color/compressed",
        "depth": "zed/zed_node/depth/depth_registered",
        "camera_info": "zed/zed_node/rgb/camera_info",
    }
    assert tracker.parameters["image_transport"] == "compressed"
    assert plan.namespace == "/robot"


def test_no_camera_starts_only_the_tracker_on_plain_names(args):
    plan = make_plan(**{**args, "camera": "none", "video": "", "arm": "left", "use_sim_time": "True"})
    assert [node.name for node in plan.nodes] == [TRACKER, "r1_grasp_bridge"]
    assert tracker_remappings("none") == []
    assert plan.nodes[1].parameters == {"arm": "left", "use_sim_time": True}
    assert plan.nodes[0].parameters["use_sim_time"] is True


@pytest.mark.parametrize("arm", ["left", " Right "])
def test_arm_starts_the_bridge_for_that_arm_in_the_namespace(args, arm):
    plan = make_plan(**{**args, "arm": arm, "namespace": "robot"})
    assert [node.name for node in plan.nodes] == ["video_source_node", TRACKER, "r1_grasp_bridge"]
    bridge = plan.nodes[2]
    # a lifecycle node the launch file configures and leaves inactive: active = may command the arm
    assert (bridge.executable, bridge.lifecycle, bridge.activate, bridge.remappings) == \
        ("r1_grasp_bridge", True, False, [])
    side = arm.strip().lower()
    assert bridge.parameters == {"arm": side, "use_sim_time": False}  # overrides bridge_params' left
    assert f"r1_grasp_bridge for the {side} arm, disabled until /robot/r1_grasp_bridge/enable" in plan.describe()


def test_no_arm_starts_no_bridge(args):
    assert [node.name for node in make_plan(**args).nodes] == ["video_source_node", TRACKER]
    assert "r1_grasp_bridge" not in make_plan(**args).describe()
    assert all(node.activate for node in make_plan(**{**args, "camera": "zed"}).nodes if node.lifecycle), \
        "the camera and the tracker are taken to active"


def test_arguments_override_the_file_only_when_given(args):
    given = {"checkpoint": " /models/a.pt ", "device": "cuda:1", "model_config": "small", "grasp_source": "model"}
    tracker = make_plan(**{**args, **given}).nodes[1]
    assert tracker.parameters["checkpoint"] == "/models/a.pt" and tracker.parameters["grasp_source"] == "model"
    assert "grasp_source" not in make_plan(**args).nodes[1].parameters, "'' keeps the file's (here: none)"
    assert tracker.parameters["device"] == "cuda:1" and tracker.parameters["model_config"] == "small"
    assert make_plan(**args).nodes[1].parameters["device"] == "auto"
    # Values stay strings (launch_ros would otherwise read "0" as an integer).
    assert make_plan(**{**args, "video": "0"}).nodes[0].parameters["source"] == "0"


def test_video_source_from_the_parameter_file_when_no_argument(args, tmp_path):
    video = _yaml(tmp_path, "v2.yaml", "video_source_node:\n  ros__parameters:\n    source: /data/seq\n")
    assert make_plan(**{**args, "video": "", "video_params": video}).nodes[0].parameters["source"] == "/data/seq"


@pytest.mark.parametrize("change, message", [
    ({"camera": "kinect"}, "camera:='kinect' is not one of video, zed, zed_wrapper, bag, none"),
    ({"camera": "bag"}, "camera:=bag needs a bag: pass bag:=<rosbag2 folder>"),
    ({"camera": "bag", "bag": "/no/such/bag"}, "camera:=bag: no such bag: /no/such/bag"),
    ({"video": ""}, "camera:=video needs a source"),
    ({"image_transport": "compressed"}, "camera:=video publishes raw images only"),
    ({"image_transport": "jpeg"}, "image_transport:='jpeg' is not one of raw, compressed"),
    ({"namespace": "robot/1arm"}, "is not a ROS namespace"),
    ({"arm": "both"}, "arm:='both' is not one of none, left, right"),
    ({"arm": "left", "bridge_params": "/nonexistent/bridge.yaml"}, "bridge_params: no such parameter file"),
    ({"use_sim_time": ""}, "use_sim_time:='' must be true or false"),
    ({"camera": "zed", "zed_topics": "5.0"}, "zed_topics:='5.0' is not one of legacy, 5.1"),
    ({"tracker_params": "/nonexistent/tracker.yaml"}, "tracker_params: no such parameter file"),
])
def test_unusable_arguments_fail_with_a_message_naming_them(args, change, message):
    with pytest.raises(LaunchPlanError, match=re.escape(message)):
        make_plan(**{**args, **change})


def test_file_entries_apply_in_any_namespace_and_by_pattern_in_file_order(tmp_path):
    path = _yaml(tmp_path, "all.yaml", """
/**:
  ros__parameters: {a: 1, b: 1, c: 1, d: 1}
spgrasp_tracker:
  ros__parameters: {b: 2}
/robot/spgrasp_tracker:
  ros__parameters: {c: 3}
/**/spgrasp_tracker:
  ros__parameters: {d: 4}
/other/spgrasp_tracker:
  ros__parameters: {a: 99}
/robot/*:
  ros__parameters: {e: 5}
video_source_node:
  ros__parameters: {a: 98}
""")
    assert node_parameters(path, TRACKER, "/robot") == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    assert node_parameters(path, TRACKER, "") == {"a": 1, "b": 2, "c": 1, "d": 4}
    assert node_parameters(path, TRACKER, "/robot/left") == {"a": 1, "b": 2, "c": 1, "d": 4}


def test_parameter_file_values_are_flattened_and_checked_like_rcl(tmp_path):
    good = _yaml(tmp_path, "good.yaml", "n:\n  ros__parameters:\n    qos: {depth: 1, reliable: true}\n"
                                        "    limits: [0.1, 0.2]\n    names: [a, b]\n")
    assert read_parameter_file(good) == {"n": {"qos.depth": 1, "qos.reliable": True, "limits": [0.1, 0.2],
                                               "names": ["a", "b"]}}
    bad = _yaml(tmp_path, "bad.yaml", "n:\n  ros__parameters:\n    empty: []\n    mixed: [1, 2.5]\n    none:\n"
                                      "m:\n  parameters: {x: 1}\n")
    with pytest.raises(LaunchPlanError) as error:
        read_parameter_file(bad, "tracker_params")
    text = str(error.value)
    assert text.startswith("tracker_params: ") and "n: empty = []" in text and "n: mixed = [1, 2.5]" in text
    assert "n: none = None" in text and "'m' has no ros__parameters mapping" in text
    with pytest.raises(LaunchPlanError, match="is not valid YAML"):
        read_parameter_file(_yaml(tmp_path, "broken.yaml", "n: [\n"))


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")), ids=lambda path: path.name)
def test_config_files_are_ros_parameter_files(path):
    entries = read_parameter_file(path)  # raises with every problem listed
    if path.name in CONFIG_NODES:
        assert node_parameters(path, CONFIG_NODES[path.name], "/any/namespace"), \
            f"{path.name} has no ros__parameters for {CONFIG_NODES[path.name]}"
    assert all(entries.values()), f"{path.name} has an empty ros__parameters"


def _launch_argument_names() -> list[str]:
    """The argument names tracker.launch.py declares (its _arguments() table), read without importing it."""
    tree = ast.parse(LAUNCH_FILE.read_text(encoding="utf-8"))
    table = next(node for node in ast.walk(tree)
                 if isinstance(node, ast.FunctionDef) and node.name == "_arguments")
    rows = next(node for node in ast.walk(table) if isinstance(node, ast.Return)).value.elts
    return [row.elts[0].value for row in rows]


def test_launch_file_compiles_and_declares_what_make_plan_takes(tmp_path):
    py_compile.compile(str(LAUNCH_FILE), cfile=str(tmp_path / "tracker_launch.pyc"), doraise=True)
    names = _launch_argument_names()
    assert sorted(names) == sorted(inspect.signature(make_plan).parameters)
    readme = (ROOT / "launch" / "README.md").read_text(encoding="utf-8")
    assert [name for name in names if f"`{name}`" not in readme] == [], "launch/README.md lacks arguments"


def test_launch_description_builds_where_launch_ros_is_installed(tmp_path):
    if importlib.util.find_spec("launch_ros") is None:
        pytest.skip("launch_ros is not installed (a full ROS 2 install has it; the PyPI wheels do not)")
    from ament_index_python.packages import PackageNotFoundError
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch_ros.actions import LifecycleNode

    spec = importlib.util.spec_from_file_location("tracker_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        description = module.generate_launch_description()
    except PackageNotFoundError as error:
        pytest.skip(f"spgrasp_ros is not installed in an ament prefix ({error})")
    declared = {action.name: action for action in description.entities
                if isinstance(action, DeclareLaunchArgument)}
    assert sorted(declared) == sorted(_launch_argument_names())

    # Run the setup function on defaults (as `ros2 launch` would), with this checkout's tracker.yaml.
    context = LaunchContext()
    video = _yaml(tmp_path, "video.yaml", "video_source_node:\n  ros__parameters:\n    loop: false\n")
    context.launch_configurations.update(video="clip.mp4", video_params=video,
                                         tracker_params=str(ROOT / "config" / "tracker.yaml"))
    for action in declared.values():
        action.visit(context)
    setup = next(action for action in description.entities if isinstance(action, OpaqueFunction))
    actions = setup.visit(context)
    lifecycle_nodes = [action for action in actions if isinstance(action, LifecycleNode)]
    assert sorted(node.node_executable for node in lifecycle_nodes) == ["operator_node", "spgrasp_tracker"]
    assert all(node.node_package == "spgrasp_ros" for node in lifecycle_nodes)
    context.launch_configurations.update(arm="left", bridge_params=str(ROOT / "config" / "r1_grasp_bridge.yaml"))
    lifecycle_nodes = [action for action in setup.visit(context) if isinstance(action, LifecycleNode)]
    assert len(lifecycle_nodes) == 3, "the bridge is a lifecycle node too"


def test_zed_camera_is_a_lifecycle_node_publishing_the_wrapper_names_the_tracker_reads(args):
    plan = make_plan(**{**args, "camera": "zed"})
    zed = next(n for n in plan.nodes if n.executable == "zed_camera_node")
    tracker = next(n for n in plan.nodes if n.executable == "spgrasp_tracker")
    assert zed.lifecycle
    published = dict(zed.remappings)
    read = dict(tracker.remappings)
    for tracker_input, zed_output in (("image", "rgb/image_rect_color"), ("depth", "depth/depth_registered"),
                                      ("camera_info", "rgb/camera_info")):
        assert read[tracker_input] == published[zed_output], tracker_input


# zed-ros2-wrapper's topics under zed/zed_node by version (its CHANGELOG v5.1.0 and
# zed_camera_component_video_depth.cpp: rgb/image_rect_color -> rgb/color/rect/image, camera_info beside it).
WRAPPER_NAMES = {
    "legacy": {"image": "rgb/image_rect_color", "depth": "depth/depth_registered", "camera_info": "rgb/camera_info"},
    "5.1": {"image": "rgb/color/rect/image", "depth": "depth/depth_registered",
            "camera_info": "rgb/color/rect/camera_info"},
}


@pytest.mark.parametrize("naming", ["legacy", "5.1", " 5.1 "])
def test_zed_topics_name_what_the_zed_node_publishes_and_every_node_reads(args, tmp_path, naming):
    names = {key: f"zed/zed_node/{value}" for key, value in WRAPPER_NAMES[naming.strip()].items()}
    operator = _yaml(tmp_path, "operator.yaml", "operator_node:\n  ros__parameters:\n    port: 9000\n")
    rviz_config = str(ROOT / "config" / "spgrasp.rviz")
    plan = make_plan(**{**args, "camera": "zed", "zed_topics": naming, "operator": "true",
                        "operator_params": operator, "rviz": "true", "rviz_config": rviz_config})
    zed, tracker, operator_node, rviz = (next(n for n in plan.nodes if n.name == name) for name in (
        "zed_camera_node", TRACKER, "operator_node", "rviz2"))
    # zed_camera_node publishes its own (legacy, relative) names; the launch moves each onto the naming
    assert dict(zed.remappings) == {
        "rgb/image_rect_color": names["image"], "rgb/image_rect_color/compressed": names["image"] + "/compressed",
        "rgb/camera_info": names["camera_info"], "depth/depth_registered": names["depth"],
        "depth/camera_info": "zed/zed_node/depth/camera_info"}
    assert dict(tracker.remappings) == {**names, "image/compressed": names["image"] + "/compressed"}
    assert dict(operator_node.remappings) == {"image": names["image"],
                                              "image/compressed": names["image"] + "/compressed"}
    assert rviz.remappings == [("image", names["image"])]


def test_zed_wrapper_starts_no_camera_and_reads_the_official_wrappers_topics(args):
    plan = make_plan(**{**args, "camera": "zed_wrapper", "zed_topics": "5.1", "image_transport": "compressed"})
    assert [node.name for node in plan.nodes] == [TRACKER]
    assert dict(plan.nodes[0].remappings) == {
        "image": "zed/zed_node/rgb/color/rect/image",
        "image/compressed": "zed/zed_node/rgb/color/rect/image/compressed",
        "depth": "zed/zed_node/depth/depth_registered",
        "camera_info": "zed/zed_node/rgb/color/rect/camera_info"}
    legacy = make_plan(**{**args, "camera": "zed_wrapper"}).nodes[0]  # zed_topics' default: legacy
    assert dict(legacy.remappings)["image"] == "zed/zed_node/rgb/image_rect_color"
    assert tracker_remappings("video", "5.1") == [], "the naming only concerns the ZED cameras"


def test_tracker_yaml_holds_the_dataclass_defaults():
    """One source of defaults: config/tracker.yaml says what TrackerConfig, DecodeConfig and
    TextDetectorConfig say (the node's parameter specs read their defaults from them too)."""
    from spgrasp_ros.text import TextDetectorConfig
    from spgrasp_ros.tracker.config import TrackerConfig

    values = node_parameters(ROOT / "config" / "tracker.yaml", TRACKER)
    text = TextDetectorConfig()
    expected = {**TrackerConfig().settings(), "text_box_threshold": text.box_threshold,
                "text_threshold": text.text_threshold, "text_max_objects": text.max_objects}
    assert {name: values.get(name) for name in expected} == expected


def test_rviz_starts_with_the_packaged_config_and_the_camera_frame_as_fixed_frame(args, tmp_path):
    import yaml

    config = ROOT / "config" / "spgrasp.rviz"
    plan = make_plan(**{**args, "rviz": "true", "rviz_config": str(config)})
    rviz = plan.nodes[-1]
    assert (rviz.package, rviz.executable, rviz.lifecycle) == ("rviz2", "rviz2", False)
    assert rviz.arguments == ["-d", str(config), "-f", "camera_color_optical_frame"]
    zed = make_plan(**{**args, "camera": "zed", "rviz": "true", "rviz_config": str(config)}).nodes[-1]
    assert zed.arguments[-1] == "zed_left_camera_frame_optical"
    assert "rviz2" not in [node.name for node in make_plan(**args).nodes], "off by default"
    with pytest.raises(LaunchPlanError, match="rviz_config"):
        make_plan(**{**args, "rviz": "true", "rviz_config": " "})
    with pytest.raises(LaunchPlanError, match="rviz"):
        make_plan(**{**args, "rviz": "maybe", "rviz_config": str(config)})
    displays = yaml.safe_load(config.read_text())["Visualization Manager"]["Displays"]
    topics = {d["Topic"]["Value"] for d in displays if "Topic" in d}
    assert topics == {"image", "spgrasp_tracker/debug_image", "spgrasp_tracker/mask", "spgrasp_tracker/markers",
                      "r1_grasp_bridge/markers"}, "relative names: rviz2 runs in the launch namespace"


def test_bag_camera_replays_the_bag_and_puts_the_other_nodes_on_its_clock(args, tmp_path):
    bag = tmp_path / "session_bag"
    bag.mkdir()
    plan = make_plan(**{**args, "camera": "bag", "bag": str(bag), "arm": "left",
                        "bag_params": str(ROOT / "config" / "bag_source.yaml")})
    source, tracker, bridge = plan.nodes
    assert (source.executable, source.name, source.lifecycle) == ("bag_source_node", "bag_source_node", False)
    assert source.parameters["bag"] == str(bag) and source.parameters["image_topic"] == "/image"
    assert source.parameters["use_sim_time"] is False, "the bag source paces on the steady clock"
    assert tracker.parameters["use_sim_time"] is True and bridge.parameters["use_sim_time"] is True
    assert tracker.remappings == [], "bag_source_node publishes image, depth, camera_info: the tracker's names"
    # without /clock from the bag, use_sim_time is the argument's
    no_clock = _yaml(tmp_path, "bag.yaml", f"bag_source_node:\n  ros__parameters:\n    bag: {bag}\n"
                                           "    publish_clock: false\n")
    source, tracker = make_plan(**{**args, "camera": "bag", "bag_params": no_clock}).nodes
    assert source.parameters["bag"] == str(bag), "the file's bag when the argument is empty"
    assert tracker.parameters["use_sim_time"] is False
    assert make_plan(**{**args, "camera": "bag", "bag_params": no_clock, "use_sim_time": "true"}
                     ).nodes[1].parameters["use_sim_time"] is True
    with pytest.raises(LaunchPlanError, match="camera:=bag publishes raw images only"):
        make_plan(**{**args, "camera": "bag", "bag": str(bag), "image_transport": "compressed"})


def test_bag_source_yaml_holds_the_settings_defaults():
    """One source of defaults: config/bag_source.yaml says what BagReplaySettings says (the node's parameter
    specs take their defaults from it)."""
    import dataclasses

    from spgrasp_ros.cameras.replay_schedule import BagReplaySettings

    values = node_parameters(ROOT / "config" / "bag_source.yaml", "bag_source_node")
    assert values == dataclasses.asdict(BagReplaySettings())


@pytest.mark.ros
def test_rviz_fixes_the_frame_recorded_in_the_bag(args, tmp_path):
    pytest.importorskip("rclpy")
    import numpy as np

    from spgrasp_ros.ros.bag_frames import BagFrame, write_bag

    bag = write_bag(tmp_path / "bag", [BagFrame(10**9, "zed_left_camera_frame_optical", np.zeros((4, 6, 3), np.uint8))])
    config = str(ROOT / "config" / "spgrasp.rviz")
    rviz = make_plan(**{**args, "camera": "bag", "bag": str(bag), "rviz": "true", "rviz_config": config}).nodes[-1]
    assert rviz.arguments[-2:] == ["-f", "zed_left_camera_frame_optical"]
    override = _yaml(tmp_path, "b.yaml", "bag_source_node:\n  ros__parameters:\n    frame_id: my_frame\n")
    rviz = make_plan(**{**args, "camera": "bag", "bag": str(bag), "rviz": "true", "rviz_config": config,
                        "bag_params": override}).nodes[-1]
    assert rviz.arguments[-1] == "my_frame"
    (tmp_path / "junk").mkdir()
    with pytest.raises(LaunchPlanError, match="junk cannot be read"):
        make_plan(**{**args, "camera": "bag", "bag": str(tmp_path / "junk"), "rviz": "true", "rviz_config": config})


def test_the_operator_page_reads_the_trackers_image_and_is_configured_and_activated(args, tmp_path):
    params = _yaml(tmp_path, "operator.yaml", "operator_node:\n  ros__parameters:\n    port: 9000\n"
                                              "    jpeg_quality: 70\n")
    assert "operator_node" not in [n.name for n in make_plan(**args).nodes]  # make_plan's default: off
    plan = make_plan(**{**args, "operator": "true", "operator_params": params, "namespace": "robot"})
    operator = plan.nodes[-1]
    assert (operator.executable, operator.name, operator.lifecycle, operator.activate) == (
        "operator_node", "operator_node", True, True)
    assert operator.parameters == {"port": 9000, "jpeg_quality": 70, "image_transport": "raw",
                                   "tracker_node": TRACKER, "bridge_node": "r1_grasp_bridge", "use_sim_time": False}
    assert operator.remappings == []  # the video source's image is the tracker's
    assert "operator page on http://127.0.0.1:9000/" in plan.describe()
    zed = make_plan(**{**args, "camera": "zed", "operator": "true", "operator_params": params,
                       "operator_host": "0.0.0.0", "operator_port": "8081"})
    operator, tracker = zed.nodes[-1], next(n for n in zed.nodes if n.name == TRACKER)
    assert operator.parameters["host"] == "0.0.0.0" and operator.parameters["port"] == 8081
    assert dict(operator.remappings)["image"] == dict(tracker.remappings)["image"]
    assert dict(operator.remappings)["image/compressed"] == dict(tracker.remappings)["image/compressed"]
    assert "depth" not in dict(operator.remappings)
    for port, message in (("http", "not a port number"), ("70000", "not in 0..65535")):
        with pytest.raises(LaunchPlanError, match=message):
            make_plan(**{**args, "operator": "true", "operator_port": port})
    with pytest.raises(LaunchPlanError, match="operator:="):
        make_plan(**{**args, "operator": "yes"})


def test_operator_yaml_holds_the_node_defaults():
    """One source of defaults: config/operator.yaml says what the operator node's parameter specs say."""
    pytest.importorskip("rclpy")
    from spgrasp_ros.nodes.operator_node import PARAMETERS

    values = node_parameters(ROOT / "config" / "operator.yaml", "operator_node")
    assert values == {spec.name: spec.default for spec in PARAMETERS}
