"""Re-detection of lost text-prompted objects: the matching rule, re-seeding under the same id in the tracker,
and the session with the bundled model and a real (tiny, random) Grounding DINO."""

from __future__ import annotations

import json

import numpy as np
import pytest
from text_fixtures import make_tiny_grounding_dino

from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
from spgrasp_ros.prompts import ObjectPrompt, Prompt, PromptError
from spgrasp_ros.results import LOST, FrameResult, ObjectState
from spgrasp_ros.text import TextDetector, TextDetectorConfig
from spgrasp_ros.tracker.session import load_session
from spgrasp_ros.tracker.text_reacquire import TextReacquireConfig, TextReacquisition


def state(object_id, visible, bbox=(0, 0, 0, 0), lost=0):
    return ObjectState(object_id, visible, 0.9 if visible else 0.1, 100 if visible else 0, bbox, 5, lost,
                       "tracking" if visible else LOST)


def text_object(label):
    return ObjectPrompt(np.array([0, 0, 10, 10], np.float32), np.zeros((0, 2), np.float32),
                        np.zeros((0,), np.int64), "text", label=label)


class Boxes:
    """A detector that answers with fixed (box, phrase, score) results and records its calls."""

    def __init__(self, found):
        self.found, self.calls = found, []

    def __call__(self, rgb, phrase, count):
        self.calls.append((phrase, count))
        return self.found


RGB = np.zeros((120, 160, 3), np.uint8)


def test_matching_rule():
    reacquire = TextReacquisition(TextReacquireConfig(after_frames=3, every_frames=5))
    reacquire.remember([(1, text_object("mug")), (2, text_object("mug")), (3, text_object("box"))])
    reacquire.remember([(4, ObjectPrompt(np.array([0, 0, 5, 5], np.float32), np.zeros((0, 2), np.float32),
                                         np.zeros((0,), np.int64), "box"))])
    assert reacquire.phrases == {1: "mug", 2: "mug", 3: "box"}  # box prompts have no phrase
    reacquire.observe(FrameResult((160, 120), 0, (state(1, True, (10, 10, 30, 30)), state(2, True, (100, 80, 120, 100)),
                                                  state(3, True, (60, 10, 80, 30)))))
    # 1 and 2 lost long enough, 3 visible, 4 lost but not text-prompted
    last = FrameResult((160, 120), 9, (state(1, False, lost=4), state(2, False, lost=3),
                                       state(3, True, (60, 10, 80, 30)), state(4, False, lost=9)))
    assert reacquire.due(last) == {"mug": [1, 2]}
    detect = Boxes([((61, 11, 81, 31), "mug", 0.9),      # on the visible object 3: not a lost mug
                    ((98, 78, 118, 98), "mug", 0.5),     # near where 2 was
                    ((12, 12, 32, 32), "mug", 0.4)])     # near where 1 was
    prompt = reacquire.reseed_prompt(RGB, last, detect)
    assert detect.calls == [("mug", 3)]  # the lost ones plus the visible ones: a look-alike cannot crowd them out
    assert prompt.append and prompt.reseeded_ids == (1, 2)
    boxes = {o.object_id: o.box.tolist() for o in prompt.detections}
    assert boxes == {1: [12, 12, 32, 32], 2: [98, 78, 118, 98]}
    assert reacquire.reacquired == 2
    # tried on frame 10: not again before frame 15
    again = FrameResult((160, 120), 12, last.objects)
    assert reacquire.due(again) == {}
    assert reacquire.due(FrameResult((160, 120), 14, last.objects)) == {"mug": [1, 2]}
    # too far from where it was seen: not taken
    far = TextReacquisition(TextReacquireConfig(after_frames=1, max_distance=1.0))
    far.remember([(1, text_object("mug"))])
    far.observe(FrameResult((160, 120), 0, (state(1, True, (10, 10, 30, 30)),)))
    assert far.reseed_prompt(RGB, FrameResult((160, 120), 5, (state(1, False, lost=5),)),
                             Boxes([((130, 90, 150, 110), "mug", 0.9)])) is None
    # off, and forgetting
    off = TextReacquisition(TextReacquireConfig(after_frames=0))
    off.remember([(1, text_object("mug"))])
    assert off.due(FrameResult((160, 120), 50, (state(1, False, lost=50),))) == {}
    reacquire.retain([2])
    assert reacquire.phrases == {2: "mug"}
    with pytest.raises(ValueError, match="every_frames"):
        TextReacquireConfig(every_frames=0)


