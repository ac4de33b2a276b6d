"""Conversions between the ROS-free records (results, prompts) and this package's ROS messages.

Only the nodes import this module; the geometry and the rules stay in the core (``spgrasp_ros.results``,
``spgrasp_ros.prompts``) where tests reach them without ROS.
"""

from __future__ import annotations

from typing import Sequence

from geometry_msgs.msg import Point, Pose, Quaternion
from std_msgs.msg import Header

from spgrasp_ros.msg import Grasp as GraspMsg
from spgrasp_ros.msg import GraspArray, PromptBox
from spgrasp_ros.msg import ObjectState as ObjectStateMsg
from spgrasp_ros.prompts import ObjectPrompt, Prompt
from spgrasp_ros.results import LOST, OBJECT_STATES, REACQUIRED, TRACKING, FrameResult, Grasp, GraspPose, ObjectState
from spgrasp_ros.srv import SetPrompt

_NAN = float("nan")
_STATE_CODES = {ObjectStateMsg.TRACKING: TRACKING, ObjectStateMsg.LOST: LOST,
                ObjectStateMsg.REACQUIRED: REACQUIRED}  # ObjectState.msg constant -> ObjectState.state
_STATE_NAMES = {name: code for code, name in _STATE_CODES.items()}
_SOURCE_CODES = {"model": GraspMsg.SOURCE_MODEL, "geometry": GraspMsg.SOURCE_GEOMETRY}  # Grasp.source -> msg code
_SOURCE_NAMES = {code: name for name, code in _SOURCE_CODES.items()}


def grasp_to_msg(grasp: Grasp) -> GraspMsg:
    """One grasp record to ``spgrasp_ros/msg/Grasp``."""
    msg = GraspMsg(
        object_id=int(grasp.object_id),
        score=float(grasp.score),
        center_x=float(grasp.center[0]),
        center_y=float(grasp.center[1]),
        angle=float(grasp.angle),
        width=float(grasp.width),
        jaw_size=float(grasp.jaw_size),
        track_id=int(grasp.track_id),
        stability=float(grasp.stability),
        has_pose=grasp.pose is not None,
        width_m=_NAN,
        depth_m=_NAN,
        source=_SOURCE_CODES[grasp.source],
    )
    if grasp.pose is not None:
        px, py, pz = grasp.pose.position
        qx, qy, qz, qw = grasp.pose.orientation
        msg.pose = Pose(position=Point(x=float(px), y=float(py), z=float(pz)),
                        orientation=Quaternion(x=float(qx), y=float(qy), z=float(qz), w=float(qw)))
        msg.width_m = float(grasp.pose.width_m)
        msg.depth_m = float(grasp.pose.depth_m)
    return msg


def grasp_from_msg(msg: GraspMsg) -> Grasp:
    """``spgrasp_ros/msg/Grasp`` to a grasp record (pose None when ``has_pose`` is false)."""
    pose = None
    if msg.has_pose:
        p, q = msg.pose.position, msg.pose.orientation
        pose = GraspPose((p.x, p.y, p.z), (q.x, q.y, q.z, q.w), msg.width_m, msg.depth_m)
    return Grasp(msg.object_id, msg.score, (msg.center_x, msg.center_y), msg.angle, msg.width, msg.jaw_size, pose,
                 msg.track_id, msg.stability, _SOURCE_NAMES.get(msg.source, "model"))


def object_state_to_msg(state: ObjectState, num_grasps: int) -> ObjectStateMsg:
    """One object's state to ``spgrasp_ros/msg/ObjectState``; ValueError for an unknown ``state``."""
    if state.state not in _STATE_NAMES:
        raise ValueError(f"object {state.id}: unknown state {state.state!r} (expected one of {OBJECT_STATES})")
    return ObjectStateMsg(
        id=int(state.id),
        visible=bool(state.visible),
        presence_score=float(state.presence_score),
        mask_area=int(state.mask_area),
        bbox=[float(v) for v in state.bbox],
        frames_since_prompt=int(state.frames_since_prompt),
        frames_lost=int(state.frames_lost),
        num_grasps=int(num_grasps),
        state=_STATE_NAMES[state.state],
    )


