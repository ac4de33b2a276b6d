"""``spgrasp demo --bag BAG``: the demo's pipeline on a recorded rosbag2 bag instead of a generated clip.

``bag_source_node`` replays the bag (its recorded stamps and frame ids, at ``speed`` x the recorded speed, once)
into the ``spgrasp_tracker`` node, each in its own process, as ``spgrasp demo`` runs them. The prompt is given
on the first frame the tracker has, either

- from ground truth: ``annotations``, a recorded sequence labelling the bag's frames in order (``spgrasp bag
  to-sequence`` writes one to label; a bag made with ``spgrasp bag from-sequence`` of a labelled sequence has
  it): a box around every object visible on its first frame, and the summary scores the grasps against it
  (grasp accuracy, mask IoU), or
- from ``boxes`` (``--box x0,y0,x1,y1``, pixels, one per object): no ground truth, no accuracy.

Grasps print as they arrive; the summary (frames, FPS, latency from each image's arrival at the demo node to
its grasps' arrival, since the stamps are recorded ones), ``summary.json`` and an annotated video go to ``out``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from spgrasp_ros.data.recorded import read_sequence
from spgrasp_ros.ros.bag_frames import BagTopics, CameraBag, decode_record
from spgrasp_ros.ros.demo import DemoConfig, SourcePlan, ground_truth_boxes, run_session, summarise_session

_TOPICS = BagTopics()


@dataclass(frozen=True)
class BagDemoConfig:
    """What the bag demo replays, how it prompts, and where it writes."""

    bag: str  # rosbag2 folder (or a storage file in it)
    annotations: str = ""  # recorded sequence labelling the bag's frames: prompts and scoring
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # prompt boxes xyxy [px] without annotations
    speed: float = 1.0  # x the recorded speed
    image_topic: str = _TOPICS.image
    depth_topic: str = _TOPICS.depth  # '' = none
    camera_info_topic: str = _TOPICS.camera_info  # '' = none
    checkpoint: str = DemoConfig.checkpoint  # the plain demo's, one source
    device: str = DemoConfig.device
    namespace: str = DemoConfig.namespace
    out: str = "outputs/demo_bag"
    video_scale: int = DemoConfig.video_scale  # the annotated video is upscaled this much
    timeout_s: float = DemoConfig.timeout_s


def run_bag_demo(config: BagDemoConfig) -> dict:
    """Run the demo on the bag; returns the summary (also ``<out>/summary.json``). ValueError naming the bag,
    topic or annotations when they cannot be used; RuntimeError when a node fails."""
    if not config.annotations and not config.boxes:
        raise ValueError("spgrasp demo --bag needs a prompt: --annotations <recorded sequence> (ground truth) or "
                         "--box x0,y0,x1,y1 (repeatable)")
    topics = BagTopics(config.image_topic, config.depth_topic, config.camera_info_topic)
    with CameraBag(config.bag, topics) as bag:
        folder = bag.path
        records = iter(bag.records())
        first = next(records, None)
        if first is None:
            raise ValueError(f"bag {folder}: no messages on {topics.image}")
        height, width = decode_record(first, folder).rgb.shape[:2]
        stamps = [first.stamp_ns] + [record.stamp_ns for record in records]  # frame k of the bag -> its stamp
    sequence = None
    if config.annotations:
        sequence = read_sequence(Path(config.annotations).expanduser())
        if len(sequence.frames) != len(stamps):
            raise ValueError(f"bag {folder} has {len(stamps)} frames on {topics.image}, {sequence.name} annotates "
                             f"{len(sequence.frames)}")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    span_s = (stamps[-1] - stamps[0]) / 1e9
    recorded_fps = (len(stamps) - 1) / span_s if span_s > 0 else 10.0
    print(f"bag: {len(stamps)} frames of {width}x{height} over {span_s:.1f} s on {topics.image} ({folder}); "
          f"prompt: {'ground truth of ' + sequence.name if sequence else f'{len(config.boxes)} boxes'}; logs in "
          f"{out}", flush=True)
    source = SourcePlan("spgrasp_ros.nodes.bag_source_node",
                        {"bag": str(folder), "image_topic": topics.image, "depth_topic": topics.depth or "''",
                         "camera_info_topic": topics.camera_info or "''", "rate": float(config.speed),
                         "publish_clock": "false", "reliability": "reliable",
                         "wait_for_subscribers": 2},  # the tracker and this node
                        "bag_source.log")

    def boxes() -> dict[int, list[float]]:
        if sequence is not None:
            return ground_truth_boxes(sequence.frames[0], (width, height))
        return {k + 1: list(box) for k, box in enumerate(config.boxes)}

    tracker_params = {"use_depth": "true" if topics.depth and topics.camera_info else "false"}
    got, mapping, prompt_stamp = run_session(config, tracker_params, source, boxes)
    index = {stamp: k for k, stamp in enumerate(stamps)}
    unknown = set(got.images) - set(index)
    if unknown:
        raise RuntimeError(f"received {len(unknown)} images whose stamps are not in the bag (another publisher on "
                           f"{config.namespace}/image?)")
    settings = {**asdict(config), "boxes": [list(b) for b in config.boxes]}
    summary = summarise_session(got, mapping, prompt_stamp, out, settings, sequence, recorded_fps * config.speed,
                                config.video_scale, index, latency_from_arrival=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
