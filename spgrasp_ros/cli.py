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


def _cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from spgrasp_ros.bench import bench

    if args.sweep is not None:
        return _bench_sweep(args)
    args.resolution = args.resolution or "640x480"
    args.frames = 100 if args.frames is None else args.frames
    width, height = (int(v) for v in args.resolution.lower().split("x"))
    if args.ros_overhead:
        return _bench_ros_overhead(args, width, height)
    tracker = {}
    for item in args.overrides:  # only TrackerConfig fields outside a sweep
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("tracker."):
            print(f"spgrasp bench: {item!r}: only tracker.FIELD=VALUE overrides apply outside --sweep", file=sys.stderr)
            return 2
        import yaml

        tracker[key.removeprefix("tracker.")] = yaml.safe_load(value)
    settings = bench.BenchSettings(
        model=args.model, checkpoint=args.checkpoint, device=args.device or ("cuda" if _cuda_available() else "cpu"),
        n_hist=args.n_hist, image_size=args.image_size, objects=args.objects, frames=args.frames,
        warmup=10 if args.warmup is None else args.warmup, width=width, height=height, threads=args.threads,
        mode=args.mode, tracker=tracker, events=not args.stage_sync, baseline=args.baseline, sam2_vos=args.sam2_vos,
        sam2_checkpoint=args.sam2_checkpoint, sam2_compile_mode=args.sam2_compile_mode, long_stream=args.long_stream,
        sync_check=args.sync_check)
    bench.tracker_config(settings.mode, settings.tracker)  # bad overrides fail before any work
    result = bench.run_bench(settings)
    json_path, png_path = bench.write_outputs(result, Path(args.out))
    print(bench.format_table(result))
    print(f"wrote {json_path} and {png_path}")
    return 0


def _bench_sweep(args: argparse.Namespace) -> int:
    from pathlib import Path

    from spgrasp_ros.bench import bench

    flags = {"frames": args.frames, "warmup": args.warmup, "resolution": args.resolution, "device": args.device,
             "threads": args.threads, "sam2_vos": args.sam2_vos, "sam2_checkpoint": args.sam2_checkpoint,
             "sam2_compile_mode": args.sam2_compile_mode}
    explicit = [f"{k}={v}" for k, v in flags.items() if v is not None]
    path, overrides = args.sweep or None, list(args.overrides)
    if path and "=" in path and not Path(path).is_file():  # `--sweep key=value ...`: no file, only overrides
        path, overrides = None, [path, *overrides]
    try:
        settings = bench.sweep_settings(path, [*explicit, *overrides])
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"spgrasp bench --sweep: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    result = bench.run_sweep(settings, out, resume=args.resume)
    json_path, png_path = bench.write_outputs(result, out)
    print(bench.format_sweep(result))
    print(f"wrote {json_path} and {png_path}")
    return 0