def object_state_from_msg(msg: ObjectStateMsg) -> ObjectState:
    """``spgrasp_ros/msg/ObjectState`` to a record; ValueError for an unknown ``state`` code."""
    if msg.state not in _STATE_CODES:
        raise ValueError(f"object {msg.id}: unknown state code {msg.state} (expected one of {sorted(_STATE_CODES)})")
    return ObjectState(msg.id, msg.visible, msg.presence_score, msg.mask_area,
                       tuple(float(v) for v in msg.bbox), msg.frames_since_prompt, msg.frames_lost,
                       _STATE_CODES[msg.state])


def frame_result_to_msg(result: FrameResult, header: Header) -> GraspArray:
    """A frame's result to ``GraspArray``, carrying the input image's header."""
    counts: dict[int, int] = {}
    for grasp in result.grasps:
        counts[grasp.object_id] = counts.get(grasp.object_id, 0) + 1
    return GraspArray(
        header=header,
        image_width=int(result.image_size[0]),
        image_height=int(result.image_size[1]),
        frame_index=int(result.frame_index),
        processing_ms=float(result.processing_ms),
        objects=[object_state_to_msg(s, counts.get(s.id, 0)) for s in result.objects],
        grasps=[grasp_to_msg(g) for g in result.grasps],
    )


def empty_grasp_array(header: Header, width: int, height: int, frame_index: int,
                      processing_ms: float) -> GraspArray:
    """The GraspArray of a frame while nothing is tracked: the header and size, no objects, no grasps."""
    return GraspArray(header=header, image_width=int(width), image_height=int(height),
                      frame_index=int(frame_index), processing_ms=float(processing_ms))


def frame_result_from_msg(msg: GraspArray) -> FrameResult:
    """``GraspArray`` back to a record (for listeners written in Python, and for tests)."""
    return FrameResult(
        image_size=(msg.image_width, msg.image_height),
        frame_index=msg.frame_index,
        objects=tuple(object_state_from_msg(o) for o in msg.objects),
        grasps=tuple(grasp_from_msg(g) for g in msg.grasps),
        processing_ms=msg.processing_ms,
    )


def prompt_from_request(request: SetPrompt.Request) -> Prompt:
    """A ``SetPrompt`` request to a Prompt (not yet validated: call ``Prompt.validate``)."""
    return Prompt.create(
        boxes=[[b.x_min, b.y_min, b.x_max, b.y_max] for b in request.boxes],
        points=[[p.x, p.y] for p in request.points],
        labels=[p.label for p in request.points],
        point_objects=[p.object_index for p in request.points],
        text=request.text,
        append=request.append,
        remove_ids=request.remove_ids,
    )


def too_many_objects(request: SetPrompt.Request, limit: int) -> str | None:
    """Why a request creates more than ``limit`` objects by itself (boxes, else click groups), or None.
    Checked before the request waits for the tracker; the tracker checks the total with the tracked ones."""
    created = len(request.boxes) or len({p.object_index for p in request.points})
    if created <= limit:
        return None
    return (f"refused: {created} objects in one prompt, at most max_objects={limit} may be tracked at once; "
            "tracking is unchanged")


def box_to_msg(box: Sequence[float]) -> PromptBox:
    """A [4] xyxy box to ``PromptBox``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return PromptBox(x_min=x0, y_min=y0, x_max=x1, y_max=y1)


def fill_prompt_response(
    response: SetPrompt.Response,
    header: Header,
    created: list[tuple[int, ObjectPrompt, tuple[float, float, float, float]]],
    tracked_ids: list[int],
    message: str,
) -> SetPrompt.Response:
    """Fill a successful response: ``created`` holds (object id, its prompt, the box used) per new object."""
    response.success = True
    response.message = message
    response.header = header
    response.object_ids = [int(object_id) for object_id, _, _ in created]
    response.boxes = [box_to_msg(box) for _, _, box in created]
    response.labels = [prompt.label or prompt.source for _, prompt, _ in created]
    response.scores = [float(prompt.score) for _, prompt, _ in created]
    response.tracked_ids = [int(i) for i in tracked_ids]
    return response


def fail_prompt_response(response: SetPrompt.Response, message: str, tracked_ids: list[int]) -> SetPrompt.Response:
    """Fill a refusal: success false, the reason, and the (unchanged) tracked ids."""
    response.success = False
    response.message = message
    response.tracked_ids = [int(i) for i in tracked_ids]
    return response

