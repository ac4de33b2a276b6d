"""spgrasp bench --ros-overhead: the tracker node's conversions and publishing, model excluded."""

import json


def test_ros_overhead_probe_measures_every_stage(tmp_path):
    from ros_harness import require_ros

    require_ros()
    from spgrasp_ros.cli import main

    assert main(["bench", "--ros-overhead", "--resolution", "320x240", "--frames", "20", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "ros_overhead.json").read_text())
    assert result["delivered"] == {"grasps": 20, "mask": 20}, "every published message arrived"
    stages = result["stages"]
    assert set(stages) == {"image_to_array", "array_to_tensor", "grasp_array_publish", "mask_publish", "total"}
    assert stages["total"]["median_ms"] >= stages["mask_publish"]["median_ms"] > 0
