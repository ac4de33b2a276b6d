"""``spgrasp eval``: the grasp metric of the paper over tracked sequences, per split and prompt interval.

For every sequence the tracker gets a box prompt (the ground-truth mask's box, or the grasp rectangles' box
without masks) for each object visible on the first frame, then streams the frames. With a prompt interval
k > 0, every k-th frame re-prompts the objects visible there (as the paper's "every 8 frames" protocol);
k = 0 prompts the first frame only. Prompt intervals apply to videos: a split whose sequences are all single
images (Cornell, Jacquard) is evaluated once, as the cell ``single_image``. A frame whose files cannot be
loaded during the run (changed or broken since the dataset was read) is skipped and listed in its cell's
``unreadable_frames``; the rest of the run goes on. Objects a sequence lists in ``meta["unprompted_ids"]`` (look-alike
distractors) are never prompted or scored; they count only as "another object" for identity switches. For each
frame and each object that is visible in the ground truth and has grasps, the top-1 predicted grasp counts as
correct when it matches a ground-truth rectangle (``metrics.RectangleMetric``: IoU > 0.25, angle difference
< 30 degrees); no prediction counts as wrong. The other figures (mask IoU, lost and false-presence rates,
accuracy by frames since reappearing, reacquisition delay, identity switches, best-grasp jitter and switches,
latency) are defined in ``tally``; ``plots`` draws them.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from spgrasp_ros.data.types import DatasetError, Frame, Sequence, object_box
from spgrasp_ros.evaluation.scoring import SequenceScorer
from spgrasp_ros.evaluation.tally import SINGLE_IMAGE, Tally
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.settings import parse_overrides, parse_size
from spgrasp_ros.tracker.streaming import GraspTracker

READER_OPTIONS = re.compile(r"^\w+=[^/]*$")  # the ``:key=value,...`` tail of a ``<kind>:<path>`` data spec


def load_frame(frame: Frame) -> tuple[np.ndarray, np.ndarray | None]:
    """A frame's image and ground-truth masks; DatasetError naming the frame when they cannot be used."""
    image, masks = frame.load_image(), frame.load_masks()
    if masks is not None and masks.shape != image.shape[:2]:
        raise DatasetError(f"{frame.name}: masks of {masks.shape[1]}x{masks.shape[0]} px for an image of "
                           f"{image.shape[1]}x{image.shape[0]} px")
    return image, masks


def evaluate_sequence(tracker: GraspTracker, sequence: Sequence, interval: int, tally: Tally) -> None:
    """Track one sequence with prompts every ``interval`` frames (0: first only) and add to ``tally``. A frame
    that cannot be loaded is skipped and listed in ``tally.unreadable``; the first readable one is prompted."""
    tracker.reset()
    scorer = SequenceScorer(tally)
    mapping = scorer.mapping  # ground-truth object id -> tracker object id
    unprompted = set(sequence.meta.get("unprompted_ids", ()))
    first: int | None = None  # the first readable frame: where the objects are prompted
    for t, frame in enumerate(sequence.frames):
        try:
            image, masks = load_frame(frame)
        except DatasetError as error:
            tally.unreadable.append((frame.name, str(error)))
            continue
        first = t if first is None else first
        prompt = None
        if t == first or (interval > 0 and t % interval == 0):
            targets = [o.object_id for o in frame.objects
                       if o.visible and o.object_id not in unprompted and (t == first or o.object_id in mapping)]
            size = (image.shape[1], image.shape[0])
            boxes = {i: object_box(frame, i, masks, size) for i in targets}
            boxes = {i: b.tolist() for i, b in boxes.items() if b is not None}
            if boxes:
                remove = [mapping[i] for i in boxes if i in mapping]
                prompt = Prompt.create(boxes=list(boxes.values()), append=t > first, remove_ids=remove)
        if prompt is None and not mapping:
            continue
        out = tracker.step(image, prompt)
        if prompt is not None:
            mapping.update(zip(boxes, out.created_ids))
        tally.latencies_ms.append(out.result.processing_ms)
        scorer.score(t, frame, masks, out.result, out.masks)
    scorer.finish()


def evaluate(tracker: GraspTracker, splits: dict[str, list[Sequence]], intervals: tuple[int, ...] = (0, 8, 1),
             progress: bool = True) -> dict:
    """{split: {"interval_<k>": figures}} for every split and prompt interval; a split of single images has
    the one cell ``single_image`` (every interval would give the same figures)."""
    results: dict = {}
    for split, sequences in splits.items():
        results[split] = {}
        videos = any(len(s.frames) > 1 for s in sequences)
        for interval in intervals if videos else (0,):
            tally = Tally()
            cell = f"interval_{interval}" if videos else SINGLE_IMAGE
            for sequence in tqdm(sequences, desc=f"{split} {cell}", disable=not progress):
                evaluate_sequence(tracker, sequence, interval, tally)
            results[split][cell] = tally.summary()
    return results


