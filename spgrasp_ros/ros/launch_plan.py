"""What ``launch/tracker.launch.py`` starts, decided without ROS: executables, remappings, parameters.

The launch file hands its arguments (strings) to :func:`make_plan` and turns each :class:`NodePlan` into one
launch_ros action; every choice is made here, where plain tests reach it. Parameter files are read here too:
a file's entry for a node applies whatever namespace the launch puts the node in (rcl alone would match
``spgrasp_tracker:`` to ``/spgrasp_tracker`` only, so ``namespace:=robot`` would silently drop every value).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from spgrasp_ros.cameras.replay_schedule import BagReplaySettings

PACKAGE = "spgrasp_ros"
TRACKER = "spgrasp_tracker"  # executable and node name of the tracker (a lifecycle node)
BRIDGE = "r1_grasp_bridge"  # executable and node name of the arm bridge
RVIZ = "rviz2"  # package, executable and node name of rviz2 (rviz:=true)
OPERATOR = "operator_node"  # executable and node name of the operator page (a lifecycle node; operator:=true)
# The frame_id each camera source stamps by default: rviz's fixed frame unless the camera's parameters say another.
CAMERA_FRAMES = {"video": "camera_color_optical_frame", "zed": "zed_left_camera_frame_optical",
                 "zed_wrapper": "zed_left_camera_frame_optical", "bag": "camera_color_optical_frame",
                 "none": "camera_color_optical_frame"}

# camera argument -> executable (= node name) of the camera source; "none" starts no camera.
CAMERA_NODES = {"video": "video_source_node", "zed": "zed_camera_node", "bag": "bag_source_node"}

# zed-ros2-wrapper's names under its node (namespace zed, node zed_node), by wrapper version: "legacy" up to
# v5.0, "5.1" from v5.1.0 (its CHANGELOG: rgb/image_rect_color -> rgb/color/rect/image; the camera_info is the
# image's sibling, image_transport::getCameraInfoTopic; depth unchanged). The zed_topics launch argument picks one.
ZED_PREFIX = "zed/zed_node"
ZED_NAMINGS = {
    "legacy": {"image": "rgb/image_rect_color", "depth": "depth/depth_registered",
               "camera_info": "rgb/camera_info", "depth_info": "depth/camera_info"},
    "5.1": {"image": "rgb/color/rect/image", "depth": "depth/depth_registered",
            "camera_info": "rgb/color/rect/camera_info", "depth_info": "depth/camera_info"},
}
# What zed_camera_node publishes (relative names: the legacy ones), by output.
ZED_NODE_TOPICS = ZED_NAMINGS["legacy"]
# The topics each camera source publishes, relative to the launch namespace, by tracker input; the ZED's come
# from ZED_NAMINGS (camera_topics). zed_wrapper: the official zed-ros2-wrapper, started by you.
PLAIN_TOPICS = {"image": "image", "depth": "depth", "camera_info": "camera_info"}
CAMERAS = ("video", "zed", "zed_wrapper", "bag", "none")
ZED_CAMERAS = ("zed", "zed_wrapper")
# arm argument: "none" starts no bridge, left/right start it for that arm.
ARMS = ("none", "left", "right")
IMAGE_TRANSPORTS = ("raw", "compressed")
# Camera sources that publish no `<image>/compressed` topic (bag_source_node decodes compressed recordings).
RAW_ONLY_CAMERAS = ("video", "bag")


def camera_topics(camera: str, zed_topics: str = "legacy") -> dict[str, str]:
    """The topics ``camera`` publishes, by tracker input (image, depth, camera_info), relative to the namespace;
    the ZED cameras' under ZED_PREFIX in the ``zed_topics`` naming."""
    if camera not in ZED_CAMERAS:
        return dict(PLAIN_TOPICS)
    naming = ZED_NAMINGS[zed_topics]
    return {name: f"{ZED_PREFIX}/{naming[name]}" for name in PLAIN_TOPICS}


