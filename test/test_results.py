"""Frame result records: angle wrapping, per-object queries, JSON round trip."""

import json
import math

import pytest

from spgrasp_ros.results import LOST, TRACKING, FrameResult, Grasp, GraspPose, ObjectState, wrap_grasp_angle


@pytest.mark.parametrize(
    "angle, wrapped",
    [(0.0, 0.0), (math.pi / 2, -math.pi / 2), (-math.pi / 2, -math.pi / 2), (math.pi, 0.0),
     (3 * math.pi / 4, -math.pi / 4), (-3 * math.pi / 4, math.pi / 4), (10.0, 10.0 - 3 * math.pi)],
)
def test_wrap_grasp_angle_is_modulo_half_turn(angle, wrapped):
    assert wrap_grasp_angle(angle) == pytest.approx(wrapped, abs=1e-12)
    assert -math.pi / 2 <= wrap_grasp_angle(angle) < math.pi / 2


def test_grasp_queries_and_json_round_trip():
    result = FrameResult(
        image_size=(64, 48), frame_index=3, processing_ms=1.5,
        objects=(ObjectState(2, True, 0.9, 10, (1.0, 2.0, 3.0, 4.0), 3, 0),),
        grasps=(Grasp(2, 0.8, (5.0, 6.0), 0.1, 7.0, 3.5, GraspPose((0.1, 0.2, 0.3), (0, 0, 0, 1), 0.04, 0.3)),
                Grasp(5, 0.7, (9.0, 9.0), -0.2, 4.0, 2.0),
                Grasp(2, 0.6, (8.0, 6.0), 0.3, 6.0, 3.0)),
        extra={"stages_ms": {"encoder": 1.0}},
    )
    assert [g.score for g in result.grasps_of(2)] == [0.8, 0.6]
    assert result.best_grasp(5).center == (9.0, 9.0)
    assert result.best_grasp(99) is None
    data = json.loads(json.dumps(result.to_dict()))
    assert "extra" not in data
    assert FrameResult.from_dict(data) == result


def test_new_fields_default_and_old_dicts_still_read():
    grasp = Grasp(1, 0.5, (1.0, 2.0), 0.25, 4.0, 2.0, None)  # positional, as before track_id/stability
    state = ObjectState(1, True, 0.9, 10, (1.0, 2.0, 3.0, 4.0), 3, 0)  # positional, as before state
    assert (grasp.track_id, grasp.stability, state.state) == (0, 0.0, TRACKING)
    old = {"image_size": [64, 48], "frame_index": 3, "processing_ms": 1.5,
           "objects": [{"id": 1, "visible": True, "presence_score": 0.9, "mask_area": 10, "bbox": [1.0, 2.0, 3.0, 4.0],
                        "frames_since_prompt": 3, "frames_lost": 0}],
           "grasps": [{"object_id": 1, "score": 0.5, "center": [1.0, 2.0], "angle": 0.25, "width": 4.0,
                       "jaw_size": 2.0, "pose": None}]}
    result = FrameResult.from_dict(old)
    assert result.grasps == (grasp,) and result.objects == (state,)
    tracked = FrameResult((64, 48), 4, (ObjectState(1, False, 0.1, 0, (0.0,) * 4, 4, 1, LOST),),
                          (Grasp(1, 0.5, (1.0, 2.0), 0.25, 4.0, 2.0, None, 7, 0.5),))
    assert FrameResult.from_dict(json.loads(json.dumps(tracked.to_dict()))) == tracked
