"""``spgrasp record`` and ``spgrasp bag from-sequence | to-sequence``: the sub-parsers and what they run.

It imports nothing from ROS or rosbags at module level, so the ``spgrasp`` parser builds fast and without
them; each command imports its module when it runs (``bag_record``, ``bag_sequence``). Errors print one line
(exit code 1); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from spgrasp_ros.ros.bag_record import STORAGE_NAMES, RecordConfig

_RECORD = RecordConfig(out="")
_COLOURS = ("rgb8", "bgr8", "png", "jpeg")  # ros.bag_frames.COLOUR_FORMATS


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add ``record`` and ``bag`` to ``commands`` (the ``spgrasp`` sub-parsers)."""
    record = commands.add_parser("record", help="record a running session (image, depth, camera_info, grasp_poses, "
                                                 "the tracker's mask) to a rosbag2 bag, MCAP by default")
    record.add_argument("out", help="the bag folder to create (holds <name>.mcap and metadata.yaml)")
    record.add_argument("--namespace", default=_RECORD.namespace, help="the session's namespace (default: root)")
    record.add_argument("--duration", type=float, default=_RECORD.duration_s,
                        help="stop after this many seconds (default 0: at Ctrl-C / SIGTERM)")
    for flag, field in (("--image", "image"), ("--depth", "depth"), ("--camera-info", "camera_info"),
                        ("--grasps", "grasps"), ("--mask", "mask")):
        record.add_argument(flag, dest=field, default=getattr(_RECORD, field),
                            help=f"topic, relative to the namespace (default {getattr(_RECORD, field)}; '' = skip)")
    record.add_argument("--storage", choices=STORAGE_NAMES, default=_RECORD.storage)
    record.add_argument("--best-effort", action="store_true",
                        help="subscribe best effort (for best-effort publishers; may lose messages)")
    record.add_argument("--debug", action="store_true", help="on an error, the traceback instead of one line")
    record.set_defaults(run=_run_record)

    bag = commands.add_parser("bag", help="convert between rosbag2 bags and the recorded-sequence format")
    jobs = bag.add_subparsers(dest="bag_command", metavar="JOB", required=True)
    to_bag = jobs.add_parser("from-sequence", help="a recorded sequence folder (e.g. a zed_camera_node recording) "
                                                    "as a bag: colour, depth, camera_info with its stamps")
    to_bag.add_argument("sequence", help="recorded sequence folder (with sequence.json)")
    to_bag.add_argument("out", help="the bag folder to create")
    to_bag.add_argument("--storage", choices=STORAGE_NAMES, default="mcap")
    to_bag.add_argument("--colour", choices=_COLOURS, default="rgb8",
                        help="rgb8 / bgr8 Image, or png / jpeg CompressedImage (default rgb8)")
    to_bag.add_argument("--frame-id", default="camera_color_optical_frame",
                        help="frame_id when the sequence names none")
    to_bag.set_defaults(run=_run_from_sequence)
    to_seq = jobs.add_parser("to-sequence", help="a bag's camera as an unlabelled recorded sequence folder "
                                                  "(frames, depth, intrinsics, stamps) to label and train on")
    to_seq.add_argument("bag", help="rosbag2 folder (or a .mcap / .db3 file in it)")
    to_seq.add_argument("out", help="the sequence folder to create")
    to_seq.set_defaults(run=_run_to_sequence)
    for job in (to_bag, to_seq):
        job.add_argument("--image", default="/image", help="colour topic in the bag (default /image)")
        job.add_argument("--depth", default="/depth", help="depth topic in the bag (default /depth; '' = none)")
        job.add_argument("--camera-info", default="/camera_info", help="camera_info topic (default /camera_info; "
                                                                       "'' = none)")
        job.add_argument("--debug", action="store_true", help="on an error, the traceback instead of one line")


def _reported(command: str, args: argparse.Namespace, job) -> int:
    """Run ``job()``; an error prints one line naming what and where (exit 1), ``--debug`` re-raises."""
    try:
        return job()
    except ImportError as error:
        print(f"spgrasp {command} needs rclpy, rosbags and the built spgrasp_ros interfaces ({error}); run it "
              "through `tools/dev.sh run`, or source a ROS 2 workspace with this package built", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        if args.debug:
            raise
        print(f"spgrasp {command}: {' '.join(str(error).split())}", file=sys.stderr)
        return 1


def _run_record(args: argparse.Namespace) -> int:
    def job() -> int:
        from spgrasp_ros.ros.bag_record import bag_size, record

        fields = ("namespace", "image", "depth", "camera_info", "grasps", "mask", "storage", "best_effort")
        config = dataclasses.replace(_RECORD, out=args.out, duration_s=args.duration,
                                     **{name: getattr(args, name) for name in fields})
        counts = record(config)
        print(f"wrote {args.out} ({bag_size(args.out) / 2**20:.1f} MiB): "
              + ", ".join(f"{topic} {count}" for topic, count in counts.items()))
        silent = [topic for topic, count in counts.items() if not count]
        if silent:
            print(f"no messages on {', '.join(silent)}", file=sys.stderr)
        return 0

    return _reported("record", args, job)


def _topics(args: argparse.Namespace):
    from spgrasp_ros.ros.bag_frames import BagTopics

    return BagTopics(args.image, args.depth, args.camera_info)


def _run_from_sequence(args: argparse.Namespace) -> int:
    def job() -> int:
        from spgrasp_ros.ros.bag_record import bag_size
        from spgrasp_ros.ros.bag_sequence import sequence_to_bag

        path, count = sequence_to_bag(args.sequence, args.out, args.storage, _topics(args), args.colour,
                                      args.frame_id)
        print(f"wrote {path}: {count} frames ({args.storage}, {bag_size(path) / 2**20:.1f} MiB)")
        return 0

    return _reported("bag from-sequence", args, job)


def _run_to_sequence(args: argparse.Namespace) -> int:
    def job() -> int:
        from spgrasp_ros.ros.bag_sequence import bag_to_sequence, sequence_summary

        folder, _ = bag_to_sequence(args.bag, args.out, _topics(args))
        print(f"wrote {folder}: {sequence_summary(folder)}, unlabelled")
        return 0

    return _reported("bag to-sequence", args, job)
