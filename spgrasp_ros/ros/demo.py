"""``spgrasp demo``: the whole pipeline on the embedded default, through the real ROS 2 nodes.

A held-out synthetic clip is written in the recorded-sequence format; ``video_source_node`` replays it and the
``spgrasp_tracker`` lifecycle node (bundled demo model) tracks it, each in its own process as ``ros2 launch``
would start them. This process plays the user: it configures and activates the tracker, waits for the first
image, prompts every object with a box through ``set_prompt``, prints grasps as they arrive, and ends with a
summary (frames, FPS, latency percentiles, grasp accuracy against the clip's ground truth), ``summary.json``
and an annotated video.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import rclpy
from lifecycle_msgs.msg import State
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import Image

from spgrasp_ros.data.recorded import read_sequence
from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic
from spgrasp_ros.data.types import Frame, Sequence, object_box
from spgrasp_ros.evaluation.scoring import SequenceScorer
from spgrasp_ros.evaluation.tally import Tally
from spgrasp_ros.msg import GraspArray, PromptBox
from spgrasp_ros.ros.conversions import frame_result_from_msg
from spgrasp_ros.ros.image_messages import image_to_rgb, mono16_to_labels
from spgrasp_ros.ros.lifecycle_client import LifecycleClient
from spgrasp_ros.ros.service_calls import ServiceCaller, ServiceCallError
from spgrasp_ros.srv import SetPrompt
from spgrasp_ros.timing import summarise
from spgrasp_ros.tracker.readout import masks_from_label_image
from spgrasp_ros.visualize import draw_result


@dataclass(frozen=True)
class DemoConfig:
    """What the demo replays and how."""

    seed: int = 100_777  # scene seed (training scenes use seeds below 5000)
    frames: int = 60
    size: tuple[int, int] = (160, 120)  # the demo model's training resolution
    rate_hz: float = 10.0
    checkpoint: str = "demo"
    device: str = "auto"
    namespace: str = "/spgrasp_demo"
    out: str = "outputs/demo"
    video_scale: int = 4  # the annotated video is upscaled this much
    timeout_s: float = 180.0


@dataclass
class _Received:
    """What the demo node collected, keyed by image stamp (ns)."""

    images: dict
    arrays: dict
    masks: dict
    arrival: dict  # of the GraspArrays [ns, this node's clock]
    image_arrival: dict = field(default_factory=dict)  # of the images [ns, this node's clock]


def _stamp_ns(header) -> int:
    return Time.from_msg(header.stamp).nanoseconds


def start_node_process(module: str, namespace: str, params: dict, log: Path) -> subprocess.Popen:
    """``python -m <module>`` as a node in ``namespace`` with ``params``, in its own session, output to ``log``."""
    args = [sys.executable, "-m", module, "--ros-args", "-r", f"__ns:={namespace}"]
    for key, value in params.items():
        args += ["-p", f"{key}:={value}"]
    return subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(process: subprocess.Popen, grace_s: float = 0.0) -> None:
    """Let the process end by itself for ``grace_s``, then SIGINT it (then SIGKILL)."""
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    if process.poll() is None:
        process.send_signal(2)  # SIGINT: rclpy's clean shutdown
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _print_grasps(index: int, array) -> None:
    parts = []
    for state in array.objects:
        best = next((g for g in array.grasps if g.object_id == state.id), None)
        if best is None or not state.visible:
            parts.append(f"obj {state.id}: {'lost' if not state.visible else 'no grasp'}")
        else:
            parts.append(f"obj {state.id}: ({best.center_x:5.1f}, {best.center_y:5.1f}) "
                         f"{np.rad2deg(best.angle):+5.0f} deg  w {best.width:4.1f} px  score {best.score:.2f}")
    print(f"frame {index:3d}  {array.processing_ms:5.1f} ms  " + " | ".join(parts), flush=True)


@dataclass(frozen=True)
class SourcePlan:
    """The camera node a demo session replays through: ``python -m <module>`` with ``params``, output to ``log``."""

    module: str
    params: dict
    log: str


def ground_truth_boxes(frame: Frame, size: tuple[int, int]) -> dict[int, list[float]]:
    """{object id: box xyxy} of every visible object of a labelled frame (its mask's box, else its grasps')."""
    masks = frame.load_masks()
    boxes = {o.object_id: object_box(frame, o.object_id, masks, size) for o in frame.objects if o.visible}
    return {i: [float(v) for v in b] for i, b in boxes.items() if b is not None}


def run_demo(config: DemoConfig = DemoConfig()) -> dict:
    """Run the demo; returns the summary (also written to ``<out>/summary.json``)."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spgrasp-demo-") as scratch:
        clip_dir = write_synthetic(scratch, 1, SynthConfig(size=config.size, frames=config.frames), config.seed,
                                   progress=False)[0]
        sequence = read_sequence(clip_dir)
        print(f"clip: {len(sequence.frames)} frames of {config.size[0]}x{config.size[1]} (seed {config.seed}), "
              f"{len(sequence.object_ids())} objects; logs in {out}", flush=True)
        source = SourcePlan("spgrasp_ros.nodes.video_source_node",
                            {"source": str(clip_dir), "rate_hz": config.rate_hz, "loop": "false",
                             "reliability": "reliable", "wait_for_subscribers": 2},  # the tracker and this node
                            "video_source.log")
        got, mapping, prompt_stamp = run_session(
            config, {"use_depth": "false"}, source,
            lambda: ground_truth_boxes(sequence.frames[0], config.size))  # a box around every object at the start
        summary = summarise_session(got, mapping, prompt_stamp, out, {**asdict(config), "size": list(config.size)},
                                    sequence, config.rate_hz, config.video_scale)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def run_session(config, tracker_params: dict, source: SourcePlan,
                prompt_boxes: Callable[[], dict[int, list[float]]]) -> tuple[_Received, dict[int, int], int]:
    """The tracker and ``source`` in their own processes, driven by this one: configure and activate the tracker,
    start the source, prompt ``prompt_boxes()`` ({user's id: box}) once the first image is there, print grasps
    until the source ends. ``config`` gives checkpoint, device, namespace, out, timeout_s. Returns what arrived,
    {user's id: tracker id} and the stamp of the prompt's frame; RuntimeError naming the log when a part fails."""
    out = Path(config.out)
    rclpy.init()
    node = rclpy.create_node("spgrasp_demo", namespace=config.namespace)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    got = _Received({}, {}, {}, {})
    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)

    def on_image(msg) -> None:
        got.images[_stamp_ns(msg.header)] = msg
        got.image_arrival[_stamp_ns(msg.header)] = node.get_clock().now().nanoseconds

    def on_array(msg) -> None:
        got.arrays[_stamp_ns(msg.header)] = msg
        got.arrival[_stamp_ns(msg.header)] = node.get_clock().now().nanoseconds

    node.create_subscription(Image, "image", on_image, reliable)
    node.create_subscription(GraspArray, "grasp_poses", on_array, reliable)
    node.create_subscription(Image, "spgrasp_tracker/mask", lambda m: got.masks.__setitem__(_stamp_ns(m.header), m),
                             reliable)
    tracker = start_node_process("spgrasp_ros.nodes.tracker_node", config.namespace,
                                 {"checkpoint": config.checkpoint, "device": config.device,
                                  "image_reliability": "reliable", **tracker_params}, out / "tracker.log")
    process = None
    try:
        client = LifecycleClient(node, executor, f"{config.namespace}/spgrasp_tracker", timeout_s=config.timeout_s)
        if client.configure().id != State.PRIMARY_STATE_INACTIVE:
            raise RuntimeError(f"the tracker did not configure; see {out / 'tracker.log'}")
        client.activate()
        # the prompt service is made ready (and settled) before any frame flows, so the prompt meets frame 0
        prompt_client = node.create_client(SetPrompt, "set_prompt")
        caller = ServiceCaller(executor)
        try:
            caller.wait_ready(prompt_client, timeout_s=30)
        except ServiceCallError as error:
            raise RuntimeError(f"{error}; see {out / 'tracker.log'}") from error
        process = start_node_process(source.module, config.namespace, source.params, out / source.log)
        deadline = time.monotonic() + config.timeout_s
        while not got.images and time.monotonic() < deadline and process.poll() is None:
            executor.spin_once(timeout_sec=0.05)
        if not got.images:
            raise RuntimeError(f"no image from the {source.log.removesuffix('.log').replace('_', ' ')}; see "
                               f"{out / source.log}")

        boxes = prompt_boxes()
        request = SetPrompt.Request(boxes=[PromptBox(x_min=float(b[0]), y_min=float(b[1]), x_max=float(b[2]),
                                                     y_max=float(b[3])) for b in boxes.values()])
        response = None
        for _ in range(50):  # the tracker may get the first image a moment after this node did
            try:
                response = caller.call(prompt_client, request, timeout_s=60)
            except ServiceCallError as error:
                raise RuntimeError(f"{error}; see {out / 'tracker.log'}") from error
            if response.success or "no image" not in response.message:
                break
            executor.spin_once(timeout_sec=0.05)
        if response is None or not response.success:
            raise RuntimeError(f"the prompt was refused: {getattr(response, 'message', 'no answer')}")
        mapping = dict(zip(boxes, response.object_ids))
        prompt_stamp = _stamp_ns(response.header)
        print(f"prompted objects {list(mapping)} -> tracker ids {list(response.object_ids)}", flush=True)

        printed = set()
        order = []
        while process.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
            order = sorted(got.images)
            for stamp in sorted(set(got.arrays) - printed):
                printed.add(stamp)
                if stamp > prompt_stamp or got.arrays[stamp].objects:  # not the empty ones before the prompt
                    _print_grasps(order.index(stamp) if stamp in order else -1, got.arrays[stamp])
        settle = time.monotonic() + 3.0
        while time.monotonic() < settle:
            executor.spin_once(timeout_sec=0.05)
        client.deactivate()
        client.cleanup()
        client.shutdown()
    finally:
        if process is not None:
            stop_process(process)
        stop_process(tracker, grace_s=10.0)  # a finalized tracker exits by itself
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return got, mapping, prompt_stamp


