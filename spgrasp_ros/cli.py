"""The ``spgrasp`` command line: one parser, one sub-command per job.

Sub-commands arrive with the features they run (demo, train, eval, bench, synth); ``spgrasp info`` reports
the environment, which is what a bug report needs first.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import sys
from typing import Callable, Sequence

from spgrasp_ros import __version__
from spgrasp_ros.bench import command as bench_command
from spgrasp_ros.tracker.config import TrackerConfig


def _module_version(name: str) -> str | None:
    try:
        module = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - absent or broken: both mean "not usable"
        return None
    return str(getattr(module, "__version__", "installed"))


def environment_report() -> dict:
    """Versions and capabilities of everything the package can use, without importing ROS unless present."""
    report: dict = {
        "spgrasp_ros": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _module_version(name) for name in
                     ("torch", "sam2", "numpy", "cv2", "scipy", "skimage", "shapely", "transformers")},
    }
    torch_info: dict = {"cuda": False, "devices": []}
    try:
        import torch

        torch_info["cuda"] = bool(torch.cuda.is_available())
        if torch_info["cuda"]:
            torch_info["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    report["torch"] = torch_info
    ros: dict = {"distro": os.environ.get("ROS_DISTRO"), "rclpy": _module_version("rclpy") is not None}
    try:
        importlib.import_module("spgrasp_ros.msg")
        importlib.import_module("spgrasp_ros.srv")
        ros["interfaces"] = True
    except ImportError:
        ros["interfaces"] = False
    ros["optional"] = {name: importlib.util.find_spec(name) is not None
                       for name in ("launch_ros", "vision_msgs", "cv_bridge", "tf2_ros")}
    report["ros"] = ros
    return report


def _cmd_info(args: argparse.Namespace) -> int:
    report = environment_report()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"spgrasp_ros {report['spgrasp_ros']} on Python {report['python']} ({report['platform']})")
    for name, version in report["packages"].items():
        print(f"  {name:13s} {version or 'missing'}")
    devices = ", ".join(report["torch"]["devices"]) or "none (CPU only)"
    print(f"  CUDA devices  {devices}")
    ros = report["ros"]
    print(f"  ROS           rclpy {'yes' if ros['rclpy'] else 'no'}, interfaces {'yes' if ros['interfaces'] else 'no'}"
          f", distro {ros['distro'] or 'unset'}")
    print("  optional      " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in ros["optional"].items()))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from spgrasp_ros.training.trainer import load_train_config, train

    config = load_train_config(args.config, args.overrides)
    outcome = train(config, args.out, resume=args.resume)
    print(f"wrote {outcome.model_path}")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    import dataclasses

    from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic
    from spgrasp_ros.settings import parse_size

    config = dataclasses.replace(SynthConfig(), size=parse_size(args.size, "--size"), frames=args.frames,
                                 max_objects=args.max_objects, occlusion_probability=args.occlusion_probability)
    folders = write_synthetic(args.out, args.sequences, config, seed=args.seed)
    print(f"wrote {len(folders)} sequences to {args.out}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    """``spgrasp eval``; an error prints one line naming what and where (``--debug``: the traceback)."""
    try:
        return _run_eval(args)
    except Exception as error:  # noqa: BLE001 - every failure is reported in one line; --debug re-raises
        if args.debug:
            raise
        print(f"spgrasp eval: {_one_line(error)}", file=sys.stderr)
        return 1


def _one_line(error: Exception) -> str:
    """An exception as one line: its message (dataset, value and file errors name what and where), with the
    type and a pointer to ``--debug`` for anything else."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, (ValueError, OSError)):  # DatasetError, CheckpointError, FileNotFoundError ...
        return text
    return f"{type(error).__name__}: {text} (--debug shows the traceback)"