def zed_node_remappings(zed_topics: str) -> list[tuple[str, str]]:
    """zed_camera_node's outputs (its own legacy relative names, the JPEG beside the image) onto the
    ``zed_topics`` naming under ZED_PREFIX."""
    naming = ZED_NAMINGS[zed_topics]
    pairs = [(ZED_NODE_TOPICS[output], f"{ZED_PREFIX}/{naming[output]}") for output in ZED_NODE_TOPICS]
    pairs.insert(1, (f"{ZED_NODE_TOPICS['image']}/compressed", f"{ZED_PREFIX}/{naming['image']}/compressed"))
    return pairs

_SCALARS = (bool, int, float, str)
_NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class LaunchPlanError(ValueError):
    """A launch argument or parameter file is unusable; the message says which and why."""


@dataclass(frozen=True)
class NodePlan:
    """One node to start from this package."""

    executable: str
    name: str
    parameters: dict[str, object]  # flat names (a.b for nested), file values first, then launch arguments
    remappings: list[tuple[str, str]] = field(default_factory=list)  # (tracker's name, topic it reads)
    lifecycle: bool = False  # a lifecycle node: the launch file configures it
    activate: bool = True  # ... and then activates it (False: left inactive, as the arm bridge)
    package: str = PACKAGE  # the package of the executable (rviz2 for rviz)
    arguments: list[str] = field(default_factory=list)  # command-line arguments (rviz: -d config, -f frame)


@dataclass(frozen=True)
class LaunchPlan:
    namespace: str  # "" or an absolute namespace such as /robot
    nodes: list[NodePlan]  # camera (if any), tracker, bridge (if any), in start order

    def describe(self) -> str:
        """One log line: what starts, where the tracker reads its images, which arm the bridge would command."""
        tracker = next(node for node in self.nodes if node.name == TRACKER)
        inputs = ", ".join(f"{src}->{dst}" for src, dst in tracker.remappings) or "image, depth, camera_info"
        names = ", ".join(node.name for node in self.nodes)
        line = f"spgrasp_ros: starting {names} in namespace '{self.namespace or '/'}'; tracker reads {inputs}"
        bridge = next((node for node in self.nodes if node.name == BRIDGE), None)
        if bridge is not None:
            arm = bridge.parameters.get("arm", "left")
            line += (f"; {BRIDGE} for the {arm} arm, disabled until {self.namespace}/{BRIDGE}/enable "
                     "(std_srvs/SetBool true; configured, inactive)")
        operator = next((node for node in self.nodes if node.name == OPERATOR), None)
        if operator is not None:
            host, port = operator.parameters.get("host", "127.0.0.1"), operator.parameters.get("port", 8080)
            line += (f"; the operator page on http://{host}:{port}/ (the operator node logs the URL to open, "
                     "with its token off loopback)")
        return line