def parse_data_spec(spec: str) -> tuple[str, list[Sequence]]:
    """``synthetic[:seed=100000,sequences=20,frames=24,size=160x120]``, ``suite:<name>[:sequences=N,seed=S]``
    (a named synthetic suite, ``data.synth_suites``; its own held-out seeds by default) or
    ``<kind>:<path>[:key=value,...]`` (kind: recorded, cornell, jacquard, ocid, graspnet; ``~`` is the home
    folder; the options are the reader's keyword arguments, e.g. ``jacquard:~/jacquard:masks=false,depth=none``)
    or ``bag:<rosbag2 folder>:annotations=<recorded sequence>[,image=<topic>,depth=..,camera_info=..]`` (the
    bag's frames labelled by the sequence, frame k = line k; needs rosbags and the ROS message packages)
    -> (split name, sequences)."""
    import dataclasses

    from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
    from spgrasp_ros.training.sources import SourceConfig, read_source

    kind, _, rest = spec.partition(":")
    if kind == "bag":
        try:
            from spgrasp_ros.ros.bag_sequence import read_bag_sequence
        except ImportError as error:
            raise ValueError(f"data spec {spec!r}: reading bags needs rosbags and the ROS 2 message packages "
                             f"(requirements/ros.txt): {error}") from None
        return read_bag_sequence(rest, spec)
    if kind == "suite":
        from spgrasp_ros.data.synth_suites import load_suite, suite_sequences

        name, _, options_text = rest.partition(":")
        options = _spec_options(options_text.split(","), ("seed", "sequences"), "suite", spec)
        suite = load_suite(name)
        seed = int(options.get("seed", suite.seed))
        count = int(options.get("sequences", suite.sequences))
        return f"{suite.name}@{seed}", suite_sequences(suite.name, count, seed)
    if kind == "synthetic":
        known = ("seed", "sequences", "frames", "size", "max_objects")
        options = _spec_options(rest.split(","), known, "synthetic", spec)
        seed, count = int(options.get("seed", 100000)), int(options.get("sequences", 20))
        config = SynthConfig()
        if "size" in options:
            config = dataclasses.replace(config, size=parse_size(options["size"], f"size in {spec!r}"))
        if "frames" in options:
            config = dataclasses.replace(config, frames=int(options["frames"]))
        if "max_objects" in options:
            config = dataclasses.replace(config, max_objects=int(options["max_objects"]))
        return f"synthetic@{seed}", [generate_clip(config, seed + i).to_sequence() for i in range(count)]
    if not rest:
        raise ValueError(f"data spec {spec!r}: expected <kind>:<path> or synthetic[:options]")
    root, options = _reader_spec(kind, rest, spec)
    root = str(Path(root).expanduser())
    sequences, report = read_source(SourceConfig(kind=kind, root=root, options=options))
    print(f"{kind} {root}: {report.summary()}")
    return kind, sequences


def _reader_spec(kind: str, rest: str, spec: str) -> tuple[str, dict]:
    """The path and the reader options of ``<kind>:<path>[:key=value,...]``; ValueError naming unknown kinds
    and options ("none" stands for None)."""
    from spgrasp_ros.training.sources import READERS

    if kind not in READERS:
        raise ValueError(f"data spec {spec!r}: unknown kind {kind!r} (use synthetic, suite, bag or one of "
                         f"{', '.join(READERS)})")
    root, _, tail = rest.rpartition(":")
    if not root or not READER_OPTIONS.match(tail):
        return rest, {}
    module = "spgrasp_ros.data.recorded" if kind == "recorded" else f"spgrasp_ros.data.readers.{kind}"
    reader = getattr(importlib.import_module(module), f"read_{kind}")
    known = tuple(name for name in inspect.signature(reader).parameters if name != "root")
    items = re.split(r",(?![^\[]*\])", tail)  # commas inside [...] belong to a list value
    options = _spec_options(items, known, kind, spec)
    return root, {key: None if str(value).lower() == "none" else value for key, value in options.items()}


def _spec_options(items: list[str], known: tuple[str, ...], kind: str, spec: str) -> dict:
    """The ``key=value`` items of a data spec (values parsed as YAML); ValueError naming unknown keys."""
    options = dict(parse_overrides(item for item in items if item))
    unknown = set(options) - set(known)
    if unknown:
        raise ValueError(f"unknown {kind} options {sorted(unknown)} in {spec!r} (known: {', '.join(known)})")
    return options
