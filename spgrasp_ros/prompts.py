"""Prompts that select objects to track, and their validation (ROS-free).

A prompt holds boxes (each one object), clicks with labels (refining a box, or forming objects of their own
when there are no boxes), object masks (each one object), free text for the open-vocabulary detector,
whether it appends to the tracked set, and object ids to remove. The same rules serve the tracker's Python
API and the ``/set_prompt`` service: ``Prompt.validate`` raises ``PromptError`` naming the first problem,
before anything is changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

FOREGROUND = 1
BACKGROUND = 0


class PromptError(ValueError):
    """A prompt that cannot be applied; the message names the problem. Nothing was changed."""


@dataclass(frozen=True)
class ObjectPrompt:
    """What selects one new object: a box and/or clicks, in input-image pixels.

    box: [4] float32 x_min, y_min, x_max, y_max, or None; points: [M, 2] float32 (x, y);
    labels: [M] int64, 1 foreground / 0 background; mask: [H, W] bool or None;
    source: "box", "points", "mask" or "text".
    """

    box: np.ndarray | None
    points: np.ndarray
    labels: np.ndarray
    source: str
    mask: np.ndarray | None = None
    label: str = ""  # detector phrase for text prompts
    score: float = 1.0  # detector confidence for text prompts
    object_id: int | None = None  # re-seeds this tracked object (keeps its id, its memory restarts here);
    #                               None: a new object (tracker.text_reacquire)


def _as_array(values: Iterable | np.ndarray | None, width: int, name: str, dtype) -> np.ndarray:
    array = np.asarray([] if values is None else values, dtype=dtype)
    if array.size == 0:
        return np.zeros((0, width) if width else (0,), dtype=dtype)
    if width:
        if array.ndim == 1 and array.size % width == 0:
            array = array.reshape(-1, width)
        if array.ndim != 2 or array.shape[1] != width:
            raise PromptError(f"{name} must have shape [N, {width}], got {list(array.shape)}")
    elif array.ndim != 1:
        raise PromptError(f"{name} must be one-dimensional, got shape {list(array.shape)}")
    return array


@dataclass(frozen=True)
class Prompt:
    """A request to change the tracked set; build it with ``Prompt.create``.

    boxes: [N, 4] float32 xyxy px; points: [M, 2] float32 xy px; labels: [M] int64 (1 fg, 0 bg);
    point_objects: [M] int64, the object each click belongs to (the box of that index when boxes are given);
    masks: [K, H, W] bool, one object each.
    """

    boxes: np.ndarray
    points: np.ndarray
    labels: np.ndarray
    point_objects: np.ndarray
    masks: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), dtype=bool))
    text: str = ""
    append: bool = False
    remove_ids: tuple[int, ...] = field(default=())
    detections: tuple[ObjectPrompt, ...] = field(default=())  # boxes the detector found for ``text``

    @classmethod
    def create(
        cls,
        boxes: Sequence | np.ndarray | None = None,
        points: Sequence | np.ndarray | None = None,
        labels: Sequence | np.ndarray | None = None,
        point_objects: Sequence | np.ndarray | None = None,
        masks: Sequence | np.ndarray | None = None,
        text: str = "",
        append: bool = False,
        remove_ids: Iterable[int] = (),
    ) -> "Prompt":
        """Normalise array-likes; clicks default to foreground labels only when ``labels`` is None."""
        if text and not text.strip():
            raise PromptError("text is only white space: give a phrase (e.g. 'red mug.'), or no text at all "
                              "(an empty request clears tracking)")
        boxes_a = _as_array(boxes, 4, "boxes", np.float32)
        points_a = _as_array(points, 2, "points", np.float32)
        if labels is None:
            if len(points_a):
                raise PromptError(f"{len(points_a)} points were given without labels (1 foreground, 0 background)")
            labels_a = np.zeros((0,), dtype=np.int64)
        else:
            labels_a = _as_array(labels, 0, "labels", np.float64)
            if not np.all(np.isfinite(labels_a)) or np.any(labels_a != np.round(labels_a)):
                raise PromptError(f"labels must be integers 0 or 1, got {labels_a.tolist()}")
            labels_a = labels_a.astype(np.int64)
        if point_objects is None:
            objects_a = np.zeros((len(points_a),), dtype=np.int64)
        else:
            objects_a = _as_array(point_objects, 0, "point_objects", np.int64)
        masks_a = np.zeros((0, 0, 0), dtype=bool) if masks is None else np.asarray(masks)
        if masks_a.size and masks_a.ndim == 2:
            masks_a = masks_a[None]
        if masks_a.size and masks_a.ndim != 3:
            raise PromptError(f"masks must have shape [K, H, W], got {list(masks_a.shape)}")
        if masks_a.size and masks_a.dtype != bool:
            if not np.all(np.isin(masks_a, (0, 1))):
                raise PromptError("masks must be boolean (or 0/1)")
            masks_a = masks_a.astype(bool)
        return cls(
            boxes=boxes_a,
            points=points_a,
            labels=labels_a,
            point_objects=objects_a,
            masks=masks_a,
            text=text.strip(),
            append=bool(append),
            remove_ids=tuple(int(i) for i in remove_ids),
        )

    def resolve_text(self, detections: Iterable[tuple[Sequence[float], str, float]]) -> "Prompt":
        """This prompt with ``text`` replaced by the detector's (box xyxy px, phrase, score) results, which become
        objects after the boxes, clicks and masks. No detection raises PromptError (nothing changes)."""
        found = tuple(ObjectPrompt(np.asarray(box, dtype=np.float32), self.points[:0], self.labels[:0], "text",
                                   label=str(label), score=float(score)) for box, label, score in detections)
        if self.text and not found:
            raise PromptError(f"the detector found nothing for {self.text!r}: tracking is unchanged")
        return dataclasses.replace(self, text="", detections=found)

    def with_detections(self, found: tuple[ObjectPrompt, ...]) -> "Prompt":
        """This prompt with ``found`` as its detected objects (e.g. re-seeds of tracked objects)."""
        return dataclasses.replace(self, detections=tuple(found))

    @property
    def reseeded_ids(self) -> tuple[int, ...]:
        """Ids of tracked objects this prompt re-seeds (``ObjectPrompt.object_id``)."""
        return tuple(o.object_id for o in self.detections if o.object_id is not None)

    @property
    def is_clear(self) -> bool:
        """True for an empty request: it clears tracking."""
        return not (len(self.boxes) or len(self.points) or self.masks.size or self.text or self.remove_ids
                    or self.detections)

    @property
    def creates_nothing(self) -> bool:
        """True when no object is prompted (a clearing request, or removals only): it needs no frame."""
        return not (len(self.boxes) or len(self.points) or self.masks.size or self.text or self.detections)

    @property
    def replaces_tracked_set(self) -> bool:
        """True when the tracked set is replaced (its memory dropped): new objects without ``append``, or a
        clearing (empty) request, with or without ``append``. Removals alone keep the other objects, with or
        without ``append``."""
        return self.is_clear or (not self.append and not self.creates_nothing)

    def tracked_after(self, tracked_ids: Iterable[int]) -> int:
        """How many objects are tracked once this prompt is applied to ``tracked_ids`` (text resolved first)."""
        kept = 0 if self.replaces_tracked_set else len(set(tracked_ids) - set(self.remove_ids)
                                                       - set(self.reseeded_ids))
        return kept + len(self.objects())

    def validate(self, image_size: tuple[int, int] | None, tracked_ids: Iterable[int] = ()) -> None:
        """Raise PromptError for the first problem; ``image_size`` is (width, height) of the newest frame,
        None when no frame was received (only a request that creates nothing is valid then)."""
        if image_size is None:
            if not self.creates_nothing:
                raise PromptError("no frame has been received yet: a prompt refers to the newest frame")
            self._validate_ids(set(int(i) for i in tracked_ids))
            return
        width, height = image_size
        for i, box in enumerate(self.boxes):
            if not np.all(np.isfinite(box)):
                raise PromptError(f"box {i} has a non-finite coordinate: {box.tolist()}")
            x0, y0, x1, y1 = (float(v) for v in box)
            if not (x1 > x0 and y1 > y0):
                raise PromptError(f"box {i} is degenerate (needs x_min < x_max and y_min < y_max): {box.tolist()}")
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                raise PromptError(f"box {i} {box.tolist()} is outside the {width}x{height} image")
        if len(self.labels) != len(self.points):
            raise PromptError(f"{len(self.points)} points but {len(self.labels)} labels: one label per point")
        if len(self.point_objects) != len(self.points):
            raise PromptError(
                f"{len(self.points)} points but {len(self.point_objects)} object indices: one per point"
            )
        for i, (point, label) in enumerate(zip(self.points, self.labels)):
            if not np.all(np.isfinite(point)):
                raise PromptError(f"point {i} has a non-finite coordinate: {point.tolist()}")
            if not (0 <= point[0] <= width and 0 <= point[1] <= height):
                raise PromptError(f"point {i} {point.tolist()} is outside the {width}x{height} image")
            if label not in (FOREGROUND, BACKGROUND):
                raise PromptError(f"point {i} has label {int(label)}: use 1 (foreground) or 0 (background)")
        if len(self.points):
            if np.any(self.point_objects < 0):
                raise PromptError("point object indices must be >= 0")
            if len(self.boxes):
                bad = self.point_objects[self.point_objects >= len(self.boxes)]
                if len(bad):
                    raise PromptError(f"point object index {int(bad[0])} refers to no box ({len(self.boxes)} given)")
            else:
                for index in np.unique(self.point_objects):
                    if not np.any(self.labels[self.point_objects == index] == FOREGROUND):
                        raise PromptError(f"the clicks of object {int(index)} have no foreground click")
        for i, mask in enumerate(self.masks if self.masks.size else ()):
            if mask.shape != (height, width):
                raise PromptError(f"mask {i} is {mask.shape[1]}x{mask.shape[0]}, the image is {width}x{height}")
            if not mask.any():
                raise PromptError(f"mask {i} is empty")
        for i, found in enumerate(self.detections):
            x0, y0, x1, y1 = (float(v) for v in found.box)
            if not (np.all(np.isfinite(found.box)) and x1 > x0 and y1 > y0 and x0 >= 0 and y0 >= 0
                    and x1 <= width and y1 <= height):
                raise PromptError(f"detected box {i} {found.box.tolist()} is not a box inside the "
                                  f"{width}x{height} image")
        self._validate_ids(set(int(i) for i in tracked_ids))

    def _validate_ids(self, known: set[int]) -> None:
        unknown = [i for i in self.remove_ids if i not in known]
        if unknown:
            raise PromptError(f"cannot remove unknown object id(s) {unknown}; tracked: {sorted(known)}")
        reseeded = self.reseeded_ids
        if reseeded and not self.append:
            raise PromptError("re-seeding tracked objects needs append (the others keep their memory)")
        bad = sorted(set(i for i in reseeded if i not in known or i in self.remove_ids))
        if bad or len(set(reseeded)) != len(reseeded):
            raise PromptError(f"cannot re-seed object id(s) {bad or sorted(reseeded)}: each must be tracked, "
                              f"once, and not removed; tracked: {sorted(known)}")

    def objects(self) -> list[ObjectPrompt]:
        """The new objects the boxes, clicks and masks create, in that order (text is resolved by the detector)."""
        created: list[ObjectPrompt] = []
        for i, box in enumerate(self.boxes):
            own = self.point_objects == i
            created.append(ObjectPrompt(box.copy(), self.points[own].copy(), self.labels[own].copy(), "box"))
        if not len(self.boxes):
            for index in np.unique(self.point_objects):
                own = self.point_objects == index
                created.append(ObjectPrompt(None, self.points[own].copy(), self.labels[own].copy(), "points"))
        for mask in self.masks if self.masks.size else ():
            created.append(ObjectPrompt(None, self.points[:0], self.labels[:0], "mask", mask=mask.copy()))
        created.extend(self.detections)
        return created