@pytest.fixture(scope="module")
def clip():
    return generate_clip(SynthConfig(frames=4, min_objects=2, max_objects=2, occlusion_probability=0.0), 100_777)


def boxes_of(frame):
    masks = frame.load_masks()
    out = []
    for obj in frame.objects:
        ys, xs = np.nonzero(masks == obj.object_id)
        out.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return out


def test_reseed_keeps_the_id_and_the_others_memory(clip):
    session = load_session({"checkpoint": "demo", "device": "cpu"})
    tracker = session.tracker
    frames = clip.to_sequence().frames
    first = boxes_of(frames[0])
    out = tracker.step(frames[0].load_image(), Prompt.create(boxes=first))
    assert out.created_ids == [1, 2]
    tracker.step(frames[1].load_image())
    found = ObjectPrompt(np.asarray(first[0], np.float32), np.zeros((0, 2), np.float32), np.zeros((0,), np.int64),
                         "text", label="mug", object_id=1)
    with pytest.raises(PromptError, match="append"):
        tracker.step(frames[2].load_image(), Prompt.create().with_detections((found,)))
    with pytest.raises(PromptError, match=r"re-seed object id\(s\) \[7\]"):
        tracker.step(frames[2].load_image(), Prompt.create(append=True).with_detections(
            (ObjectPrompt(found.box, found.points, found.labels, "text", object_id=7),)))
    assert tracker.frame_index == 1  # refused prompts changed nothing
    out = tracker.step(frames[2].load_image(), Prompt.create(append=True).with_detections((found,)))
    assert out.created_ids == [1] and tracker.object_ids == [1, 2]
    since = {s.id: s.frames_since_prompt for s in out.result.objects}
    assert since == {1: 0, 2: 2}  # 1 restarted from this frame, 2 kept its memory
    out = tracker.step(frames[3].load_image(), Prompt.create(boxes=[first[1]], append=True))
    assert out.created_ids == [3]  # re-seeding took no new id


def test_session_looks_for_a_lost_text_object_again(tmp_path, clip):
    folder = make_tiny_grounding_dino(tmp_path / "gdino", num_queries=12)
    detector = TextDetector.load(TextDetectorConfig(model=str(folder), device="cpu", box_threshold=0.0,
                                                    text_threshold=0.0, nms_iou=1.0))
    session = load_session({"checkpoint": "demo", "device": "cpu", "text_reacquire_after": 2,
                            "text_reacquire_every": 3})
    session.detector = detector
    assert (session.reacquire.config.after_frames, session.reacquire.config.every_frames) == (2, 3)
    frame = clip.to_sequence().frames[0]
    box = boxes_of(frame)[0]
    prompt = Prompt.create(text="red mug").resolve_text([(box, "red mug", 0.8)])
    out = session.step(frame.load_image(), prompt)
    assert session.reacquire.phrases == {1: "red mug"} and out.result.objects[0].visible
    blank = np.full_like(frame.load_image(), 127)  # the object is gone
    results = [session.step(blank).result for _ in range(8)]
    reseeded = [r.frame_index for r in results if r.objects[0].frames_since_prompt == 0]
    # lost from frame 1; lost 2 frames after frame 2 -> looked for on frame 3, then every 3 frames (a grey
    # frame holds nothing: the re-seeded object stays lost, so it is looked for again)
    assert all(r.objects[0].state == LOST for r in results)
    json.dumps(results[-1].to_dict())  # a lost object's counters are plain ints
    assert reseeded == [3, 6]
    assert session.reacquire.reacquired == len(reseeded)
    assert session.tracker.object_ids == [1]  # the same object, never a new id
    session.step(frame.load_image(), Prompt.create())  # clearing forgets the phrase
    assert session.reacquire.phrases == {}
