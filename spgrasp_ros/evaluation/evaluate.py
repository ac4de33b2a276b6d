"""``spgrasp eval``: the grasp metric of the paper over tracked sequences, per split and prompt interval.

For every sequence the tracker gets a box prompt (the ground-truth mask's box, or the grasp rectangles' box
without masks) for each object visible on the first frame, then streams the frames. With a prompt interval
k > 0, every k-th frame re-prompts the objects visible there (as the paper's "every 8 frames" protocol);
k = 0 prompts the first frame only. Objects a sequence lists in ``meta["unprompted_ids"]`` (look-alike
distractors) are never prompted or scored; they count only as "another object" for identity switches. For each
frame and each object that is visible in the ground truth and has grasps, the top-1 predicted grasp counts as
correct when it matches a ground-truth rectangle (``metrics.RectangleMetric``: IoU > 0.25, angle difference
< 30 degrees); no prediction counts as wrong. The other figures (mask IoU, lost and false-presence rates,
accuracy by frames since reappearing, reacquisition delay, identity switches, best-grasp jitter and switches,
latency) are defined in ``tally``; ``plots`` draws them.
"""

from __future__ import annotations

from tqdm import tqdm

from spgrasp_ros.data.types import Sequence, object_box
from spgrasp_ros.evaluation.scoring import SequenceScorer
from spgrasp_ros.evaluation.tally import Tally
from spgrasp_ros.prompts import Prompt
from spgrasp_ros.settings import parse_overrides, parse_size
from spgrasp_ros.tracker.streaming import GraspTracker


def evaluate_sequence(tracker: GraspTracker, sequence: Sequence, interval: int, tally: Tally) -> None:
    """Track one sequence with prompts every ``interval`` frames (0: first only) and add to ``tally``."""
    tracker.reset()
    scorer = SequenceScorer(tally)
    mapping = scorer.mapping  # ground-truth object id -> tracker object id
    unprompted = set(sequence.meta.get("unprompted_ids", ()))
    for t, frame in enumerate(sequence.frames):
        image, masks = frame.load_image(), frame.load_masks()
        prompt = None
        if t == 0 or (interval > 0 and t % interval == 0):
            targets = [o.object_id for o in frame.objects
                       if o.visible and o.object_id not in unprompted and (t == 0 or o.object_id in mapping)]
            size = (image.shape[1], image.shape[0])
            boxes = {i: object_box(frame, i, masks, size) for i in targets}
            boxes = {i: b.tolist() for i, b in boxes.items() if b is not None}
            if boxes:
                remove = [mapping[i] for i in boxes if i in mapping]
                prompt = Prompt.create(boxes=list(boxes.values()), append=t > 0, remove_ids=remove)
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
    """{split: {"interval_<k>": figures}} for every split and prompt interval."""
    results: dict = {}
    for split, sequences in splits.items():
        results[split] = {}
        for interval in intervals:
            tally = Tally()
            for sequence in tqdm(sequences, desc=f"{split} k={interval}", disable=not progress):
                evaluate_sequence(tracker, sequence, interval, tally)
            results[split][f"interval_{interval}"] = tally.summary()
    return results


def parse_data_spec(spec: str) -> tuple[str, list[Sequence]]:
    """``synthetic[:seed=100000,sequences=20,frames=24,size=160x120]``, ``suite:<name>[:sequences=N,seed=S]``
    (a named synthetic suite, ``data.synth_suites``; its own held-out seeds by default) or ``<kind>:<path>``
    (kind: recorded, cornell, jacquard, ocid, graspnet) -> (split name, sequences)."""
    import dataclasses

    from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
    from spgrasp_ros.training.sources import SourceConfig, read_source

    kind, _, rest = spec.partition(":")
    if kind == "suite":
        from spgrasp_ros.data.synth_suites import load_suite, suite_sequences

        name, _, options_text = rest.partition(":")
        options = _spec_options(options_text, ("seed", "sequences"), "suite", spec)
        suite = load_suite(name)
        seed = int(options.get("seed", suite.seed))
        count = int(options.get("sequences", suite.sequences))
        return f"{suite.name}@{seed}", suite_sequences(suite.name, count, seed)
    if kind == "synthetic":
        options = _spec_options(rest, ("seed", "sequences", "frames", "size", "max_objects"), "synthetic", spec)
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
    sequences, report = read_source(SourceConfig(kind=kind, root=rest))
    print(f"{kind} {rest}: {report.summary()}")
    return kind, sequences


def _spec_options(text: str, known: tuple[str, ...], kind: str, spec: str) -> dict[str, str]:
    """``key=value,...`` of a data spec as strings; ValueError naming unknown keys."""
    options = {key: str(value) for key, value in parse_overrides(item for item in text.split(",") if item)}
    unknown = set(options) - set(known)
    if unknown:
        raise ValueError(f"unknown {kind} options {sorted(unknown)} in {spec!r} (known: {', '.join(known)})")
    return options
