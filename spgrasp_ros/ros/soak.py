"""``spgrasp soak``: the reliability soak. Video source + tracker + a viewer for N minutes with periodic
re-prompts and injected faults (the source SIGKILLed and restarted, the tracker deactivated and activated,
malformed frames); reports the tracker's RSS slope, frames received/processed/dropped/errored/rejected,
unanswered requests and the exit codes as ``soak.json`` and ``soak.png``; exit code 0 when it passed.

This module is the sub-parser (``add_parser``) and what it runs (``run``). It imports nothing from ROS at module
level, so building the ``spgrasp`` parser stays fast and works without rclpy. Settings and report:
``soak_report``; the run: ``soak_run``; what it injects: ``soak_faults``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from spgrasp_ros.ros.soak_report import SoakConfig, write_report

_DEFAULTS = SoakConfig()
_FLAGS = {  # option -> (field, type, help); defaults come from SoakConfig
    "--minutes": ("minutes", float, "soak duration after start-up [min]"),
    "--out": ("out", str, "folder for soak.json, soak.png and the node logs"),
    "--seed": ("seed", int, "scene seed of the looped synthetic clip"),
    "--frames": ("frames", int, "clip length (replayed in a loop)"),
    "--rate-hz": ("rate_hz", float, "replay rate of the video source [Hz]"),
    "--reprompt-s": ("reprompt_s", float, "a re-prompt every this many seconds, rotating replace / append / "
                                          "remove / clear (0 = none)"),
    "--fault-s": ("fault_s", float, "a fault every this many seconds, rotating: SIGKILL + restart of the source, "
                                    "deactivate + activate of the tracker, malformed frames (0 = none)"),
    "--sample-s": ("sample_s", float, "sample the tracker's RSS and counters every this many seconds"),
    "--warmup-share": ("warmup_share", float, "share of the run before the RSS slope is fitted"),
    "--max-rss-slope": ("max_rss_slope", float, "a steeper RSS slope fails the soak [MiB/min]"),
    "--malformed-copies": ("malformed_copies", int, "frames of each malformed kind per malformed-frames fault"),
    "--request-timeout-s": ("request_timeout_s", float, "a request unanswered this long counts as unanswered"),
    "--checkpoint": ("checkpoint", str, "bundled model name or checkpoint path"),
    "--device": ("device", str, "auto, cpu, cuda, cuda:N"),
    "--namespace": ("namespace", str, "namespace of the soak's nodes"),
}


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``soak`` sub-command to ``commands`` (the ``spgrasp`` sub-parsers)."""
    soak = commands.add_parser("soak", help="reliability soak: source + tracker + viewer for N minutes with "
                                             "re-prompts and injected faults; RSS slope, frame counts, unanswered "
                                             "requests, exit codes (JSON + PNG)")
    for flag, (name, kind, text) in _FLAGS.items():
        soak.add_argument(flag, dest=name, type=kind, default=getattr(_DEFAULTS, name),
                          help=f"{text} (default: {getattr(_DEFAULTS, name)})")
    soak.set_defaults(run=run)
    return soak


def run(args: argparse.Namespace) -> int:
    """Run ``spgrasp soak``: 0 when it passed, 1 when not (or it could not run), 2 for bad options."""
    config = dataclasses.replace(_DEFAULTS, **{name: getattr(args, name) for name, _, _ in _FLAGS.values()})
    try:
        config.check()
    except ValueError as error:
        print(f"spgrasp soak: {error}", file=sys.stderr)
        return 2
    try:
        from spgrasp_ros.ros.soak_run import run_soak
    except ImportError as error:
        print(f"spgrasp soak runs the ROS 2 nodes and needs rclpy and the built spgrasp_ros interfaces ({error}); "
              "run it through `tools/dev.sh run`, or source a ROS 2 workspace with this package built",
              file=sys.stderr)
        return 1
    try:
        figures = run_soak(config)
    except (RuntimeError, OSError) as error:
        print(f"spgrasp soak: {error}", file=sys.stderr)
        return 1
    report = write_report(config, figures)
    return 0 if report["passed"] else 1
