"""What an operator page may ask, checked before anything is done with it.

A page sends one JSON object per WebSocket text message, ``{"id": <int>, "op": <name>, ...}``:

- ``prompt``: ``boxes`` ``[[x_min, y_min, x_max, y_max], ...]``, ``points`` ``[{"x", "y", "positive",
  "object_index"}, ...]``, ``text``, ``append`` (pixel coordinates of the camera image, as ``/set_prompt``);
  at least one of boxes, points and text.
- ``remove``: ``object_id``, stop tracking that object (the others go on).
- ``clear``: stop tracking everything.
- ``arm``: ``enable`` true or false; enabling also needs ``"confirm": true`` (the page asks the person first).
- ``stop``: disable the arm at once (never needs a confirmation).

:func:`parse_request` turns a message into a :class:`PageRequest` or raises :class:`PageRequestError` with
one line naming the field; nothing is sent anywhere for a message that fails. :class:`RequestRate` bounds
how many requests a page may make per second.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

OPS = ("prompt", "remove", "clear", "arm", "stop")


@dataclass(frozen=True)
class PageLimits:
    """Bounds on one page's messages."""

    max_message_bytes: int = 16384  # a longer WebSocket message closes nothing but is refused
    max_boxes: int = 64  # the tracker refuses more objects than its max_objects on its own
    max_points: int = 128
    max_text_chars: int = 256
    max_coordinate: float = 100_000.0  # [px] no camera is wider


class PageRequestError(ValueError):
    """A page message that cannot be acted on; ``request_id`` is its id when it had a readable one."""

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True)
class PromptAction:
    """A ``/set_prompt`` request; an empty one (``clear``) stops tracking everything."""

    boxes: tuple[tuple[float, float, float, float], ...] = ()  # x_min, y_min, x_max, y_max [px]
    points: tuple[tuple[float, float, bool, int], ...] = ()  # x, y [px], positive, object_index
    text: str = ""
    append: bool = False
    remove_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ArmAction:
    """Enable (activate) or disable (deactivate) the arm bridge."""

    enable: bool


@dataclass(frozen=True)
class PageRequest:
    id: int  # echoed in the reply
    op: str  # one of OPS
    action: PromptAction | ArmAction


def _number(value: object, where: str, limits: PageLimits) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value!r}")
    if abs(value) > limits.max_coordinate:
        raise ValueError(f"{where} = {value} is outside any image")
    return float(value)


def _flag(message: dict, key: str, default: bool = False) -> bool:
    value = message.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def _list(message: dict, key: str, most: int) -> list:
    value = message.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list, got {type(value).__name__}")
    if len(value) > most:
        raise ValueError(f"{key}: {len(value)} given, at most {most} per request")
    return value


def _object_id(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ValueError(f"{where} must be an object id (a non-negative integer), got {value!r}")
    return value


def _boxes(message: dict, limits: PageLimits) -> tuple[tuple[float, float, float, float], ...]:
    boxes = []
    for k, box in enumerate(_list(message, "boxes", limits.max_boxes)):
        if not isinstance(box, list) or len(box) != 4:
            raise ValueError(f"boxes[{k}] must be [x_min, y_min, x_max, y_max], got {box!r}")
        x0, y0, x1, y1 = (_number(v, f"boxes[{k}]", limits) for v in box)
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"boxes[{k}] = {box} is empty (x_max <= x_min or y_max <= y_min)")
        boxes.append((x0, y0, x1, y1))
    return tuple(boxes)


def _points(message: dict, limits: PageLimits) -> tuple[tuple[float, float, bool, int], ...]:
    points = []
    for k, point in enumerate(_list(message, "points", limits.max_points)):
        if not isinstance(point, dict):
            raise ValueError(f"points[{k}] must be an object with x, y, positive, got {point!r}")
        positive = _flag(point, "positive", True)
        index = point.get("object_index", 0)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**16:
            raise ValueError(f"points[{k}].object_index must be an integer in [0, 65535], got {index!r}")
        points.append((_number(point.get("x"), f"points[{k}].x", limits),
                       _number(point.get("y"), f"points[{k}].y", limits), positive, index))
    return tuple(points)


def _text(message: dict, limits: PageLimits) -> str:
    text = message.get("text", "")
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    if len(text) > limits.max_text_chars:
        raise ValueError(f"text is {len(text)} characters long, at most {limits.max_text_chars}")
    return text.strip()


def _action(op: str, message: dict, limits: PageLimits) -> PromptAction | ArmAction:
    if op == "prompt":
        action = PromptAction(boxes=_boxes(message, limits), points=_points(message, limits),
                              text=_text(message, limits), append=_flag(message, "append"))
        if not (action.boxes or action.points or action.text):
            raise ValueError("a prompt needs boxes, points or text (use clear to stop tracking)")
        return action
    if op == "remove":
        return PromptAction(remove_ids=(_object_id(message.get("object_id"), "object_id"),))
    if op == "clear":
        return PromptAction()
    if op == "arm":
        if "enable" not in message:
            raise ValueError("arm needs enable: true or false")
        enable = _flag(message, "enable")
        if enable and message.get("confirm") is not True:
            raise ValueError("enabling the arm needs confirm: true (the page asks first)")
        return ArmAction(enable)
    return ArmAction(False)  # stop


def parse_request(text: str | bytes, limits: PageLimits = PageLimits()) -> PageRequest:
    """The request in one page message; PageRequestError (one line, naming the field) when it is unusable."""
    if len(text) > limits.max_message_bytes:
        raise PageRequestError(f"message of {len(text)} bytes refused: at most {limits.max_message_bytes}")
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise PageRequestError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise PageRequestError(f"expected a JSON object, got {type(message).__name__}")
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int) or not 0 <= request_id < 2**53:
        raise PageRequestError(f"id must be a non-negative integer, got {request_id!r}")
    op = message.get("op")
    if op not in OPS:
        raise PageRequestError(f"op must be one of {', '.join(OPS)}, got {op!r}", request_id)
    try:
        return PageRequest(request_id, op, _action(op, message, limits))
    except ValueError as error:
        raise PageRequestError(f"{op}: {error}", request_id) from None


class RequestRate:
    """A token bucket: ``burst`` requests at once, then ``per_s`` per second (times in seconds, monotonic)."""

    def __init__(self, per_s: float, burst: int) -> None:
        self.per_s, self.burst = per_s, burst
        self._tokens, self._at = float(burst), None

    def allow(self, now_s: float) -> bool:
        """Whether a request at ``now_s`` is within the rate (and count it if so)."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now_s - self._at) * self.per_s)
        self._at = now_s
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
