"""The spgrasp command line."""

import json
import subprocess
import sys

from ros_harness import ros_missing_reason


def test_info_reports_the_environment_as_json():
    out = subprocess.run([sys.executable, "-m", "spgrasp_ros", "info", "--json"], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    report = json.loads(out)
    assert report["spgrasp_ros"] == "0.1.0"
    assert report["packages"]["torch"] and report["packages"]["sam2"]
    assert report["ros"]["interfaces"] == (ros_missing_reason() is None)
    assert set(report["ros"]["optional"]) == {"launch_ros", "vision_msgs", "cv_bridge", "tf2_ros"}


def test_unknown_subcommand_fails_with_usage():
    result = subprocess.run([sys.executable, "-m", "spgrasp_ros", "fly"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "invalid choice: 'fly'" in result.stderr
