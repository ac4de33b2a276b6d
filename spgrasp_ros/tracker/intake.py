"""A one-frame mailbox between a subscription callback and a processing thread: only the newest frame waits.

A frame put while another still waits replaces it and counts as dropped, so nothing ever queues behind a slow
model. ROS-free (holds any object), thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass
class SlotCounts:
    """Totals since the slot was made."""

    received: int = 0  # put() calls
    taken: int = 0  # frames handed to the consumer
    dropped: int = 0  # frames replaced by a newer one before being taken


class LatestSlot(Generic[Item]):
    """Holds at most one waiting item plus the last item seen (taken or not)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._waiting: Item | None = None
        self._latest: Item | None = None
        self._closed = False
        self.counts = SlotCounts()

    def put(self, item: Item) -> None:
        """Offer the newest item (from the subscription callback); a waiting older one is dropped."""
        with self._condition:
            if self._waiting is not None:
                self.counts.dropped += 1
            self._waiting = self._latest = item
            self.counts.received += 1
            self._condition.notify_all()

    def take(self, timeout: float | None = None) -> Item | None:
        """The waiting item (removing it), waiting up to ``timeout`` s; None on timeout or when closed."""
        with self._condition:
            if self._waiting is None and not self._closed:
                self._condition.wait(timeout)
            item, self._waiting = self._waiting, None
            if item is not None:
                self.counts.taken += 1
            return item

    def latest(self) -> Item | None:
        """The newest item ever put (even if already taken), or None."""
        with self._condition:
            return self._latest

    def clear(self) -> None:
        """Forget the waiting and the latest item (counts are kept)."""
        with self._condition:
            self._waiting = self._latest = None

    def close(self) -> None:
        """Wake any waiting ``take`` (it returns what waits, or None)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def reopen(self) -> None:
        """Allow waiting again after ``close``."""
        with self._condition:
            self._closed = False
