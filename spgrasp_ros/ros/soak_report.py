"""What a ``spgrasp soak`` run is set up with (``SoakConfig``, the one source of its defaults, and the fault,
prompt and malformed-frame kinds) and what it reports: the RSS slope, the verdict, the one-paragraph summary,
``soak.json`` and ``soak.png``. ROS-free; the command is ``soak``, the run ``soak_run``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

FAULT_KINDS = ("kill_source", "lifecycle_cycle", "malformed_frames")  # injected in this order, rotating
PROMPT_KINDS = ("replace", "append", "remove", "clear")  # re-prompts in this order, rotating
MALFORMED_KINDS = ("wrong_encoding", "short_data", "zero_size")  # the frames of one malformed_frames fault


@dataclass(frozen=True)
class SoakConfig:
    """What the soak runs, for how long, and what passes."""

    minutes: float = 10.0  # soak duration after start-up
    out: str = "outputs/soak"  # soak.json, soak.png and the node logs
    seed: int = 100_888  # scene seed of the looped clip (held out from training)
    frames: int = 60  # clip length, replayed in a loop
    size: tuple[int, int] = (160, 120)  # the demo model's training resolution
    rate_hz: float = 10.0  # replay rate of the video source
    reprompt_s: float = 5.0  # a re-prompt every this many seconds (0 = none)
    # a fault every this many seconds (0 = none); not a multiple of the 4-prompt cycle (4 x reprompt_s), so the
    # faults meet every prompt state (after replace, append, remove, clear: nothing tracked) in turn
    fault_s: float = 25.0
    sample_s: float = 2.0  # RSS and counters sampled every this many seconds
    warmup_share: float = 0.2  # the RSS slope is fitted after this share of the run
    max_rss_slope: float = 2.0  # [MiB/min] a steeper RSS slope fails the soak
    malformed_copies: int = 2  # frames of each malformed kind per malformed_frames fault
    request_timeout_s: float = 60.0  # a request without an answer after this long is unanswered
    recovery_timeout_s: float = 30.0  # a fault after which no GraspArray arrives this long is unrecovered
    startup_timeout_s: float = 180.0  # tracker configure (model load, warm-up) and first frames
    checkpoint: str = "demo"
    device: str = "auto"
    namespace: str = "/spgrasp_soak"

    def check(self) -> None:
        """Raise ValueError naming the first bad setting."""
        positive = {"--minutes": self.minutes, "--rate-hz": self.rate_hz, "--sample-s": self.sample_s,
                    "--max-rss-slope": self.max_rss_slope, "--request-timeout-s": self.request_timeout_s}
        for flag, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{flag} must be a positive number, got {value}")
        for flag, value in {"--reprompt-s": self.reprompt_s, "--fault-s": self.fault_s}.items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{flag} must be 0 (none) or a positive number of seconds, got {value}")
        if not 0.0 <= self.warmup_share < 1.0:
            raise ValueError(f"--warmup-share must be in [0, 1), got {self.warmup_share}")
        if self.frames < 2:
            raise ValueError(f"--frames must be at least 2, got {self.frames}")
        if self.malformed_copies < 1:
            raise ValueError(f"--malformed-copies must be at least 1, got {self.malformed_copies}")
        if not self.namespace.startswith("/"):
            raise ValueError(f"--namespace must be absolute (start with /), got {self.namespace!r}")


def rss_slope(samples: list[tuple[float, float]], warmup_share: float) -> float | None:
    """Least-squares slope [MiB/min] of (seconds, MiB) samples after the first ``warmup_share`` of their span;
    None with fewer than 3 samples there."""
    if not samples:
        return None
    start, end = samples[0][0], samples[-1][0]
    kept = [(t, v) for t, v in samples if t >= start + warmup_share * (end - start)]
    if len(kept) < 3:
        return None
    mean_t = sum(t for t, _ in kept) / len(kept)
    mean_v = sum(v for _, v in kept) / len(kept)
    spread = sum((t - mean_t) ** 2 for t, _ in kept)
    if spread <= 0:
        return None
    return 60.0 * sum((t - mean_t) * (v - mean_v) for t, v in kept) / spread


def verdict(config: SoakConfig, figures: dict) -> list[str]:
    """Why the soak failed (empty: it passed)."""
    failures = []
    requests, tracker, rss = figures["requests"], figures["tracker"], figures["rss_mib"]
    if requests["unanswered"]:
        failures.append(f"{requests['unanswered']} of {requests['sent']} requests unanswered")
    if not tracker["alive_throughout"]:
        failures.append(f"the tracker died during the soak ({tracker['died']})")
    if tracker["exit_code"] != 0:
        failures.append(f"tracker exit code {tracker['exit_code']}")
    if tracker["alive_throughout"] and not tracker["exited_by_itself"] and not figures.get("interrupted"):
        failures.append("the tracker did not exit by itself after deactivate, cleanup and shutdown")
    if rss["slope_per_min"] is None:
        failures.append("too few RSS samples after the warm-up to fit a slope")
    elif rss["slope_per_min"] > config.max_rss_slope:
        failures.append(f"RSS slope {rss['slope_per_min']:.2f} MiB/min above {config.max_rss_slope:g}")
    if figures["faults"]["unrecovered"]:
        failures.append(f"{figures['faults']['unrecovered']} fault(s) after which no GraspArray arrived")
    if figures.get("interrupted"):
        failures.append("interrupted")
    return failures


def write_report(config: SoakConfig, figures: dict) -> dict:
    """Add the RSS figures and verdict to ``figures``; write soak.json and soak.png; print the summary."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    series = figures["samples"]
    rss = [(s["t_s"], s["rss_mib"]) for s in series if s["rss_mib"] is not None]
    values = [v for _, v in rss]
    figures["rss_mib"] = {
        "start": values[0] if values else None, "end": values[-1] if values else None,
        "max": max(values) if values else None, "slope_per_min": rss_slope(rss, config.warmup_share),
        "fit_from_s": rss[0][0] + config.warmup_share * (rss[-1][0] - rss[0][0]) if rss else None,
    }
    failures = verdict(config, figures)
    report = {"passed": not failures, "failures": failures, "config": {**dataclasses.asdict(config),
                                                                       "size": list(config.size)}, **figures}
    (out / "soak.json").write_text(json.dumps(report, indent=2))
    plot(report, out / "soak.png")
    print(summary(report), flush=True)
    print(f"wrote {out / 'soak.json'} and {out / 'soak.png'}", flush=True)
    return report


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary(report: dict) -> str:
    """The soak in one paragraph."""
    rss, frames, requests = report["rss_mib"], report["frames"], report["requests"]
    faults, tracker, viewer = report["faults"], report["tracker"], report["viewer"]
    injected = ", ".join(f"{kind} {faults['injected'][kind]}" for kind in FAULT_KINDS)
    verdict_text = "PASSED" if report["passed"] else "FAILED: " + "; ".join(report["failures"])
    return (f"soak of {report['duration_s'] / 60:.1f} min {verdict_text}. Tracker RSS {_num(rss['start'])} -> "
            f"{_num(rss['end'])} MiB (max {_num(rss['max'])}), slope {_num(rss['slope_per_min'], 2)} MiB/min; "
            f"frames received {frames['received']}, processed {frames['processed']}, dropped {frames['dropped']}, "
            f"errored {frames['errored']}, rejected {frames['rejected']}, idle {frames['idle']}; viewer got "
            f"{viewer['grasp_arrays']} GraspArrays, {viewer['masks']} masks, {viewer['debug_images']} debug images; "
            f"faults {injected} (max recovery {_num(faults['max_recovery_s'])} s, unrecovered "
            f"{faults['unrecovered']}); requests {requests['sent']} sent, {requests['unanswered']} unanswered, "
            f"{requests['refused']} refused; tracker exit {tracker['exit_code']}, source exit "
            f"{report['source']['exit_code']}.")


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def plot(report: dict, path: Path) -> None:
    """Tracker RSS over time with the faults marked and the fitted slope (top); the tracker's frame counters
    (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = report["samples"]
    minutes = [s["t_s"] / 60 for s in samples]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    top.plot(minutes, [_nan(s["rss_mib"]) for s in samples], color="black", label="tracker RSS")
    rss = report["rss_mib"]
    if rss["slope_per_min"] is not None and rss["fit_from_s"] is not None:
        kept = [(m, s["rss_mib"]) for m, s in zip(minutes, samples) if s["t_s"] >= rss["fit_from_s"]]
        mean_m = sum(m for m, _ in kept) / len(kept)
        mean_v = sum(v for _, v in kept) / len(kept)
        ends = [kept[0][0], kept[-1][0]]
        top.plot(ends, [mean_v + rss["slope_per_min"] * (m - mean_m) for m in ends], "--", color="tab:red",
                 label=f"fit {rss['slope_per_min']:.2f} MiB/min")
    colours = dict(zip(FAULT_KINDS, ("tab:orange", "tab:purple", "tab:green")))
    for kind in FAULT_KINDS:
        times = [e["t_s"] / 60 for e in report["faults"]["events"] if e["kind"] == kind]
        for index, t in enumerate(times):
            top.axvline(t, color=colours[kind], alpha=0.4, lw=1, label=kind if index == 0 else None)
    top.set_ylabel("MiB")
    top.legend(fontsize=7, loc="lower right")
    top.set_title(f"spgrasp soak: {'passed' if report['passed'] else 'FAILED'}, "
                  f"{report['duration_s'] / 60:.1f} min", fontsize=10)
    for key in ("received", "processed", "dropped", "errored", "rejected"):
        bottom.plot(minutes, [_nan(s["frames"].get(key)) for s in samples], label=key)
    bottom.set_xlabel("minutes")
    bottom.set_ylabel("frames (tracker totals)")
    bottom.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
