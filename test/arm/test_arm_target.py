"""Grasp -> arm target, checked against transforms computed by hand (no ROS)."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spgrasp_ros.arm.arm_target import (
    ArmTargetPlanner,
    GripperRange,
    RigidTransform,
    TargetSettings,
    Workspace,
    arm_target,
    is_stale,
    quaternion_xyzw,
    rotation_from_quaternion,
    select_grasp,
)
from spgrasp_ros.results import FrameResult, Grasp, GraspPose, ObjectState

S = math.sqrt(0.5)
# A camera looking straight down from 1 m above (0.5, 0, 0) of the base: optical x -> -y_base,
# y -> -x_base, z -> -z_base; that matrix is a half turn about (1, -1, 0)/sqrt(2): q = (S, -S, 0, 0).
DOWN = RigidTransform.from_quaternion((0.5, 0.0, 1.0), (S, -S, 0.0, 0.0))
DOWN_MATRIX = np.array([[0, -1, 0], [-1, 0, 0], [0, 0, -1]], float)
# A camera looking forward (+x_base), the usual ROS optical frame: optical z -> x, x -> -y, y -> -z.
FORWARD_MATRIX = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)
WIDE = Workspace((-2.0, -2.0, -2.0), (2.0, 2.0, 2.0))


def _about_z(angle: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2))


def _grasp(object_id=1, score=0.9, position=(0.1, 0.2, 0.7), angle=0.0, width_m=0.04, pose=True) -> Grasp:
    grasp_pose = GraspPose(position, _about_z(angle), width_m, position[2]) if pose else None
    return Grasp(object_id, score, (100.0, 80.0), angle, 30.0, 15.0, grasp_pose)


def _state(object_id: int, visible: bool = True) -> ObjectState:
    return ObjectState(object_id, visible, 0.9 if visible else 0.1, 500 if visible else 0,
                       (10.0, 10.0, 40.0, 40.0) if visible else (0.0,) * 4, 3, 0 if visible else 2)


def _result(*grasps: Grasp, states=None) -> FrameResult:
    states = states or [_state(i) for i in sorted({g.object_id for g in grasps})]
    return FrameResult((640, 480), 7, tuple(states), tuple(grasps))


def _matrix(quaternion) -> np.ndarray:
    return Rotation.from_quat(quaternion).as_matrix()


# --- frames -------------------------------------------------------------------------------------------------
def test_rpy_is_fixed_axes_x_then_y_then_z():
    yaw = RigidTransform.from_rpy((0, 0, 0), (0, 0, math.pi / 2))
    assert yaw.apply_point((1, 0, 0)) == pytest.approx((0, 1, 0), abs=1e-12)
    roll = RigidTransform.from_rpy((0, 0, 0), (math.pi / 2, 0, 0))
    assert roll.apply_point((0, 1, 0)) == pytest.approx((0, 0, 1), abs=1e-12)
    r, p, y = 0.3, -0.2, 1.1
    rx = np.array([[1, 0, 0], [0, math.cos(r), -math.sin(r)], [0, math.sin(r), math.cos(r)]])
    ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
    rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
    np.testing.assert_allclose(RigidTransform.from_rpy((0, 0, 0), (r, p, y)).rotation.as_matrix(), rz @ ry @ rx,
                               atol=1e-12)


def test_the_optical_frame_by_quaternion_and_by_rpy_agree_with_the_hand_matrix():
    by_quaternion = RigidTransform.from_quaternion((0.1, 0, 1.2), (-0.5, 0.5, -0.5, 0.5))
    by_rpy = RigidTransform.from_rpy((0.1, 0, 1.2), (-math.pi / 2, 0, -math.pi / 2))
    for transform in (by_quaternion, by_rpy):
        np.testing.assert_allclose(transform.rotation.as_matrix(), FORWARD_MATRIX, atol=1e-12)
        # 0.6 m in front of the camera, 0.1 m right, 0.05 m down -> x 0.1 + 0.6, y -0.1, z 1.2 - 0.05
        assert transform.apply_point((0.1, 0.05, 0.6)) == pytest.approx((0.7, -0.1, 1.15), abs=1e-12)
    np.testing.assert_allclose(DOWN.rotation.as_matrix(), DOWN_MATRIX, atol=1e-12)


def test_the_rotation_comes_from_whichever_form_is_set_and_never_from_both():
    chosen = RigidTransform.from_quaternion_or_rpy((0, 0, 0), (0, 0, 0, 1), (-math.pi / 2, 0, -math.pi / 2))
    np.testing.assert_allclose(chosen.rotation.as_matrix(), FORWARD_MATRIX, atol=1e-12)
    chosen = RigidTransform.from_quaternion_or_rpy((0, 0, 0), (-0.5, 0.5, -0.5, 0.5), (0, 0, 0))
    np.testing.assert_allclose(chosen.rotation.as_matrix(), FORWARD_MATRIX, atol=1e-12)
    with pytest.raises(ValueError, match="given twice"):
        RigidTransform.from_quaternion_or_rpy((0, 0, 0), (-0.5, 0.5, -0.5, 0.5), (0.1, 0, 0))


@pytest.mark.parametrize(("quaternion", "message"), [
    ((0, 0, 0, 0), "not a unit quaternion"),
    ((0, 0, 0.5, 0.5), "not a unit quaternion"),
    ((0, 0, float("nan"), 1), "4 finite numbers"),
    ((0, 0, 1), "4 finite numbers"),
])
def test_bad_quaternions_are_refused(quaternion, message):
    with pytest.raises(ValueError, match=message):
        rotation_from_quaternion(quaternion)


def test_quaternions_come_out_with_non_negative_w():
    assert quaternion_xyzw(Rotation.from_quat([0, 0, -S, -S])) == pytest.approx((0, 0, S, S))


# --- targets ------------------------------------------------------------------------------------------------
def test_target_from_a_downward_camera_hovers_above_the_grasp():
    settings = TargetSettings(pre_grasp_offset_m=-0.1, workspace=WIDE)
    target = arm_target(_grasp(position=(0.1, 0.2, 0.7), angle=0.0), DOWN, settings)
    # 0.1 * (0,-1,0) + 0.2 * (-1,0,0) + 0.7 * (0,0,-1) + (0.5, 0, 1)
    assert target.grasp_position == pytest.approx((0.3, -0.1, 0.3), abs=1e-12)
    assert target.position == pytest.approx((0.3, -0.1, 0.4), abs=1e-12)  # 10 cm back up the approach
    np.testing.assert_allclose(_matrix(target.orientation), DOWN_MATRIX, atol=1e-12)
    assert target.orientation[3] >= 0 and target.object_id == 1 and target.score == pytest.approx(0.9)


def test_target_from_a_forward_camera_with_a_turned_grasp():
    camera = RigidTransform.from_quaternion((0.1, 0, 1.2), (-0.5, 0.5, -0.5, 0.5))
    angle = 0.4
    settings = TargetSettings(pre_grasp_offset_m=-0.1, workspace=WIDE)
    target = arm_target(_grasp(position=(0.1, 0.05, 0.6), angle=angle), camera, settings)
    assert target.grasp_position == pytest.approx((0.7, -0.1, 1.15), abs=1e-12)
    assert target.position == pytest.approx((0.6, -0.1, 1.15), abs=1e-12)  # approach = +x_base
    matrix = _matrix(target.orientation)
    # closing direction (cos, sin, 0) in the optical frame -> (0, -cos, -sin) in the base; approach -> +x
    np.testing.assert_allclose(matrix[:, 0], (0, -math.cos(angle), -math.sin(angle)), atol=1e-12)
    np.testing.assert_allclose(matrix[:, 2], (1, 0, 0), atol=1e-12)
    positive = arm_target(_grasp(position=(0.1, 0.05, 0.6)), camera, TargetSettings(0.05, WIDE))
    assert positive.position == pytest.approx((0.75, -0.1, 1.15), abs=1e-12)  # past the surface


def test_tool_rotation_turns_the_grasp_frame_into_the_end_effector_frame():
    tool = Rotation.from_euler("xyz", (0, -math.pi / 2, 0))  # end-effector x = grasp z (approach)
    target = arm_target(_grasp(), DOWN, TargetSettings(workspace=WIDE, tool=tool))
    matrix = _matrix(target.orientation)
    np.testing.assert_allclose(matrix[:, 0], (0, 0, -1), atol=1e-12)  # the approach, straight down
    np.testing.assert_allclose(matrix[:, 2], -DOWN_MATRIX[:, 0], atol=1e-12)  # Ry(-90 deg): z_ee = -x_grasp
    assert target.position == pytest.approx((0.3, -0.1, 0.4), abs=1e-12)  # the offset follows the grasp


def test_workspace_limits_both_the_grasp_and_the_pre_grasp_point():
    inside = Workspace((0.0, -0.5, 0.2999), (0.6, 0.5, 0.4001))
    assert arm_target(_grasp(), DOWN, TargetSettings(-0.1, inside)).position == pytest.approx((0.3, -0.1, 0.4))
    with pytest.raises(ValueError, match=r"pre-grasp point \(0.300, -0.100, 0.450\) m is outside the workspace"):
        arm_target(_grasp(), DOWN, TargetSettings(-0.15, inside))
    with pytest.raises(ValueError, match="grasp point .* is outside the workspace .*x \\[0, 0.2\\]"):
        arm_target(_grasp(), DOWN, TargetSettings(-0.1, Workspace((0.0, -0.5, 0.0), (0.2, 0.5, 1.0))))
    with pytest.raises(ValueError, match="y_min must be below y_max"):
        Workspace((0, 1, 0), (1, 1, 1))


def test_gripper_command_from_width_with_margin_clipped_to_the_range():
    gripper = GripperRange(min_opening_m=0.0, max_opening_m=0.1, command_at_min=0.0, command_at_max=100.0,
                           margin_m=0.02)
    assert gripper.command(0.04) == pytest.approx(60.0)  # 0.04 + 0.02 = 0.06 of 0.1
    assert gripper.command(0.2) == pytest.approx(100.0) and gripper.opening(0.2) == pytest.approx(0.1)
    closes = GripperRange(0.01, 0.09, command_at_min=1.0, command_at_max=0.0, margin_m=0.0)  # counts closure
    assert closes.command(0.03) == pytest.approx(0.75)
    assert closes.command(0.0) == pytest.approx(1.0)  # below the smallest opening: clipped
    target = arm_target(_grasp(width_m=0.04), DOWN, TargetSettings(workspace=WIDE, gripper=gripper))
    assert (target.gripper_command, target.opening_m) == pytest.approx((60.0, 0.06))
    for width in (float("nan"), -0.01):
        with pytest.raises(ValueError, match="not a usable opening"):
            gripper.command(width)
    with pytest.raises(ValueError, match="min_opening_m < max_opening_m"):
        GripperRange(0.1, 0.1)
    with pytest.raises(ValueError, match="margin_m must be >= 0"):
        GripperRange(margin_m=-0.01)


def test_staleness_by_stamp_age_either_way():
    assert not is_stale(100.0, 100.4, 0.5) and is_stale(100.0, 100.6, 0.5)
    assert not is_stale(100.3, 100.0, 0.5) and is_stale(101.0, 100.0, 0.5)  # future: clocks disagree


# --- which grasp --------------------------------------------------------------------------------------------
def test_the_selected_object_or_the_best_visible_one():
    result = _result(_grasp(3, 0.95, pose=False), _grasp(2, 0.9), _grasp(1, 0.8), _grasp(2, 0.5), _grasp(1, 0.7),
                     states=[_state(1), _state(2, visible=False), _state(3)])
    assert select_grasp(result, 1) == (result.grasps[2], "")
    assert select_grasp(result, 0) == (result.grasps[2], "")  # 2 is lost, 3 has no pose
    assert select_grasp(result, 2) == (None, "object 2 is lost")
    assert select_grasp(result, 4) == (None, "object 4 is not tracked")
    grasp, why = select_grasp(result, 3)
    assert grasp is None and "object 3 has no grasp with a metric pose" in why
    assert select_grasp(_result(states=[_state(1, visible=False)]), 0) == (None, "no tracked object is visible")
    assert select_grasp(_result(), 0) == (None, "no object is tracked")
    assert select_grasp(_result(states=[_state(1)]), 0) == (None, "no visible object has a grasp")


def test_the_steady_best_grasp_is_followed_not_the_highest_score():
    """GraspArray order: each object's steady best first, even when a later grasp scores a little higher."""
    steady, higher = _grasp(1, 0.78), _grasp(1, 0.82)
    result = _result(steady, higher, states=[_state(1)])
    assert select_grasp(result, 1) == (steady, "") and select_grasp(result, 0) == (steady, "")
    unposed = _result(_grasp(1, 0.78, pose=False), higher, states=[_state(1)])
    assert select_grasp(unposed, 1) == (higher, ""), "the next grasp with a pose when the best has none"


