"""``spgrasp label``: the command line of ``training.auto_labels`` (imports nothing heavy until it runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    """``spgrasp label RECORDING OUT --box ...``."""
    label = commands.add_parser("label", help="label a recording (masks, visibility and mask-geometry grasps per "
                                              "frame) from one box per object on its first frame")
    label.add_argument("recording", help="a recorded sequence (the ZED node's record_path, spgrasp bag to-sequence)")
    label.add_argument("out", help="the labelled sequence to write (a new folder); <out>_labels.mp4 shows them")
    label.add_argument("--box", action="append", required=True, metavar="X0,Y0,X1,Y1",
                       help="an object on the first frame, in pixels (repeatable, one per object)")
    label.add_argument("--checkpoint", default="demo", help="SPGrasp checkpoint, bundled name, or official SAM 2.1 "
                                                            ".pt (with --model-config)")
    label.add_argument("--model-config", default="", help="the model preset of an official SAM 2.1 .pt (e.g. tiny)")
    label.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    label.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from spgrasp_ros.settings import parse_box
    from spgrasp_ros.tracker.build import load_tracker
    from spgrasp_ros.tracker.config import TrackerConfig
    from spgrasp_ros.training.auto_labels import label_recording

    try:
        boxes = [list(parse_box(text)) for text in args.box]
        if Path(args.out).exists():
            raise ValueError(f"{args.out} exists: give a new folder for the labelled sequence")
        tracker = load_tracker(args.checkpoint, args.device, TrackerConfig(grasp_source="geometry"),
                               model_config=args.model_config)
        summary = label_recording(tracker, args.recording, args.out, boxes)
    except (ValueError, OSError) as error:  # DatasetError, CheckpointError, a bad box: one line
        print(f"spgrasp label: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    print(f"labelled {summary['frames']} frames of {args.recording}: {summary['objects']} objects, "
          f"{summary['visible_object_frames']} visible object-frames, {summary['grasps']} grasps -> {summary['out']} "
          f"(look at {summary['video']} first)")
    return 0
