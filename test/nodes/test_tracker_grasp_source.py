"""The tracker node on weights in the official SAM 2.1 format (``{"model": state_dict}`` with sam2's tensor
names, as Meta publishes them): it runs them directly, takes its grasps from the tracked masks (saying so in
its log and in /diagnostics), and refuses ``grasp_source: model`` on their untrained head.

Two such files: one from sam2's own small random model, and the bundled demo model's segmenting part (its
sam2 tensors without the grasp hypernetworks), which stands in for a real SAM 2.1 checkpoint that segments
well, so that there are masks to take grasps from."""


import pytest
import torch
from ros_harness import RosProcess, node_process
from sam2_reference import predictor_and_model
from tracker_rig import Rig, diagnostic_value, make_clip

pytestmark = pytest.mark.ros


def _tracker(namespace: str, checkpoint, *params: str, model_config: str = "test_tiny") -> RosProcess:
    return node_process("tracker_node", namespace, f"checkpoint:={checkpoint}", f"model_config:={model_config}",
                        "device:=cpu", "diagnostics_period_s:=0.5", "image_reliability:=reliable",
                        "use_depth:=false", *params)


def test_official_weights_give_geometry_grasps_and_never_the_untrained_head(ros_node, tmp_path):
    from lifecycle_msgs.msg import State

    from spgrasp_ros.msg import Grasp
    from spgrasp_ros.ros.lifecycle_client import LifecycleError

    predictor, _, _ = predictor_and_model(seed=5)
    official = tmp_path / "sam2.1_hiera_test.pt"
    torch.save({"model": predictor.state_dict()}, official)

    refused = _tracker("/gs_model", official, "grasp_source:=model")
    try:
        rig = Rig(ros_node, "/gs_model")
        with pytest.raises(LifecycleError):
            rig.lifecycle.configure()
        assert rig.lifecycle.get_state().id == State.PRIMARY_STATE_UNCONFIGURED
        assert "grasp_source 'model' refused: the grasp head of sam2.1_hiera_test.pt was never trained" in \
            refused.output()
    finally:
        assert refused.stop(timeout=20) == 0, refused.output()

    from spgrasp_ros.model.checkpoints import read_checkpoint
    from spgrasp_ros.weights import resolve_checkpoint

    _, weights, _ = read_checkpoint(resolve_checkpoint("demo"))
    segmenter = tmp_path / "sam2.1_segmenter.pt"
    torch.save({"model": {k: v for k, v in weights.items() if ".grasp_hypernetworks_mlps." not in k}}, segmenter)
    auto = _tracker("/gs_auto", segmenter, model_config="demo")
    try:
        rig = Rig(ros_node, "/gs_auto")
        rig.bring_up()
        assert "grasps come from each object's mask geometry" in auto.output()  # the warning at configure
        frames, ids, boxes = make_clip(frames=3)
        rig.show(frames[0][0])
        response = rig.prompt(boxes=[boxes[i] for i in ids])
        assert response.success, response.message
        rig.stream([f[0] for f in frames[1:]])
        grasps = [g for a in rig.arrays for g in a.grasps]
        assert grasps and all(g.source == Grasp.SOURCE_GEOMETRY for g in grasps)
        masks = frames[-1][1]
        last = rig.arrays[-1]
        for state in last.objects:  # each object's best grasp lies on that object
            best = next(g for g in last.grasps if g.object_id == state.id)
            assert masks[int(best.center_y), int(best.center_x)] in ids
        ros_node.spin_until(lambda: any(diagnostic_value(d, "grasp source") for d in rig.diagnostics), 30,
                            "the grasp source in /diagnostics")
        value = next(diagnostic_value(d, "grasp source") for d in reversed(rig.diagnostics)
                     if diagnostic_value(d, "grasp source"))
        assert value.startswith("geometry (grasp_source 'auto': the grasp head of sam2.1_segmenter.pt")
    finally:
        assert auto.stop(timeout=20) == 0, auto.output()