def make_plan(*, camera: str, video: str, checkpoint: str, model_config: str, device: str, namespace: str,
              arm: str, image_transport: str, use_sim_time: str, tracker_params: str,
              video_params: str, zed_params: str, bridge_params: str, rviz: str = "false",
              rviz_config: str = "", bag: str = "", bag_params: str = "", operator: str = "false",
              operator_host: str = "", operator_port: str = "", operator_params: str = "",
              zed_topics: str = "legacy", grasp_source: str = "") -> LaunchPlan:
    """The nodes for these launch arguments (all strings, as launch passes them).

    checkpoint, model_config, device, image_transport, grasp_source and video override the parameter files when
    not empty (the tracker checks grasp_source when it is configured).
    arm:=left|right starts the bridge for that arm (overriding bridge_params), configured and left inactive;
    arm:=none starts none. rviz:=true also starts rviz2 with ``rviz_config`` (config/spgrasp.rviz), its fixed
    frame the camera's frame_id. camera:=bag replays ``bag`` (overriding ``bag`` in bag_params; '' = none)
    through bag_source_node; while it publishes /clock (``publish_clock``, on by default) every other node gets
    use_sim_time true, whatever use_sim_time says; the bag source itself always paces on the steady clock.
    operator:=true starts the operator page (configured and activated; its image input remapped as the
    tracker's), on ``operator_host``/``operator_port`` when given (else operator_params).
    zed_topics (legacy | 5.1) names the ZED topics as zed-ros2-wrapper up to v5.0 or from v5.1 does:
    camera:=zed publishes them, camera:=zed_wrapper (the official wrapper, started by you) is read on them.
    Raises LaunchPlanError naming the argument or file at fault.
    """
    camera = camera.strip().lower()
    if camera not in CAMERAS:
        raise LaunchPlanError(f"camera:={camera!r} is not one of {', '.join(CAMERAS)}")
    arm = arm.strip().lower()
    if arm not in ARMS:
        raise LaunchPlanError(f"arm:={arm!r} is not one of {', '.join(ARMS)}")
    namespace = _namespace(namespace)
    zed_topics = zed_topics.strip().lower()
    if zed_topics not in ZED_NAMINGS:
        raise LaunchPlanError(f"zed_topics:={zed_topics!r} is not one of {', '.join(ZED_NAMINGS)} "
                              "(zed-ros2-wrapper's names up to v5.0 / from v5.1)")
    common = {"use_sim_time": _boolean("use_sim_time", use_sim_time)}
    with_rviz = _boolean("rviz", rviz)
    nodes = []
    frame = CAMERA_FRAMES[camera]

    if camera in CAMERA_NODES:
        executable = CAMERA_NODES[camera]
        params_file = {"video": video_params, "zed": zed_params, "bag": bag_params}[camera]
        params = node_parameters(params_file, executable, namespace, argument=f"{camera}_params") \
            if params_file.strip() else {}
        frame = str(params.get("frame_id", frame) or frame)
        if camera == "bag":
            params, frame = _bag_source(params, bag, rviz_config if with_rviz else "")
            if params.get("publish_clock", BagReplaySettings.publish_clock):
                common["use_sim_time"] = True  # the other nodes follow the bag's /clock
            nodes.append(NodePlan(executable, executable, {**params, "use_sim_time": False}))
        if camera == "video":
            if video.strip():
                params["source"] = video.strip()
            if not str(params.get("source", "")).strip():
                raise LaunchPlanError(
                    "camera:=video needs a source: pass video:=<video file | image folder | recorded "
                    f"sequence | webcam:N | /dev/videoN> or set `source` in {params_file}; without a camera, "
                    "`spgrasp synth --out DIR --sequences 1` writes a sequence to replay")
        if camera == "zed":  # a lifecycle node; its relative topics moved under the wrapper's zed/zed_node
            nodes.append(NodePlan(executable, executable, {**params, **common}, zed_node_remappings(zed_topics),
                                  lifecycle=True))
        elif camera == "video":
            nodes.append(NodePlan(executable, executable, {**params, **common}))

    params = node_parameters(tracker_params, TRACKER, namespace, argument="tracker_params")
    overrides = {"checkpoint": checkpoint, "model_config": model_config, "device": device,
                 "image_transport": image_transport, "grasp_source": grasp_source}
    params.update({name: value.strip() for name, value in overrides.items() if value.strip()})
    transport = str(params.get("image_transport", "raw"))
    if transport not in IMAGE_TRANSPORTS:
        raise LaunchPlanError(f"image_transport:={transport!r} is not one of {', '.join(IMAGE_TRANSPORTS)}")
    if transport == "compressed" and camera in RAW_ONLY_CAMERAS:
        raise LaunchPlanError(f"camera:={camera} publishes raw images only; use image_transport:=raw, or "
                              "camera:=none with a driver or bag that publishes image/compressed")
    nodes.append(NodePlan(TRACKER, TRACKER, {**params, **common}, tracker_remappings(camera, zed_topics),
                          lifecycle=True))

    if arm != "none":
        params = {**node_parameters(bridge_params, BRIDGE, namespace, argument="bridge_params"), "arm": arm}
        nodes.append(NodePlan(BRIDGE, BRIDGE, {**params, **common}, lifecycle=True, activate=False))
    if _boolean("operator", operator):
        nodes.append(_operator(operator_params, namespace, operator_host, operator_port, transport,
                               tracker_remappings(camera, zed_topics), common))
    if with_rviz:
        if not rviz_config.strip():
            raise LaunchPlanError("rviz:=true needs rviz_config:=<file> (the installed config/spgrasp.rviz)")
        camera_image = [(name, topic) for name, topic in tracker_remappings(camera, zed_topics) if name == "image"]
        nodes.append(NodePlan(RVIZ, RVIZ, dict(common), camera_image, package=RVIZ,
                              arguments=["-d", rviz_config.strip(), "-f", frame]))
    return LaunchPlan(namespace, nodes)