# --- the planner --------------------------------------------------------------------------------------------
def _planner(**changes) -> ArmTargetPlanner:
    return ArmTargetPlanner(TargetSettings(**{"workspace": WIDE, "max_rate_hz": 10.0, "stale_timeout_s": 0.5,
                                              **changes}))


def test_stale_grasps_are_refused():
    plan = _planner().plan(_result(_grasp()), stamp_s=10.0, now_s=10.7, camera_to_base=DOWN)
    assert plan.target is None and plan.refused and "stale" in plan.reason and "0.700 s old" in plan.reason


def test_rate_limit_holds_targets_until_the_period_has_passed():
    planner, result = _planner(), _result(_grasp())
    first = planner.plan(result, 10.0, 10.0, DOWN)
    assert first.target is not None and not first.held
    planner.sent(first.target, 10.0)
    assert planner.plan(result, 10.05, 10.05, DOWN).held  # 50 ms later: 20 Hz > 10 Hz
    assert not planner.plan(result, 10.1, 10.1, DOWN).held
    assert not planner.plan(result, 9.5, 9.5, DOWN).held  # the clock went back: not stuck


def test_object_zero_keeps_the_first_commanded_object_until_reset():
    planner = _planner(object_id=0)
    plan = planner.plan(_result(_grasp(1, 0.9), _grasp(2, 0.5)), 10.0, 10.0, DOWN)
    planner.sent(plan.target, 10.0)
    assert planner.locked_object == 1
    later = planner.plan(_result(_grasp(2, 0.95), _grasp(1, 0.4)), 11.0, 11.0, DOWN)
    assert later.target.object_id == 1  # object 2 now scores higher: the arm stays with 1
    lost = planner.plan(_result(_grasp(2, 0.95), states=[_state(1, visible=False), _state(2)]), 12.0, 12.0, DOWN)
    assert lost.target is None and not lost.refused and lost.reason.startswith("object 1 is lost")
    planner.reset()
    fresh = planner.plan(_result(_grasp(2, 0.95), states=[_state(1, False), _state(2)]), 13.0, 13.0, DOWN)
    assert fresh.target.object_id == 2
    planner.settings = TargetSettings(workspace=WIDE, object_id=2)
    assert planner.locked_object == 2


