"""SetPrompt round trips between processes: the request's fields reach the server, its answer comes back.

The server process applies the package's own prompt rules (spgrasp_ros.prompts) to a set of tracked ids.
"""

import math

import pytest
from ros_harness import helper_node

pytestmark = pytest.mark.ros


def _call(ros_node, client, request):
    return ros_node.call(client, request, 15, ready_timeout=30)


def _box(x0, y0, x1, y1):
    from spgrasp_ros.msg import PromptBox

    return PromptBox(x_min=float(x0), y_min=float(y0), x_max=float(x1), y_max=float(y1))


def _point(x, y, label=1, object_index=0):
    from spgrasp_ros.msg import PromptPoint

    return PromptPoint(x=float(x), y=float(y), label=label, object_index=object_index)


def test_prompts_create_append_remove_and_clear(ros_node):
    from spgrasp_ros.srv import SetPrompt

    client = ros_node.node.create_client(SetPrompt, "/test/set_prompt")
    with helper_node("prompt_echo_server.py", "/test/set_prompt", "640", "480", "cam_optical"):
        two_boxes = SetPrompt.Request(boxes=[_box(10, 20, 110, 220), _box(300.5, 40, 400, 90.25)],
                                      points=[_point(50, 60, 0, object_index=1)])
        response = _call(ros_node, client, two_boxes)
        assert response.success, response.message
        assert list(response.object_ids) == [1, 2]
        assert list(response.tracked_ids) == [1, 2]
        assert [(b.x_min, b.y_min, b.x_max, b.y_max) for b in response.boxes] == [
            (10.0, 20.0, 110.0, 220.0), (300.5, 40.0, 400.0, 90.25)]
        assert list(response.labels) == ["box", "box"]
        assert list(response.scores) == [1.0, 1.0]
        assert response.header.frame_id == "cam_optical"

        clicks = SetPrompt.Request(points=[_point(5, 6), _point(25, 36), _point(15, 16, 0)], append=True)
        response = _call(ros_node, client, clicks)
        assert response.success, response.message
        assert list(response.object_ids) == [3]
        assert list(response.tracked_ids) == [1, 2, 3]
        assert list(response.labels) == ["points"]
        used = response.boxes[0]
        assert (used.x_min, used.y_min, used.x_max, used.y_max) == (5.0, 6.0, 25.0, 36.0)

        response = _call(ros_node, client, SetPrompt.Request(append=True, remove_ids=[2]))
        assert response.success, response.message
        assert list(response.tracked_ids) == [1, 3]

        response = _call(ros_node, client, SetPrompt.Request(boxes=[_box(0, 0, 640, 480)]))
        assert response.success and list(response.tracked_ids) == [4], "a prompt without append replaces the set"

        response = _call(ros_node, client, SetPrompt.Request())
        assert response.success and list(response.tracked_ids) == [] and response.message == "cleared"


@pytest.mark.parametrize(
    "fields, expected",
    [
        (dict(boxes="nan"), "non-finite"),
        (dict(boxes=[(50, 50, 50, 80)]), "degenerate"),
        (dict(boxes=[(100, 100, 60, 200)]), "degenerate"),
        (dict(boxes=[(600, 400, 700, 470)]), "outside the 640x480 image"),
        (dict(boxes=[(-1, 0, 10, 10)]), "outside"),
        (dict(points=[(10, 10, 2, 0)]), "label 2"),
        (dict(points=[(700, 10, 1, 0)]), "outside"),
        (dict(points=[(10, 10, 0, 0)]), "no foreground click"),
        (dict(boxes=[(0, 0, 10, 10)], points=[(5, 5, 1, 3)]), "refers to no box"),
        (dict(remove_ids=[99], append=True), "unknown object id"),
        (dict(text="red mug."), "detector"),
    ],
)
def test_bad_prompts_are_refused_and_change_nothing(ros_node, fields, expected):
    from spgrasp_ros.srv import SetPrompt

    client = ros_node.node.create_client(SetPrompt, "/test/set_prompt_bad")
    with helper_node("prompt_echo_server.py", "/test/set_prompt_bad", "640", "480", "cam_optical"):
        first = _call(ros_node, client, SetPrompt.Request(boxes=[_box(10, 10, 50, 50)]))
        assert first.success and list(first.tracked_ids) == [1]

        request = SetPrompt.Request(append=fields.get("append", False), text=fields.get("text", ""),
                                    remove_ids=fields.get("remove_ids", []))
        if fields.get("boxes") == "nan":
            request.boxes = [_box(math.nan, 0, 10, 10)]
        else:
            request.boxes = [_box(*b) for b in fields.get("boxes", [])]
        request.points = [_point(*p) for p in fields.get("points", [])]
        response = _call(ros_node, client, request)
        assert not response.success
        assert expected in response.message
        assert list(response.tracked_ids) == [1], "a refused prompt must leave tracking untouched"

        again = _call(ros_node, client, SetPrompt.Request(boxes=[_box(1, 1, 5, 5)], append=True))
        assert list(again.tracked_ids) == [1, 2], "the server's state after a refusal is the state before it"


def test_prompt_before_any_frame_is_refused(ros_node):
    from spgrasp_ros.srv import SetPrompt

    client = ros_node.node.create_client(SetPrompt, "/test/set_prompt_noframe")
    with helper_node("prompt_echo_server.py", "/test/set_prompt_noframe", "0", "0", "cam_optical"):
        response = _call(ros_node, client, SetPrompt.Request(boxes=[_box(1, 1, 5, 5)]))
        assert not response.success and "no frame" in response.message
        cleared = _call(ros_node, client, SetPrompt.Request())
        assert cleared.success, "clearing needs no frame"