def summarise_session(got: _Received, mapping: dict[int, int], prompt_stamp: int, out: Path, config: dict,
                      sequence: Sequence | None, fps: float, video_scale: int,
                      frame_index: dict[int, int] | None = None, latency_from_arrival: bool = False) -> dict:
    """Score the received grasps against ``sequence``'s ground truth (None: no scoring), write the video, print
    the summary. ``frame_index``: image stamp -> frame of ``sequence`` (default: the order of the received
    images). Latency: from the image stamp to the grasps' arrival, or (``latency_from_arrival``, for recorded
    stamps) from the image's arrival at this node."""
    stamps = sorted(got.images)
    if sequence is not None and len(stamps) > len(sequence.frames):
        raise RuntimeError(f"received {len(stamps)} images for a {len(sequence.frames)}-frame clip")
    frame_index = frame_index or {stamp: index for index, stamp in enumerate(stamps)}
    tally = Tally()
    scorer = SequenceScorer(tally, mapping)
    video_path = out / "spgrasp_demo.mp4"
    first = got.images[stamps[0]]
    width, height = first.width * video_scale, first.height * video_scale
    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    start = stamps.index(prompt_stamp) if prompt_stamp in stamps else 0
    if prompt_stamp in got.arrays and not got.arrays[prompt_stamp].objects:
        start += 1  # the prompt frame was published (empty) before the prompt came: tracking starts after it
    latencies, processing, tracked = [], [], 0
    for position, stamp in enumerate(stamps):
        rgb = image_to_rgb(got.images[stamp])
        index = frame_index[stamp]
        array = got.arrays.get(stamp)
        if array is not None and position >= start:
            result = frame_result_from_msg(array)
            mask_msg = got.masks.get(stamp)  # the tracker's ~/mask label image of this frame, if it came
            predicted = masks_from_label_image(mono16_to_labels(mask_msg), result) if mask_msg else None
            if sequence is not None:
                frame = sequence.frames[index]
                scorer.score(index, frame, frame.load_masks(), result, predicted)
            since = got.image_arrival[stamp] if latency_from_arrival else stamp
            latencies.append((got.arrival[stamp] - since) / 1e6)
            processing.append(array.processing_ms)
            tracked += 1
            picture = draw_result(rgb, result, predicted, label=f"frame {index}", upscale=video_scale)
        else:
            picture = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_NEAREST)
        writer.write(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    writer.release()
    scorer.finish()
    span = (max(got.arrival.values()) - min(got.arrival.values())) / 1e9 if len(got.arrival) > 1 else 0.0
    figures = tally.summary()
    summary = {
        "config": config,
        "frames_published": len(stamps),
        "frames_with_grasps": tracked,
        "frames_dropped_or_unanswered": len(stamps) - start - tracked,
        "fps": (len(got.arrival) - 1) / span if span > 0 else None,
        "latency_ms": _percentiles(latencies),
        "processing_ms": _percentiles(processing),
        "grasp_accuracy": figures["grasp_accuracy"],
        "scored": figures["scored"],
        "mask_iou": figures["mask_iou"],
        "lost_rate": figures["lost_rate"],
        "video": str(video_path),
    }
    if latency_from_arrival:
        summary["latency_from"] = "the image's arrival at the demo node (the bag's stamps are recorded ones)"
    accuracy = summary["grasp_accuracy"]
    latency = "image->grasps" if latency_from_arrival else "stamp->grasps"
    print(f"\n{len(stamps)} frames published, {tracked} answered at {summary['fps'] or 0:.1f} FPS; "
          f"latency {latency} p50 {summary['latency_ms']['p50']:.1f} ms, p90 {summary['latency_ms']['p90']:.1f} ms "
          f"(model {summary['processing_ms']['p50']:.1f} ms); grasp accuracy "
          f"{'n/a' if accuracy is None else f'{100 * accuracy:.1f} %'} over {summary['scored']} object-frames; "
          f"annotated video {video_path}", flush=True)
    return summary


def _percentiles(values: list[float]) -> dict:
    summary = summarise(values)  # NaN for an empty series
    return {"p50": summary["median"], "p90": summary["p90"], "max": summary["max"]}