def _operator(params_file: str, namespace: str, host: str, port: str, transport: str,
              tracker_inputs: list[tuple[str, str]], common: dict[str, object]) -> NodePlan:
    """The operator page's node: its file's parameters, host and port when given, the tracker's image input."""
    params = node_parameters(params_file, OPERATOR, namespace, argument="operator_params") \
        if params_file.strip() else {}
    if host.strip():
        params["host"] = host.strip()
    if port.strip():
        try:
            params["port"] = int(port)
        except ValueError:
            raise LaunchPlanError(f"operator_port:={port!r} is not a port number") from None
        if not 0 <= params["port"] <= 65535:
            raise LaunchPlanError(f"operator_port:={port} is not in 0..65535")
    params.update({"image_transport": transport, "tracker_node": TRACKER, "bridge_node": BRIDGE})
    remappings = [(name, topic) for name, topic in tracker_inputs if name.startswith("image")]
    return NodePlan(OPERATOR, OPERATOR, {**params, **common}, remappings, lifecycle=True)


def _bag_source(params: dict[str, object], bag: str, rviz_config: str) -> tuple[dict[str, object], str]:
    """bag_source_node's parameters with the ``bag`` argument, and the frame rviz fixes (frame_id, else the
    bag's recorded one when rviz starts, else the default); LaunchPlanError when there is no bag to replay."""
    if bag.strip():
        params["bag"] = str(Path(bag.strip()).expanduser())
    path = str(params.get("bag", "")).strip()
    if not path:
        raise LaunchPlanError("camera:=bag needs a bag: pass bag:=<rosbag2 folder> or set `bag` in bag_params "
                              "(`spgrasp record` and `spgrasp bag from-sequence` write one)")
    if not Path(path).expanduser().exists():
        raise LaunchPlanError(f"camera:=bag: no such bag: {path}")
    frame = str(params.get("frame_id", "") or "")
    if not frame and rviz_config:
        topic = str(params.get("image_topic", BagReplaySettings.image_topic))
        frame = recorded_frame_id(path, topic)
    return params, frame or CAMERA_FRAMES["bag"]


def recorded_frame_id(bag: str, topic: str) -> str:
    """The frame_id of the first message on ``topic`` in the bag ('' when it has none); LaunchPlanError when
    the bag cannot be read (rosbags, no ROS needed)."""
    from rosbags.rosbag2 import Reader, ReaderError
    from rosbags.typesys import Stores, get_typestore

    folder = Path(bag).expanduser()
    folder = folder.parent if folder.is_file() else folder
    try:
        with Reader(folder) as reader:
            connections = [c for c in reader.connections if c.topic == topic]
            for connection, _, raw in reader.messages(connections=connections):
                store = get_typestore(Stores.ROS2_JAZZY)
                return str(store.deserialize_cdr(raw, connection.msgtype).header.frame_id)
    except (ReaderError, OSError) as error:
        raise LaunchPlanError(f"camera:=bag: bag {folder} cannot be read ({error})") from None
    return ""


