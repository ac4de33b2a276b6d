"""The structure rules of the code layout (DESIGN.md "Code layout"), checked on the source itself.

- ``nodes/`` holds only the executables the launch file starts; every other module that imports rclpy,
  launch or launch_ros lives in ``ros/``; every other module is ROS-free and imports without ROS;
- no module is longer than 450 lines;
- the package's import graph has no cycle, counting imports inside functions too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "spgrasp_ros"
ROS_ROOTS = ("rclpy", "launch", "launch_ros", "rcl_interfaces", "lifecycle_msgs", "sensor_msgs", "std_msgs",
             "std_srvs", "geometry_msgs", "diagnostic_msgs", "visualization_msgs", "vision_msgs", "builtin_interfaces",
             "tf2_ros", "cv_bridge", "rosgraph_msgs")
ROS_FOLDERS = ("nodes", "ros")
NODE_FILES = {"tracker_node.py", "video_source_node.py", "bag_source_node.py", "zed_camera_node.py", "operator_node.py",
              "r1_grasp_bridge.py", "__init__.py"}
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (the generated msg/srv excluded)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, name: str, top_level_only: bool = False) -> set[str]:
    """Every module name imported in the file: anywhere (inside functions too), or only at its top level."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in (ast.iter_child_nodes(tree) if top_level_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_ros_imports_stay_in_nodes_and_ros():
    """Outside nodes/ and ros/ nothing imports ROS; the command line may hand a job to ros/ (``spgrasp demo``,
    ``spgrasp bench --ros-overhead``) by an import inside the function that runs it, never at import time."""
    offenders = []
    for name, path in _modules().items():
        if _layer(name) in ROS_FOLDERS:
            continue
        ros = sorted(i for i in _imports(path, name) if i.split(".")[0] in ROS_ROOTS
                     or i.startswith(("spgrasp_ros.msg", "spgrasp_ros.srv")))
        ros += sorted(i for i in _imports(path, name, top_level_only=True)
                      if i.startswith(("spgrasp_ros.nodes", "spgrasp_ros.ros")))
        if ros:
            offenders.append(f"{name}: {ros}")
    assert not offenders, "ROS imports outside nodes/ and ros/:\n" + "\n".join(offenders)


def test_nodes_folder_holds_only_the_executables():
    assert {p.name for p in (PACKAGE / "nodes").glob("*.py")} == NODE_FILES


def test_no_module_is_longer_than_the_limit():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_import_graph_has_no_cycle():
    modules = _modules()
    imported = {name: _imports(path, name) for name, path in modules.items()}  # each file parsed once
    graph = {name: {m for m in modules if m != name and any(i == m or i.startswith(m + ".") and i not in modules
                                                             for i in imported[name]) and m != "spgrasp_ros"}
             for name in modules}
    # a package importing its own sub-module is not a cycle with it; a sub-module importing its package's
    # __init__ re-exports is (both run at import time)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_core_modules_import_without_ros():
    """Every module outside nodes/ and ros/ imports in a Python where rclpy and the interfaces do not."""
    core = [name for name in _modules() if _layer(name) not in ROS_FOLDERS and name != "spgrasp_ros.__main__"]
    script = (
        "import importlib, sys\n"
        f"for blocked in {list(ROS_ROOTS)!r} + ['spgrasp_ros.msg', 'spgrasp_ros.srv']:\n"
        "    sys.modules[blocked] = None  # import fails as on a machine without ROS\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "print('ok', len(sys.argv))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240,
                            cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr[-3000:]
