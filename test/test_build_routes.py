"""The three ways the package is installed, and the gate CI relies on.

- ROS workspace: a copy of this checkout in <ws>/src, `colcon build`, `source install/setup.bash`: the
  interfaces and the Python modules import from the install, the `ros2 run` executable works.
- pip: `pip install .` gives the ROS-free core; it runs with ROS made unimportable.
- tools/dev.sh test (what .ci/run runs): a failing test or no test collected fails the run.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from ros_harness import require_ros

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)

# Tests that build against the PyPI-wheel venv or call tools/dev.sh belong to that environment; under
# `colcon test` on a robot (apt ROS) they would create a venv there instead.
needs_dev_env = pytest.mark.skipif(
    os.environ.get("SPGRASP_DEV_ENV") != sys.prefix,
    reason="needs the tools/dev.sh environment (SPGRASP_DEV_ENV is not this interpreter's venv)",
)


def _copy_checkout(dest: Path) -> Path:
    """Copy the files git would ship (tracked and untracked-but-not-ignored) to ``dest``."""
    listing = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                             capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listing):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _clean_env() -> dict:
    """This venv's environment without anything tools/dev.sh or the test run added."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "LD_LIBRARY_PATH", "AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH",
                        "COLCON_PREFIX_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE", "SPGRASP_REQUIRE_ROS",
                        "SPGRASP_DEV_ENV"}}
    env["PATH"] = os.pathsep.join([str(VENV / "bin")] + [p for p in env["PATH"].split(os.pathsep)
                                                          if ".build" not in p and p != str(VENV / "bin")])
    env["VIRTUAL_ENV"] = str(VENV)
    return env


