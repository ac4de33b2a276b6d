"""Prompt validation rules (ROS-free): each bad input names its problem; good input splits into objects."""

import math

import numpy as np
import pytest

from spgrasp_ros.prompts import Prompt, PromptError

SIZE = (640, 480)


def test_boxes_are_one_object_each_and_clicks_refine_their_box():
    prompt = Prompt.create(boxes=[[10, 20, 30, 40], [100, 100, 200, 300]], points=[[150, 150], [12, 22]],
                           labels=[0, 1], point_objects=[1, 0])
    prompt.validate(SIZE)
    objects = prompt.objects()
    assert [o.source for o in objects] == ["box", "box"]
    np.testing.assert_array_equal(objects[0].box, [10, 20, 30, 40])
    np.testing.assert_array_equal(objects[0].points, [[12, 22]])
    np.testing.assert_array_equal(objects[0].labels, [1])
    np.testing.assert_array_equal(objects[1].points, [[150, 150]])
    np.testing.assert_array_equal(objects[1].labels, [0])


def test_clicks_without_boxes_form_one_object_per_index():
    one = Prompt.create(points=[[1, 2], [3, 4], [5, 6]], labels=[1, 0, 1])
    one.validate(SIZE)
    assert len(one.objects()) == 1 and one.objects()[0].box is None
    two = Prompt.create(points=[[1, 2], [3, 4]], labels=[1, 1], point_objects=[0, 5])
    two.validate(SIZE)
    assert [len(o.points) for o in two.objects()] == [1, 1]


def test_flat_lists_are_accepted_and_box_edges_may_touch_the_border():
    prompt = Prompt.create(boxes=[0, 0, 640, 480])
    prompt.validate(SIZE)
    assert prompt.boxes.shape == (1, 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(boxes=[[math.nan, 0, 10, 10]]), "box 0 has a non-finite"),
        (dict(boxes=[[0, 0, 10, 10], [0, 0, math.inf, 10]]), "box 1 has a non-finite"),
        (dict(boxes=[[10, 10, 10, 20]]), "box 0 is degenerate"),
        (dict(boxes=[[10, 30, 20, 20]]), "box 0 is degenerate"),
        (dict(boxes=[[600, 0, 641, 10]]), "outside the 640x480 image"),
        (dict(boxes=[[0, -0.5, 10, 10]]), "outside the 640x480 image"),
        (dict(points=[[1, 2]], labels=[1, 0]), "1 points but 2 labels"),
        (dict(points=[[1, 2], [3, 4]], labels=[1], point_objects=[0, 0]), "2 points but 1 labels"),
        (dict(points=[[1, 2]], labels=[3]), "label 3"),
        (dict(points=[[math.nan, 2]], labels=[1]), "point 0 has a non-finite"),
        (dict(points=[[1, 481]], labels=[1]), "point 0 [1.0, 481.0] is outside"),
        (dict(points=[[1, 2]], labels=[0]), "no foreground click"),
        (dict(boxes=[[0, 0, 9, 9]], points=[[1, 2]], labels=[1], point_objects=[1]), "refers to no box"),
        (dict(points=[[1, 2]], labels=[1], point_objects=[-1]), ">= 0"),
        (dict(remove_ids=[4]), "unknown object id(s) [4]"),
    ],
)
def test_bad_prompts_raise_naming_the_problem(kwargs, message):
    prompt = Prompt.create(**kwargs)
    with pytest.raises(PromptError) as info:
        prompt.validate(SIZE, tracked_ids=[1, 2])
    assert message in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(points=[[1, 2]]), "without labels"),
        (dict(boxes=[[1, 2, 3]]), "boxes must have shape [N, 4]"),
        (dict(points=[[1, 2, 3]], labels=[1]), "points must have shape [N, 2]"),
        (dict(points=[[1, 2]], labels=[0.5]), "labels must be integers"),
    ],
)
def test_malformed_arrays_raise_at_creation(kwargs, message):
    with pytest.raises(PromptError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Prompt.create(**kwargs)


def test_a_prompt_needs_a_frame_but_clearing_and_removing_do_not():
    with pytest.raises(PromptError, match="no frame has been received"):
        Prompt.create(boxes=[[1, 1, 2, 2]]).validate(None)
    with pytest.raises(PromptError, match="no frame has been received"):
        Prompt.create(text="red mug.").validate(None)
    Prompt.create().validate(None)
    Prompt.create(remove_ids=[3]).validate(None, tracked_ids=[3, 4])
    with pytest.raises(PromptError, match="unknown object id"):
        Prompt.create(remove_ids=[5]).validate(None, tracked_ids=[3, 4])
    assert not Prompt.create(text="red mug.").is_clear
    assert not Prompt.create(remove_ids=[3]).is_clear


def test_white_space_text_is_refused_not_taken_for_a_clearing_request():
    for text in ("  ", "\t\n", " \u3000 "):
        with pytest.raises(PromptError, match="only white space"):
            Prompt.create(text=text)
    assert Prompt.create(text="  red mug. ").text == "red mug."


def test_removals_alone_keep_the_other_objects_with_or_without_append():
    removal = Prompt.create(remove_ids=[3])
    assert removal.creates_nothing and not removal.replaces_tracked_set
    assert not Prompt.create(remove_ids=[3], append=True).replaces_tracked_set
    assert Prompt.create().replaces_tracked_set, "an empty request clears"
    assert Prompt.create(append=True).replaces_tracked_set, "an empty request clears, also with append"
    assert Prompt.create(boxes=[[1, 1, 2, 2]], remove_ids=[3]).replaces_tracked_set
    assert not Prompt.create(boxes=[[1, 1, 2, 2]], append=True).replaces_tracked_set


def test_text_resolves_to_detected_boxes_after_the_other_objects():
    prompt = Prompt.create(boxes=[[0, 0, 10, 10]], text="red mug.")
    resolved = prompt.resolve_text([([20, 20, 40, 50], "red mug", 0.8), ([50, 5, 60, 15], "red mug", 0.4)])
    assert resolved.text == "" and not resolved.is_clear
    objects = resolved.objects()
    assert [o.source for o in objects] == ["box", "text", "text"]
    assert objects[1].label == "red mug" and objects[1].score == pytest.approx(0.8)
    assert objects[2].box.tolist() == [50, 5, 60, 15]
    resolved.validate((64, 64))
    with pytest.raises(PromptError, match="outside|inside"):
        resolved.validate((45, 45))


def test_text_without_detection_is_refused():
    with pytest.raises(PromptError, match="found nothing for 'blue cup.'"):
        Prompt.create(text="blue cup.").resolve_text([])


def test_tracked_after_counts_what_stays_and_what_is_created():
    box = [[1, 1, 5, 5]]
    assert Prompt.create(boxes=box * 3).tracked_after([1, 2]) == 3, "replaces the set"
    assert Prompt.create(boxes=box * 3, append=True).tracked_after([1, 2]) == 5
    assert Prompt.create(boxes=box, append=True, remove_ids=[2]).tracked_after([1, 2]) == 2
    assert Prompt.create(remove_ids=[2]).tracked_after([1, 2, 3]) == 2
    assert Prompt.create().tracked_after([1, 2]) == 0