def _bench_ros_overhead(args: argparse.Namespace, width: int, height: int) -> int:
    import json
    from pathlib import Path

    try:
        from spgrasp_ros.ros.overhead_probe import measure_ros_overhead
    except ImportError as error:
        print(f"--ros-overhead needs rclpy and the built interfaces ({error})", file=sys.stderr)
        return 2
    result = measure_ros_overhead(width, height, objects=args.objects, frames=args.frames)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ros_overhead.json").write_text(json.dumps(result, indent=2))
    print(f"tracker node overhead per frame at {width}x{height} ({result['encoding']} in), model excluded:")
    for name, figures in result["stages"].items():
        print(f"  {name:22s} median {figures['median_ms']:6.3f} ms   p90 {figures['p90_ms']:6.3f} ms")
    print(f"wrote {out / 'ros_overhead.json'}")
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

    width, height = (int(v) for v in args.size.lower().split("x"))
    config = dataclasses.replace(SynthConfig(), size=(width, height), frames=args.frames,
                                 max_objects=args.max_objects, occlusion_probability=args.occlusion_probability)
    folders = write_synthetic(args.out, args.sequences, config, seed=args.seed)
    print(f"wrote {len(folders)} sequences to {args.out}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    import torch

    from spgrasp_ros.evaluation.evaluate import evaluate, parse_data_spec, write_results
    from spgrasp_ros.grasps.decode import DecodeConfig
    from spgrasp_ros.model.checkpoints import load_checkpoint
    from spgrasp_ros.tracker.streaming import GraspTracker, TrackerConfig

    from spgrasp_ros.weights import resolve_checkpoint

    if args.threads:  # beside a training, torch's default (all cores) oversubscribes them and crawls
        torch.set_num_threads(args.threads)
    # --n-hist: the same weights with another memory length; 0: the no-memory ablation
    model, config, extra = load_checkpoint(resolve_checkpoint(args.checkpoint), n_hist=args.n_hist)
    settings = TrackerConfig(search_window=args.search_window, exclusive_masks=args.exclusive_masks,
                             decode=DecodeConfig(readout_window=args.readout_window))
    tracker = GraspTracker(model, config, settings, device=args.device)
    splits = dict(parse_data_spec(spec) for spec in args.data)
    intervals = tuple(int(v) for v in args.intervals.split(","))
    results = evaluate(tracker, splits, intervals)
    meta = {"checkpoint": args.checkpoint, "model_config": config.to_dict(), "data": args.data,
            "device": str(tracker.device), "threads": torch.get_num_threads(),
            "tracker": dataclasses.asdict(settings)}
    paths = write_results(results, Path(args.out), meta)
    for split, cells in results.items():
        for cell, figures in cells.items():
            accuracy = figures["grasp_accuracy"]
            print(f"{split:24s} {cell:12s} grasp accuracy {100 * accuracy:5.1f} % over {figures['scored']} "
                  f"object-frames, mask IoU {figures['mask_iou'] or 0:.3f}, lost {100 * (figures['lost_rate'] or 0):.1f} %"
                  if accuracy is not None else f"{split:24s} {cell:12s} nothing scored")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        import rclpy  # noqa: F401

        import spgrasp_ros.msg  # noqa: F401
    except ImportError as error:
        print(f"spgrasp demo runs the ROS 2 nodes and needs rclpy and the built spgrasp_ros interfaces ({error}); "
              "run it as `tools/dev.sh demo`, or source a ROS 2 workspace with this package built", file=sys.stderr)
        return 2
    from spgrasp_ros.ros.demo import DemoConfig, run_demo

    try:
        summary = run_demo(DemoConfig(seed=args.seed, frames=args.frames, rate_hz=args.rate,
                                      checkpoint=args.checkpoint, device=args.device, out=args.out))
    except (RuntimeError, FileNotFoundError) as error:
        print(f"spgrasp demo: {error}", file=sys.stderr)
        return 1
    return 0 if summary["frames_with_grasps"] else 1


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
    demo.add_argument("--out", default="outputs/demo", help="folder for the video, summary.json and node logs")
    demo.set_defaults(run=_cmd_demo)

    info = commands.add_parser("info", help="report versions, devices and optional ROS parts")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(run=_cmd_info)

    bench = commands.add_parser("bench", help="time the streaming tracker per stage and end to end, against sam2's "
                                               "video predictor; one configuration or a --sweep (JSON + PNG)")
    bench.add_argument("--model", default="base_plus", help="model preset name or YAML file (default: base_plus)")
    bench.add_argument("--checkpoint", help="SPGrasp checkpoint (default: random weights, same compute)")
    bench.add_argument("--device", help="cuda, cuda:N or cpu (default: cuda when available)")
    bench.add_argument("--n-hist", type=int, help="memory length N_hist (default: the model's)")
    bench.add_argument("--image-size", type=int, help="model input side in px (default: the model's)")
    bench.add_argument("--objects", type=int, default=1, help="objects tracked at once")
    bench.add_argument("--frames", type=int, help="timed frames (default 100; sweep: 300)")
    bench.add_argument("--warmup", type=int, help="untimed frames after the prewarm (default 10; sweep: 30)")
    bench.add_argument("--resolution", help="camera resolution WxH (default 640x480; sweep: 1280x720)")
    bench.add_argument("--threads", type=int, help="torch CPU threads")
    bench.add_argument("--mode", default="auto", choices=("auto", "float32", "bf16", "compiled", "compiled_float32"),
                       help="precision / compilation of the tracker (bench.MODES; default: the tracker's defaults)")
    bench.add_argument("--baseline", action="store_true", help="also time sam2's video predictor on the same frames")
    bench.add_argument("--sam2-vos", action=argparse.BooleanOptionalAction, default=None,
                       help="sam2's vos_optimized (compiled) predictor for the baseline (default: on CUDA only)")
    bench.add_argument("--sam2-checkpoint", help="official SAM 2 checkpoint for the baseline (default: random)")
    bench.add_argument("--sam2-compile-mode", help="torch.compile mode of sam2's vos predictor instead of its own "
                                                   "max-autotune (e.g. default: far shorter compilation)")
    bench.add_argument("--long-stream", type=int, default=0, metavar="N",
                       help="also run N untimed frames and check that memory stays flat")
    bench.add_argument("--stage-sync", action="store_true",
                       help="time stages by synchronising around each (default on CUDA: CUDA events)")
    bench.add_argument("--sync-check", type=int, default=5, metavar="N",
                       help="frames run under torch.cuda.set_sync_debug_mode to count host-device syncs (CUDA)")
    bench.add_argument("--sweep", nargs="?", const="", metavar="YAML",
                       help="run a matrix of configurations: the issue's full table, or the SweepSettings in YAML")
    bench.add_argument("--resume", action="store_true", help="sweep: keep the rows already in --out/sweep.json")
    bench.add_argument("--out", default="outputs/bench", help="folder for bench.json/png or sweep.json/png")
    bench.add_argument("--ros-overhead", action="store_true",
                       help="time the tracker node's message conversions and publishing instead (model excluded)")
    bench.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                       help="sweep settings (models=[tiny,small] frames=50 time_budget_s=540) and tracker.FIELD=VALUE")
    bench.set_defaults(run=_cmd_bench)

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
                            help="split: synthetic[:seed=S,sequences=N,frames=F,size=WxH] or <kind>:<path> with kind "
                                 "recorded|cornell|jacquard|ocid|graspnet (repeatable; default synthetic held-out)")
    evaluation.add_argument("--intervals", default="0,8,1", help="prompt intervals (0 = first frame only)")
    evaluation.add_argument("--n-hist", type=int, help="override the memory length (0: no-memory ablation)")
    evaluation.add_argument("--search-window", type=float, default=0.1,
                            help="tracker search window, x the object's size (as the tracker node's default); "
                                 "0 = anywhere (the plain model)")
    evaluation.add_argument("--exclusive-masks", action=argparse.BooleanOptionalAction, default=True,
                            help="a pixel belongs to at most one tracked object (as the tracker node's default)")
    evaluation.add_argument("--readout-window", type=int, default=5,
                            help="odd window [map px] whose mean gives a grasp's angle and width (as the "
                                 "tracker node's default); 1 = the peak pixel (the paper)")
    evaluation.add_argument("--device", default="cuda" if _cuda_available() else "cpu")
    evaluation.add_argument("--threads", type=int, help="torch CPU threads (default: torch's, all cores)")
    evaluation.add_argument("--out", default="outputs/eval", help="folder for eval.json and the plots")
    evaluation.set_defaults(run=_cmd_eval, data=None)
    return parser


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``spgrasp``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "eval" and not args.data:
        args.data = ["synthetic:seed=100000,sequences=20"]
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