@pytest.mark.slow
@pytest.mark.ros
@needs_dev_env
def test_colcon_workspace_build_installs_interfaces_and_modules(tmp_path):
    require_ros()
    workspace = tmp_path / "ws"
    _copy_checkout(workspace / "src" / "spgrasp_ros")
    env = _clean_env()
    env["AMENT_PREFIX_PATH"] = str(VENV)  # the venv is the ROS prefix of the PyPI wheels
    command = ["colcon", "build"]
    if shutil.which("make", path=env["PATH"]) is None:
        command += ["--cmake-args", "-G", "Ninja"]
    build = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
    log = workspace / "log" / "latest_build" / "spgrasp_ros" / "stdout_stderr.log"
    assert build.returncode == 0, build.stdout + build.stderr + (log.read_text() if log.exists() else "")

    check = textwrap.dedent("""
        import json, spgrasp_ros
        from rclpy.serialization import deserialize_message, serialize_message
        from spgrasp_ros.msg import Grasp, GraspArray
        from spgrasp_ros.srv import SetPrompt
        from spgrasp_ros.ros.conversions import frame_result_to_msg
        msg = GraspArray(image_width=640, grasps=[Grasp(object_id=4, angle=-0.5)])
        back = deserialize_message(serialize_message(msg), GraspArray)
        print(json.dumps({"file": spgrasp_ros.__file__, "paths": list(spgrasp_ros.__path__),
                          "width": back.image_width, "id": back.grasps[0].object_id,
                          "request": type(SetPrompt.Request()).__name__}))
    """)
    run = subprocess.run(["bash", "-c", 'source install/setup.bash && python -c "$CHECK"'], cwd=workspace,
                         env={**env, "CHECK": check}, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    install = str(workspace / "install")
    assert report["file"].startswith(install), "spgrasp_ros must come from the workspace install"
    assert all(p.startswith(install) for p in report["paths"])
    assert (report["width"], report["id"], report["request"]) == (640, 4, "SetPrompt_Request")

    # What `ros2 run spgrasp_ros spgrasp info --json` starts:
    exe = workspace / "install" / "spgrasp_ros" / "lib" / "spgrasp_ros" / "spgrasp"
    info = subprocess.run(["bash", "-c", f'source install/setup.bash && "{exe}" info --json'], cwd=workspace,
                          env=env, capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["ros"]["interfaces"] is True
    assert (workspace / "install" / "spgrasp_ros" / "share" / "spgrasp_ros" / "package.xml").exists()


def test_pip_install_gives_the_ros_free_core(tmp_path):
    source = _copy_checkout(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-qq", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(source)], check=True, timeout=300)
    (wheel,) = wheels.glob("spgrasp_ros-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("spgrasp_ros/__init__.py", "spgrasp_ros/cli.py", "spgrasp_ros/prompts.py",
                   "spgrasp_ros/results.py", "spgrasp_ros/ros/conversions.py", "spgrasp_ros/model/spgrasp.py",
                   "spgrasp_ros/tracker/streaming.py", "spgrasp_ros/presets/model/base_plus.yaml",
                   "spgrasp_ros/presets/train/demo.yaml", "spgrasp_ros/data/readers/graspnet.py"):
        assert module in names
    assert not any(n.startswith(("spgrasp_ros/msg", "spgrasp_ros/srv")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "spgrasp = spgrasp_ros.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-qq", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, timeout=300)
    # Run the installed core with every ROS module made unimportable, as on a training host without ROS.
    probe = textwrap.dedent("""
        import importlib.abc, json, sys
        class NoRos(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"rclpy", "rosidl_runtime_py", "rosidl_parser", "builtin_interfaces",
                                          "std_msgs", "geometry_msgs", "sensor_msgs", "lifecycle_msgs"}:
                    raise ImportError(f"{name}: ROS is not installed")
        sys.meta_path.insert(0, NoRos())
        import io, contextlib
        import spgrasp_ros, spgrasp_ros.results, spgrasp_ros.prompts, spgrasp_ros.tracker.streaming
        from spgrasp_ros.model.config import load_model_config, preset_names
        assert "base_plus" in preset_names() and load_model_config("tiny").sam2_config.endswith("hiera_t.yaml")
        from spgrasp_ros.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["info", "--json"])
        report = json.loads(out.getvalue())
        print(json.dumps({"code": code, "file": spgrasp_ros.__file__, "rclpy": report["ros"]["rclpy"],
                          "interfaces": report["ros"]["interfaces"],
                          "ros_loaded": sorted(m for m in sys.modules if m.startswith(("rclpy", "std_msgs")))}))
    """)
    env = _clean_env()
    env["PYTHONPATH"] = str(site)
    run = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["file"].startswith(str(site))
    assert report == {**report, "code": 0, "rclpy": False, "interfaces": False, "ros_loaded": []}


def _dev_sh(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "tools" / "dev.sh"), *args], env=_clean_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@needs_dev_env
def test_ci_gate_fails_on_a_failing_test_and_on_no_tests(tmp_path):
    failing = tmp_path / "test_gate_probe.py"
    failing.write_text("def test_fails():\n    assert 1 + 1 == 3\n\ndef test_passes():\n    assert True\n")
    result = _dev_sh("test", str(failing), "-p", "no:cacheprovider")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout
    assert "tests failed (pytest exit code 1)" in result.stderr

    result = _dev_sh("test", str(failing), "-k", "no_test_has_this_name", "-p", "no:cacheprovider")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no tests were collected" in result.stderr


@needs_dev_env
def test_dev_sh_skips_the_install_when_requirements_are_unchanged():
    result = _dev_sh("setup")
    assert result.returncode == 0, result.stderr
    assert "installing pinned packages" not in result.stderr
    assert "ready:" in result.stderr


def test_pinned_versions_satisfy_the_declared_ranges():
    """requirements/core.txt (pins, dev/CI) must lie inside requirements/runtime.txt (ranges, setup.py)."""
    from packaging.requirements import Requirement

    def read(name: str) -> list[Requirement]:
        lines = (ROOT / "requirements" / name).read_text().splitlines()
        return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]

    pins = {r.name: next(iter(r.specifier)).version for r in read("core.txt")}
    ranges = read("runtime.txt")
    assert {r.name for r in ranges} == set(pins), "core.txt and runtime.txt must name the same packages"
    for requirement in ranges:
        assert requirement.specifier.contains(pins[requirement.name]), f"{requirement} excludes the pinned version"