def _run_eval(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    import torch

    from spgrasp_ros.evaluation.evaluate import evaluate, parse_data_spec
    from spgrasp_ros.evaluation.plots import write_results
    from spgrasp_ros.evaluation.tally import SINGLE_IMAGE
    from spgrasp_ros.tracker.build import load_tracker

    try:
        intervals = tuple(int(v) for v in args.intervals.split(","))
    except ValueError:
        raise ValueError(f"--intervals {args.intervals!r}: expected integers such as 0,8,1") from None
    splits = dict(parse_data_spec(spec) for spec in args.data)  # before the model: bad data fails fast
    if args.masks == "ground-truth":
        return _mask_rule_eval(args, splits)
    if args.threads:  # beside a training, torch's default (all cores) oversubscribes them and crawls
        torch.set_num_threads(args.threads)
    base = TrackerConfig.paper() if args.paper else TrackerConfig()
    flags = {"search_window": args.search_window, "exclusive_masks": args.exclusive_masks,
             "readout_window": args.readout_window, "grasp_source": args.grasp_source}
    settings = base.with_settings({k: v for k, v in flags.items() if v is not None})
    # --n-hist: the same weights with another memory length; 0: the no-memory ablation
    checkpoint = os.path.expanduser(args.checkpoint)
    tracker = load_tracker(checkpoint, args.device, settings, n_hist=args.n_hist, model_config=args.model_config)
    config = tracker.model_config
    results = evaluate(tracker, splits, intervals)
    meta = {"checkpoint": checkpoint, "model_config": config.to_dict(), "data": args.data,
            "device": str(tracker.device), "threads": torch.get_num_threads(), "grasp_source": tracker.grasp_source,
            "tracker": dataclasses.asdict(settings), "precision": tracker.precision}
    paths = write_results(results, Path(args.out).expanduser(), meta)
    for split, cells in results.items():
        for cell, figures in cells.items():
            accuracy, unreadable = figures["grasp_accuracy"], figures["unreadable_frames"]
            if unreadable:
                first = unreadable[0]
                print(f"{split:24s} {cell:12s} {len(unreadable)} unreadable frames skipped; first: "
                      f"{first['frame']}: {first['reason']}")
            if accuracy is None:
                print(f"{split:24s} {cell:12s} nothing scored")
                continue
            mask_iou = "-" if figures["mask_iou"] is None else f"{figures['mask_iou']:.3f}"
            print(f"{split:24s} {cell:12s} grasp accuracy {100 * accuracy:5.1f} % over {figures['scored']} "
                  f"object-frames, mask IoU {mask_iou}, lost {100 * (figures['lost_rate'] or 0):.1f} %")
            if cell != SINGLE_IMAGE:  # the tracking figures describe videos
                print(f"{'':37s}{_tracking_line(figures)}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _mask_rule_eval(args: argparse.Namespace, splits: dict) -> int:
    """``spgrasp eval --masks ground-truth``: the geometry grasp rule on the datasets' own masks, no tracker."""
    import dataclasses
    from pathlib import Path

    from spgrasp_ros.evaluation.mask_rule import CELL, evaluate_mask_rule
    from spgrasp_ros.evaluation.plots import write_results

    geometry = _TRACKER.geometry
    results = evaluate_mask_rule(splits, geometry)
    meta = {"masks": "ground-truth", "grasp_source": "geometry", "data": args.data,
            "geometry": dataclasses.asdict(geometry)}
    paths = write_results(results, Path(args.out).expanduser(), meta)
    for split, cells in results.items():
        figures = cells[CELL]
        if figures["grasp_accuracy"] is None:
            print(f"{split:24s} {CELL} nothing scored ({figures['frames_with_masks']} frames with masks)")
            continue
        print(f"{split:24s} {CELL} grasp accuracy {100 * figures['grasp_accuracy']:5.1f} % over "
              f"{figures['scored']} object-frames (geometry rule on ground-truth masks)")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _tracking_line(figures: dict) -> str:
    """The tracking figures of one eval cell in one line (``evaluation.tally``)."""
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f} %"

    def num(value: float | None, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    from spgrasp_ros.evaluation.tally import REACQUIRE_WITHIN

    reacquired, identity, best = figures["reacquisition"], figures["identity"], figures["best_grasp"]
    within = reacquired[f"within_{REACQUIRE_WITHIN}"]
    return (f"false presence {pct(figures['false_presence_rate'])}, reacquired <= {REACQUIRE_WITHIN} frames "
            f"{pct(within)} of "
            f"{reacquired['events']}, identity switches/1000 {num(identity['switches_per_1000'])}, best-grasp "
            f"jitter {num(best['jitter_px']['mean'], 2)} px {num(best['jitter_deg']['mean'], 2)} deg, "
            f"switches/100 {num(best['switches_per_100'])}")


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        from spgrasp_ros.ros.demo import DemoConfig, run_demo
        if args.bag:
            return _bag_demo(args)
        if args.operator:
            return _operator_demo(args, DemoConfig)
    except ImportError as error:
        print(f"spgrasp demo runs the ROS 2 nodes and needs rclpy and the built spgrasp_ros interfaces ({error}); "
              "run it as `tools/dev.sh demo`, or source a ROS 2 workspace with this package built", file=sys.stderr)
        return 2
    try:
        summary = run_demo(DemoConfig(seed=args.seed, frames=args.frames, rate_hz=args.rate,
                                      checkpoint=args.checkpoint, device=args.device, out=args.out))
    except (RuntimeError, FileNotFoundError) as error:
        print(f"spgrasp demo: {error}", file=sys.stderr)
        return 1
    return 0 if summary["frames_with_grasps"] else 1


def _bag_demo(args: argparse.Namespace) -> int:
    """``spgrasp demo --bag``: the demo on a recorded bag (``ros.bag_demo``)."""
    from spgrasp_ros.ros.bag_demo import BagDemoConfig, run_bag_demo
    from spgrasp_ros.settings import parse_box

    try:
        config = BagDemoConfig(bag=args.bag, annotations=args.annotations or "", speed=args.speed,
                               boxes=tuple(parse_box(text) for text in args.box or ()), checkpoint=args.checkpoint,
                               device=args.device, out=args.out if args.out != _DEMO_OUT else _DEMO_OUT + "_bag")
        summary = run_bag_demo(config)
    except (RuntimeError, ValueError, OSError) as error:
        print(f"spgrasp demo: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    return 0 if summary["frames_with_grasps"] else 1


def _operator_demo(args: argparse.Namespace, demo_config) -> int:
    """``spgrasp demo --operator``: the demo's nodes kept running with the operator page (``ros.operator_demo``)."""
    from spgrasp_ros.ros.operator_demo import OperatorDemoConfig, run_operator_demo

    demo = demo_config(seed=args.seed, frames=args.frames, rate_hz=args.rate, checkpoint=args.checkpoint,
                       device=args.device, out=args.out if args.out != _DEMO_OUT else _DEMO_OUT + "_operator")
    try:
        run_operator_demo(OperatorDemoConfig(demo=demo, host=args.host, port=args.port, minutes=args.minutes),
                          on_url=lambda line: print(line, flush=True))
    except (RuntimeError, ValueError, OSError) as error:
        print(f"spgrasp demo: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    return 0


_DEMO_OUT = "outputs/demo"
_TRACKER = TrackerConfig()  # the one source of the tracker's defaults


def build_parser() -> argparse.ArgumentParser:
    """The shared parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="spgrasp", description="Prompt-driven real-time grasp tracking (SPGrasp).")
    parser.add_argument("--version", action="version", version=f"spgrasp_ros {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="the whole pipeline through the ROS 2 nodes on a synthetic clip "
                                             "(bundled model, no camera, GPU or download)")
    demo.add_argument("--seed", type=int, default=100_777, help="scene seed of the clip (held out from training)")
    demo.add_argument("--frames", type=int, default=60)
    demo.add_argument("--rate", type=float, default=10.0, help="replay rate [Hz]")
    demo.add_argument("--checkpoint", default="demo", help="bundled model name or checkpoint path")
    demo.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    demo.add_argument("--out", default=_DEMO_OUT, help="folder for the video, summary.json and node logs "
                                                       "(with --bag: outputs/demo_bag)")
    demo.add_argument("--bag", help="replay this rosbag2 bag (MCAP or sqlite3; /image, /depth, /camera_info) "
                                    "through bag_source_node instead of a synthetic clip")
    demo.add_argument("--annotations", help="with --bag: a recorded sequence labelling the bag's frames in order; "
                                            "prompts its objects' boxes and scores the grasps")
    demo.add_argument("--box", action="append", metavar="X0,Y0,X1,Y1",
                      help="with --bag and no --annotations: a prompt box in pixels (repeatable, one per object)")
    demo.add_argument("--speed", type=float, default=1.0, help="with --bag: replay speed, x the recorded one")
    demo.add_argument("--operator", action="store_true",
                      help="keep the clip looping with the operator page open for you: prints its URL; point at "
                           "objects in the browser (nothing is prompted for you); Ctrl-C ends it")
    demo.add_argument("--host", default="127.0.0.1", help="with --operator: the page's address (another than "
                                                          "loopback gets a token, printed in the URL)")
    demo.add_argument("--port", type=int, default=8080, help="with --operator: the page's TCP port")
    demo.add_argument("--minutes", type=float, default=0.0, help="with --operator: end after this long (0: Ctrl-C)")
    demo.set_defaults(run=_cmd_demo)

    info = commands.add_parser("info", help="report versions, devices and optional ROS parts")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(run=_cmd_info)

    bench_command.add_parser(commands)
    from spgrasp_ros.ros import soak as soak_command  # imports no ROS until the soak runs

    soak_command.add_parser(commands)
    from spgrasp_ros.ros import bag_commands  # imports no ROS or rosbags until a command runs

    bag_commands.add_parsers(commands)
    from spgrasp_ros.training import label_command  # imports no torch until the command runs

    label_command.add_parser(commands)

    train = commands.add_parser("train", help="train SPGrasp (also under torchrun for several GPUs)")
    train.add_argument("--config", help="training config YAML (e.g. spgrasp_ros/presets/train/demo.yaml)")
    train.add_argument("--out", required=True, help="run folder (config, logs, checkpoints, model.pt)")
    train.add_argument("--resume", action="store_true", help="continue from <out>/checkpoints/last.pt")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. steps=2000 lr=1e-4")
    train.set_defaults(run=_cmd_train)

    synth = commands.add_parser("synth", help="write synthetic scenes in the recorded-sequence format")
    synth.add_argument("--out", required=True, help="folder for the sequences")
    synth.add_argument("--sequences", type=int, default=10)
    synth.add_argument("--frames", type=int, default=24)
    synth.add_argument("--size", default="160x120", help="image size WxH")
    synth.add_argument("--max-objects", type=int, default=3)
    synth.add_argument("--occlusion-probability", type=float, default=0.6)
    synth.add_argument("--seed", type=int, default=0, help="first scene seed (scene i uses seed + i)")
    synth.set_defaults(run=_cmd_synth)

    evaluation = commands.add_parser("eval", help="grasp accuracy of a checkpoint per split and prompt interval")
    evaluation.add_argument("--checkpoint", default="demo", help="SPGrasp checkpoint file or bundled name (demo)")
    evaluation.add_argument("--data", action="append", default=None, metavar="SPEC",
                            help="split: synthetic[:seed=S,sequences=N,frames=F,size=WxH] or "
                                 "<kind>:<path>[:key=value,...] with kind recorded|cornell|jacquard|ocid|graspnet and "
                                 "the reader's options, e.g. jacquard:~/jacquard:masks=false,depth=stereo, or "
                                 "bag:<rosbag2 folder>:annotations=<recorded sequence>[,image=<topic>,depth=..,"
                                 "camera_info=..] (the bag's frames labelled by the sequence) "
                                 "(repeatable; default synthetic held-out)")
    evaluation.add_argument("--suite", action="append", default=None, metavar="NAME",
                            help="a named synthetic suite on its own held-out seeds (repeatable; 'all' = every "
                                 "suite; the same as --data suite:NAME); see spgrasp_ros/presets/synth/suites.yaml")
    evaluation.add_argument("--suite-sequences", type=int, help="sequences per suite (default: the suite's)")
    evaluation.add_argument("--intervals", default="0,8,1",
                            help="prompt intervals of video splits (0 = first frame only); single-image datasets "
                                 "are evaluated once")
    evaluation.add_argument("--n-hist", type=int, help="override the memory length (0: no-memory ablation)")
    evaluation.add_argument("--paper", action="store_true",
                            help="the plain model of the paper (TrackerConfig.paper(): no search window, overlapping "
                                 "masks, peak-pixel read-out) instead of the tracker's defaults; the flags below "
                                 "still change single settings")
    evaluation.add_argument("--search-window", type=float,
                            help=f"tracker search window, x the object's size (default: the tracker's, "
                                 f"{_TRACKER.search_window}, as the node runs it); 0 = anywhere")
    evaluation.add_argument("--exclusive-masks", action=argparse.BooleanOptionalAction,
                            help=f"a pixel belongs to at most one tracked object (default: the tracker's, "
                                 f"{_TRACKER.exclusive_masks})")
    evaluation.add_argument("--readout-window", type=int,
                            help=f"odd window [map px] whose mean gives a grasp's angle and width (default: the "
                                 f"tracker's, {_TRACKER.decode.readout_window}); 1 = the peak pixel (the paper)")
    evaluation.add_argument("--grasp-source", choices=("auto", "model", "geometry"),
                            help=f"where grasps come from (default: the tracker's, {_TRACKER.grasp_source}): the "
                                 "grasp head, each tracked mask's geometry, or auto (the head when trained)")
    evaluation.add_argument("--model-config", default="", help="the model preset the checkpoint must match; needed "
                                                                "for an official SAM 2.1 .pt (e.g. tiny), whose "
                                                                "grasp head is untrained: auto then uses geometry")
    evaluation.add_argument("--masks", choices=("tracked", "ground-truth"), default="tracked",
                            help="ground-truth: no tracker; the geometry grasp rule on each frame's own masks "
                                 "(the rule alone, on every dataset with masks)")
    evaluation.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:N")
    evaluation.add_argument("--threads", type=int, help="torch CPU threads (default: torch's, all cores)")
    evaluation.add_argument("--out", default="outputs/eval", help="folder for eval.json and the plots")
    evaluation.add_argument("--debug", action="store_true", help="on an error, the traceback instead of one line")
    evaluation.set_defaults(run=_cmd_eval, data=None)
    return parser


def _suite_specs(names: list[str], sequences: int | None) -> list[str]:
    """``--suite`` values as data specs (``all``: every suite)."""
    if "all" in names:
        from spgrasp_ros.data.synth_suites import suite_names

        names = suite_names()
    options = f":sequences={sequences}" if sequences else ""
    return [f"suite:{name}{options}" for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``spgrasp``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "eval":
        args.data = (args.data or []) + _suite_specs(args.suite or [], args.suite_sequences)
        if not args.data:
            args.data = ["synthetic:seed=100000,sequences=20"]
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