def test_out_of_workspace_is_refused_with_the_reason():
    planner = _planner(workspace=Workspace((0.0, -0.5, 0.5), (0.6, 0.5, 1.0)))
    plan = planner.plan(_result(_grasp()), 10.0, 10.0, DOWN)
    assert plan.target is None and plan.refused and "grasp point (0.300, -0.100, 0.300)" in plan.reason


def test_the_wrist_does_not_spin_when_the_grasp_angle_wraps():
    planner = _planner()
    first = planner.plan(_result(_grasp(angle=math.pi / 2 - 0.05)), 10.0, 10.0, DOWN).target
    planner.sent(first, 10.0)
    wrapped = planner.plan(_result(_grasp(angle=-math.pi / 2 + 0.05)), 11.0, 11.0, DOWN).target
    turn = (Rotation.from_quat(first.orientation).inv() * Rotation.from_quat(wrapped.orientation)).magnitude()
    assert turn == pytest.approx(0.1, abs=1e-9)  # not pi - 0.1
    # the same grasp: approach unchanged, closing axis reversed relative to the raw wrapped pose
    np.testing.assert_allclose(_matrix(wrapped.orientation)[:, 2], (0, 0, -1), atol=1e-12)
    raw = arm_target(_grasp(angle=-math.pi / 2 + 0.05), DOWN, planner.settings)
    np.testing.assert_allclose(_matrix(wrapped.orientation)[:, 0], -_matrix(raw.orientation)[:, 0], atol=1e-12)
