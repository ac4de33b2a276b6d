"""What an operator page may send: every field checked, one line naming it, nothing done for a bad message."""

import json

import pytest

from spgrasp_ros.operator.page_requests import (
    ArmAction,
    PageLimits,
    PageRequestError,
    PromptAction,
    RequestRate,
    parse_request,
)


def _parse(**message):
    return parse_request(json.dumps(message))


def test_a_box_prompt_with_append():
    request = _parse(id=3, op="prompt", boxes=[[10, 20.5, 30, 40]], append=True)
    assert request.id == 3 and request.op == "prompt"
    assert request.action == PromptAction(boxes=((10.0, 20.5, 30.0, 40.0),), append=True)


def test_clicks_keep_their_sign_and_object():
    request = _parse(id=1, op="prompt", points=[{"x": 5, "y": 6}, {"x": 7, "y": 8, "positive": False,
                                                                    "object_index": 2}])
    assert request.action.points == ((5.0, 6.0, True, 0), (7.0, 8.0, False, 2))


def test_words_are_stripped():
    assert _parse(id=1, op="prompt", text="  red mug ").action.text == "red mug"


def test_remove_clear_arm_and_stop():
    assert _parse(id=1, op="remove", object_id=4).action == PromptAction(remove_ids=(4,))
    assert _parse(id=1, op="clear").action == PromptAction()  # the empty prompt: stop tracking everything
    assert _parse(id=1, op="arm", enable=True, confirm=True).action == ArmAction(True)
    assert _parse(id=1, op="arm", enable=False).action == ArmAction(False)
    assert _parse(id=1, op="stop").action == ArmAction(False)  # never needs a confirmation


@pytest.mark.parametrize("message, words", [
    ("{not json", "not JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"op": "clear"}), "id must be a non-negative integer"),
    (json.dumps({"id": True, "op": "clear"}), "id must be"),
    (json.dumps({"id": 1, "op": "explode"}), "op must be one of"),
    (json.dumps({"id": 1, "op": "prompt"}), "needs boxes, points or text"),
    (json.dumps({"id": 1, "op": "prompt", "boxes": [[1, 2, 3]]}), "boxes[0] must be [x_min"),
    (json.dumps({"id": 1, "op": "prompt", "boxes": [[1, 2, "x", 4]]}), "boxes[0] must be a finite number"),
    (json.dumps({"id": 1, "op": "prompt", "boxes": [[5, 5, 5, 9]]}), "is empty"),
    ('{"id": 1, "op": "prompt", "boxes": [[1, 2, NaN, 4]]}', "finite"),
    (json.dumps({"id": 1, "op": "prompt", "boxes": [[0, 0, 1e9, 4]]}), "outside any image"),
    (json.dumps({"id": 1, "op": "prompt", "boxes": "0,0,4,4"}), "boxes must be a list"),
    (json.dumps({"id": 1, "op": "prompt", "points": [[1, 2]]}), "points[0] must be an object"),
    (json.dumps({"id": 1, "op": "prompt", "points": [{"x": 1}]}), "points[0].y must be a finite number"),
    (json.dumps({"id": 1, "op": "prompt", "points": [{"x": 1, "y": 2, "positive": 1}]}), "positive must be true"),
    (json.dumps({"id": 1, "op": "prompt", "points": [{"x": 1, "y": 2, "object_index": -1}]}), "object_index"),
    (json.dumps({"id": 1, "op": "prompt", "text": 5}), "text must be a string"),
    (json.dumps({"id": 1, "op": "prompt", "text": "a" * 300}), "at most 256"),
    (json.dumps({"id": 1, "op": "prompt", "text": "mug", "append": "yes"}), "append must be true or false"),
    (json.dumps({"id": 1, "op": "remove"}), "object_id must be an object id"),
    (json.dumps({"id": 1, "op": "remove", "object_id": -3}), "object_id must be"),
    (json.dumps({"id": 1, "op": "arm"}), "arm needs enable"),
    (json.dumps({"id": 1, "op": "arm", "enable": True}), "needs confirm: true"),
])
def test_a_bad_message_is_refused_naming_the_field(message, words):
    with pytest.raises(PageRequestError) as refused:
        parse_request(message)
    assert words in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_refusal_carries_the_id_when_it_was_readable():
    with pytest.raises(PageRequestError) as refused:
        parse_request(json.dumps({"id": 9, "op": "prompt", "boxes": [[1]]}))
    assert refused.value.request_id == 9
    with pytest.raises(PageRequestError) as refused:
        parse_request("{")
    assert refused.value.request_id is None


def test_sizes_are_bounded():
    limits = PageLimits(max_message_bytes=100, max_boxes=2, max_points=1)
    with pytest.raises(PageRequestError, match="at most 100"):
        parse_request(json.dumps({"id": 1, "op": "prompt", "text": "x" * 120}), limits)
    with pytest.raises(PageRequestError, match="3 given, at most 2"):
        parse_request(json.dumps({"id": 1, "op": "prompt", "boxes": [[0, 0, 1, 1]] * 3}), limits)
    with pytest.raises(PageRequestError, match="2 given, at most 1"):
        parse_request(json.dumps({"id": 1, "op": "prompt", "points": [{"x": 1, "y": 1}] * 2}), limits)


def test_the_rate_allows_a_burst_then_the_rate():
    rate = RequestRate(per_s=2.0, burst=3)
    assert [rate.allow(0.0) for _ in range(4)] == [True, True, True, False]
    assert rate.allow(0.4) is False  # 0.8 of a token
    assert rate.allow(0.5) is True  # one token after 0.5 s at 2 per second
    assert rate.allow(100.0) and rate.allow(100.0) and rate.allow(100.0) and not rate.allow(100.0)  # capped
