"""``spgrasp demo --operator``: the demo's pipeline kept running for a person, with the operator page open.

The same held-out synthetic clip as ``spgrasp demo``, replayed in a loop by ``video_source_node``, tracked by
the ``spgrasp_tracker`` lifecycle node (bundled model) and shown by ``operator_node``; nothing is prompted:
the person does it in the browser (drag a box, click, type words). Runs until Ctrl-C (or ``minutes``), then
stops the nodes in order. Node logs go to ``<out>/``.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor

from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic
from spgrasp_ros.ros.demo import DemoConfig, start_node_process, stop_process
from spgrasp_ros.ros.lifecycle_client import LifecycleClient

_URL = re.compile(r"operator page: open (\S+)")


@dataclass(frozen=True)
class OperatorDemoConfig:
    """The clip and nodes of ``spgrasp demo`` plus where the page is served."""

    demo: DemoConfig = DemoConfig()
    host: str = "127.0.0.1"  # another address: the node generates a token, the printed URL carries it
    port: int = 8080
    minutes: float = 0.0  # 0 = until Ctrl-C


def _logged_url(log: Path, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _URL.findall(log.read_text(errors="replace")) if log.exists() else []
        if found:
            return found[-1]
        time.sleep(0.1)
    raise RuntimeError(f"the operator node printed no URL; see {log}")


def run_operator_demo(config: OperatorDemoConfig = OperatorDemoConfig(), on_url=print) -> None:
    """Start the nodes, print the page's URL, keep them running until Ctrl-C (or ``minutes``)."""
    demo = config.demo
    out = Path(demo.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spgrasp-operator-demo-") as scratch:
        clip = write_synthetic(scratch, 1, SynthConfig(size=demo.size, frames=demo.frames), demo.seed,
                               progress=False)[0]
        rclpy.init()
        node = rclpy.create_node("spgrasp_operator_demo", namespace=demo.namespace)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        processes = {"tracker": start_node_process("spgrasp_ros.nodes.tracker_node", demo.namespace,
                                                   {"checkpoint": demo.checkpoint, "device": demo.device,
                                                    "use_depth": "false"}, out / "tracker.log"),
                     "operator": start_node_process("spgrasp_ros.nodes.operator_node", demo.namespace,
                                                    {"host": config.host, "port": config.port},
                                                    out / "operator.log")}
        try:
            for name, node_name in (("tracker", "spgrasp_tracker"), ("operator", "operator_node")):
                client = LifecycleClient(node, executor, f"{demo.namespace}/{node_name}", timeout_s=demo.timeout_s)
                if client.configure().label != "inactive" or client.activate().label != "active":
                    raise RuntimeError(f"the {name} did not start; see {out / f'{name}.log'}")
            processes["camera"] = start_node_process(
                "spgrasp_ros.nodes.video_source_node", demo.namespace,
                {"source": str(clip), "rate_hz": demo.rate_hz, "loop": "true"}, out / "video_source.log")
            on_url(f"operator page: open {_logged_url(out / 'operator.log')}  (drag a box around an object; "
                   f"Ctrl-C ends the demo; node logs in {out})")
            deadline = time.monotonic() + config.minutes * 60 if config.minutes else None
            while deadline is None or time.monotonic() < deadline:
                for name, process in processes.items():
                    if process.poll() is not None:
                        raise RuntimeError(f"the {name} node ended (exit code {process.returncode}); see {out}")
                executor.spin_once(timeout_sec=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            for name in ("camera", "operator", "tracker"):
                if name in processes:
                    stop_process(processes[name])
            executor.shutdown()
            node.destroy_node()
            rclpy.try_shutdown()
