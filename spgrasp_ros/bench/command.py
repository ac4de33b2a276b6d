"""``spgrasp bench``: its sub-parser (``add_parser``) and what it runs (``run``): one configuration, a
``--sweep`` or the ``--ros-overhead`` probe.

Imports nothing heavy at module level, so building the ``spgrasp`` parser stays fast and works without sam2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``bench`` sub-command to ``commands`` (the ``spgrasp`` sub-parsers)."""
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
    bench.add_argument("--mode", default="auto",
                       help="how the tracker runs, a key of spgrasp_ros.bench.settings.MODES: auto (the tracker's "
                            "defaults), float32, bf16, compiled, compiled_float32")
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
                       help="sweep settings (models=[tiny,small] frames=50 time_budget_s=540) and tracker.NAME=VALUE "
                            "(TrackerConfig and decode settings, precision, OptimisedConfig fields)")
    bench.set_defaults(run=run)
    return bench


def _fail(what: str, error: Exception) -> int:
    print(f"{what}: {error}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``spgrasp bench``; returns the exit code (2: bad settings, named on stderr)."""
    if args.sweep is not None:
        return _sweep(args)
    from spgrasp_ros.settings import apply_overrides, parse_size

    try:
        width, height = parse_size(args.resolution or "640x480", "--resolution")
    except ValueError as error:
        return _fail("spgrasp bench", error)
    frames = 100 if args.frames is None else args.frames
    if args.ros_overhead:
        return _ros_overhead(args, width, height, frames)
    from spgrasp_ros.bench.report import format_table, write_outputs
    from spgrasp_ros.bench.settings import BenchSettings
    from spgrasp_ros.bench.single import run_bench
    from spgrasp_ros.devices import resolve_device

    try:
        tree = apply_overrides({}, args.overrides)
        if set(tree) - {"tracker"} or not isinstance(tree.get("tracker", {}), dict):
            raise ValueError(f"{' '.join(args.overrides)}: only tracker.NAME=VALUE overrides apply outside --sweep")
        settings = BenchSettings(
            model=args.model, checkpoint=args.checkpoint, device=str(resolve_device(args.device or "auto")),
            n_hist=args.n_hist, image_size=args.image_size, objects=args.objects, frames=frames,
            warmup=10 if args.warmup is None else args.warmup, width=width, height=height, threads=args.threads,
            mode=args.mode, tracker=tree.get("tracker", {}), events=not args.stage_sync, baseline=args.baseline,
            sam2_vos=args.sam2_vos, sam2_checkpoint=args.sam2_checkpoint, sam2_compile_mode=args.sam2_compile_mode,
            long_stream=args.long_stream, sync_check=args.sync_check)
    except (ValueError, TypeError) as error:
        return _fail("spgrasp bench", error)
    result = run_bench(settings)
    json_path, png_path = write_outputs(result, Path(args.out))
    print(format_table(result))
    print(f"wrote {json_path} and {png_path}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from spgrasp_ros.bench.report import format_sweep, write_outputs
    from spgrasp_ros.bench.settings import sweep_settings
    from spgrasp_ros.bench.sweep import run_sweep

    flags = {"frames": args.frames, "warmup": args.warmup, "resolution": args.resolution, "device": args.device,
             "threads": args.threads, "sam2_vos": args.sam2_vos, "sam2_checkpoint": args.sam2_checkpoint,
             "sam2_compile_mode": args.sam2_compile_mode}
    explicit = [f"{k}={v}" for k, v in flags.items() if v is not None]
    path, overrides = args.sweep or None, list(args.overrides)
    if path and "=" in path and not Path(path).is_file():  # `--sweep key=value ...`: no file, only overrides
        path, overrides = None, [path, *overrides]
    try:
        settings = sweep_settings(path, [*explicit, *overrides])
    except (ValueError, TypeError, FileNotFoundError) as error:
        return _fail("spgrasp bench --sweep", error)
    out = Path(args.out)
    result = run_sweep(settings, out, resume=args.resume)
    json_path, png_path = write_outputs(result, out)
    print(format_sweep(result))
    print(f"wrote {json_path} and {png_path}")
    return 0


def _ros_overhead(args: argparse.Namespace, width: int, height: int, frames: int) -> int:
    try:
        from spgrasp_ros.ros.overhead_probe import measure_ros_overhead
    except ImportError as error:
        print(f"--ros-overhead needs rclpy and the built interfaces ({error})", file=sys.stderr)
        return 2
    result = measure_ros_overhead(width, height, objects=args.objects, frames=frames)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ros_overhead.json").write_text(json.dumps(result, indent=2))
    print(f"tracker node overhead per frame at {width}x{height} ({result['encoding']} in), model excluded:")
    for name, figures in result["stages"].items():
        print(f"  {name:22s} median {figures['median_ms']:6.3f} ms   p90 {figures['p90_ms']:6.3f} ms")
    print(f"wrote {out / 'ros_overhead.json'}")
    return 0