def tracker_remappings(camera: str, zed_topics: str = "legacy") -> list[tuple[str, str]]:
    """Remappings of the tracker's inputs onto the camera's topics (both relative to the same namespace)."""
    topics = camera_topics(camera, zed_topics)
    pairs = [(name, topic) for name, topic in topics.items() if name != topic]
    if topics["image"] != "image":  # a remapping matches one exact name: image/compressed needs its own
        pairs.append(("image/compressed", f"{topics['image']}/compressed"))
    return pairs


def node_parameters(path: str | os.PathLike, node_name: str, namespace: str = "",
                    argument: str = "params file") -> dict[str, object]:
    """The parameters a ROS parameter file gives this node, as flat ``name -> value``.

    Entries apply in file order (later wins) when their key is the bare node name (``spgrasp_tracker``: in any
    namespace), or a fully qualified name or rcl wildcard pattern (``/**``, ``/ns/*``, ``/**/name``) matching
    the node.
    """
    fqn = f"{namespace.rstrip('/')}/{node_name}"
    params: dict[str, object] = {}
    for key, values in read_parameter_file(path, argument).items():
        if key == node_name or _pattern(key).fullmatch(fqn):
            params.update(values)
    return params


def read_parameter_file(path: str | os.PathLike,
                        argument: str = "params file") -> dict[str, dict[str, object]]:
    """A ROS 2 parameter file as ``{node key: {flat parameter name: value}}``, checked like rcl reads it.

    Raises LaunchPlanError listing every problem: not a mapping of node keys to ``ros__parameters``
    mappings, or a value that is not a bool/int/float/string or a non-empty list of one of those types.
    """
    path = Path(path)
    if not path.is_file():
        raise LaunchPlanError(f"{argument}: no such parameter file: {path}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LaunchPlanError(f"{argument}: {path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not document:
        raise LaunchPlanError(f"{argument}: {path} must map node names to {{ros__parameters: ...}}")
    problems: list[str] = []
    entries = {}
    for key, entry in document.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("ros__parameters"), dict):
            problems.append(f"'{key}' has no ros__parameters mapping")
            continue
        entries[str(key)] = _flatten(entry["ros__parameters"], "", problems, f"{key}: ")
    if problems:
        raise LaunchPlanError(f"{argument}: {path} is not a ROS parameter file: " + "; ".join(problems))
    return entries


def _flatten(values: dict, prefix: str, problems: list[str], where: str) -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in values.items():
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{full}.", problems, where))
        elif isinstance(value, _SCALARS) or (
                isinstance(value, list) and value and len({type(item) for item in value}) == 1
                and type(value[0]) in _SCALARS):
            flat[full] = value
        else:
            problems.append(f"{where}{full} = {value!r} is not a scalar or a non-empty list of one type")
    return flat


def _pattern(key: str) -> re.Pattern:
    """rcl's node-key wildcards as a regex on fully qualified names: ``**`` any tokens, ``*`` one token."""
    parts = ("(/[^/]+)*" if token == "**" else "/" + re.escape(token).replace(r"\*", "[^/]*")
             for token in key.strip("/").split("/"))
    return re.compile("".join(parts))


def _namespace(namespace: str) -> str:
    tokens = [token for token in namespace.strip().strip("/").split("/") if token]
    if any(not _NAME_TOKEN.fullmatch(token) for token in tokens):
        raise LaunchPlanError(f"namespace:={namespace!r} is not a ROS namespace (letters, digits, _)")
    return "/" + "/".join(tokens) if tokens else ""


def _boolean(argument: str, value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise LaunchPlanError(f"{argument}:={value!r} must be true or false")
    return text == "true"
