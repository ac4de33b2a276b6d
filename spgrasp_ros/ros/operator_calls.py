"""The operator page's requests as ROS service calls, and their answers as page replies.

``set_prompt_request`` builds the ``/set_prompt`` request of a page's prompt; ``prompt_reply`` turns the
tracker's response into the page's reply (ids, boxes used, labels, scores, tracked ids, or the refusal);
``PendingCalls`` holds the calls waiting for an answer, bounded in number and in time.
"""

from __future__ import annotations

from spgrasp_ros.msg import PromptBox, PromptPoint
from spgrasp_ros.operator.page_requests import PageRequest, PromptAction
from spgrasp_ros.srv import SetPrompt


def set_prompt_request(action: PromptAction) -> SetPrompt.Request:
    """The SetPrompt request of a page's prompt (an empty action clears)."""
    return SetPrompt.Request(
        boxes=[PromptBox(x_min=b[0], y_min=b[1], x_max=b[2], y_max=b[3]) for b in action.boxes],
        points=[PromptPoint(x=x, y=y, label=PromptPoint.FOREGROUND if positive else PromptPoint.BACKGROUND,
                            object_index=index) for x, y, positive, index in action.points],
        text=action.text, append=action.append, remove_ids=list(action.remove_ids))


def prompt_reply(response: SetPrompt.Response) -> dict:
    """The page's reply to a prompt: ok, message, and what it created and what is tracked now."""
    return {"ok": bool(response.success), "message": response.message,
            "object_ids": [int(i) for i in response.object_ids],
            "boxes": [[b.x_min, b.y_min, b.x_max, b.y_max] for b in response.boxes],
            "labels": list(response.labels), "scores": [float(s) for s in response.scores],
            "tracked_ids": [int(i) for i in response.tracked_ids]}


class PendingCalls:
    """Service calls waiting for their answer: at most ``capacity``, each at most ``timeout_s``."""

    def __init__(self, capacity: int, timeout_s: float) -> None:
        self.capacity, self.timeout_s = capacity, timeout_s
        self._calls: dict[object, tuple[int, PageRequest, float]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def has_room(self) -> bool:
        return len(self._calls) < self.capacity

    def add(self, future, page: int, request: PageRequest, sent_s: float) -> None:
        self._calls[future] = (page, request, sent_s)

    def pop(self, future) -> tuple[int, PageRequest] | None:
        """The page and request of an answered call; None when it was dropped already (timed out)."""
        entry = self._calls.pop(future, None)
        return None if entry is None else entry[:2]

    def expired(self, now_s: float) -> list[tuple[object, tuple[int, PageRequest]]]:
        """Remove and return the calls older than the timeout (``now_s`` = inf: every call)."""
        old = [future for future, (_, _, sent) in self._calls.items() if now_s - sent > self.timeout_s]
        return [(future, self._calls.pop(future)[:2]) for future in old]
