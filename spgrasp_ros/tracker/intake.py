"""What the tracker's worker thread takes in: frames through a one-frame mailbox, prompts through a bounded FIFO.

- ``LatestSlot``: only the newest frame waits. A frame put while another still waits replaces it and counts as
  dropped, so nothing ever queues behind a slow model.
- ``PromptQueue``: prompts wait in arrival order and each one is answered: applied by the worker, or refused
  with a reason (too many waiting, the node deactivating, its caller gave up). None is ever replaced or lost.

ROS-free (they hold any object), thread-safe.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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

    def take_newest(self) -> tuple[Item | None, bool]:
        """(the newest item ever put, whether it was still waiting): a waiting item is taken with it."""
        with self._condition:
            fresh = self._waiting is not None
            if fresh:
                self._waiting = None
                self.counts.taken += 1
            return self._latest, fresh

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


@dataclass(eq=False)  # tickets are compared by identity (PromptQueue.cancel removes this very one)
class Ticket(Generic[Item]):
    """One submitted prompt and its answer: ``answer`` set by the worker (``finish``), or ``refusal`` saying why
    it was not applied."""

    item: Item
    answer: Any = None
    refusal: str | None = None
    started: bool = False  # taken by the worker (it is being applied, or was)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def finish(self, answer: Any) -> None:
        """The worker's answer; wakes the waiting caller."""
        self.answer = answer
        self._done.set()

    def refuse(self, reason: str) -> None:
        """Answer without applying it."""
        self.refusal = reason
        self._done.set()

    def done(self) -> bool:
        """Whether it was answered or refused."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` s for the answer; True when answered or refused."""
        return self._done.wait(timeout)


class PromptQueue(Generic[Item]):
    """A bounded FIFO of tickets between the service callbacks (``submit``) and the worker (``take``).

    At most ``max_pending`` tickets wait; one more is refused at once. ``cancel`` takes a still waiting ticket
    out (its caller stopped waiting: it is never applied); ``close`` refuses every waiting one.
    """

    def __init__(self, max_pending: int = 8) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.max_pending = max_pending
        self._condition = threading.Condition()
        self._waiting: collections.deque[Ticket[Item]] = collections.deque()
        self._closed = False

    def __len__(self) -> int:
        with self._condition:
            return len(self._waiting)

    def submit(self, item: Item, closed_reason: str = "not accepting prompts now") -> Ticket[Item]:
        """A ticket for ``item``: waiting in line, or already refused (queue full, or closed)."""
        ticket: Ticket[Item] = Ticket(item)
        with self._condition:
            if self._closed:
                ticket.refuse(closed_reason)
            elif len(self._waiting) >= self.max_pending:
                ticket.refuse(f"refused: {len(self._waiting)} prompts are already waiting (at most "
                              f"{self.max_pending} may wait); send it again once they are answered")
            else:
                self._waiting.append(ticket)
                self._condition.notify_all()
        return ticket

    def take(self, timeout: float | None = None) -> Ticket[Item] | None:
        """The oldest waiting ticket (now started), waiting up to ``timeout`` s; None on timeout or when closed."""
        with self._condition:
            if not self._waiting and not self._closed:
                self._condition.wait(timeout)
            if not self._waiting:
                return None
            ticket = self._waiting.popleft()
            ticket.started = True
            return ticket

    def cancel(self, ticket: Ticket[Item], reason: str) -> bool:
        """Refuse ``ticket`` if it still waits (it is then never applied); False when the worker has it already
        (or it was answered)."""
        with self._condition:
            if ticket.started or ticket.done():
                return False
            self._waiting.remove(ticket)
            ticket.refuse(reason)
            return True

    def close(self, reason: str) -> int:
        """Refuse every waiting ticket with ``reason`` and every later ``submit`` until ``reopen``; wake a
        waiting ``take``. Returns how many were refused."""
        with self._condition:
            self._closed = True
            refused = list(self._waiting)
            self._waiting.clear()
            self._condition.notify_all()
        for ticket in refused:
            ticket.refuse(reason)
        return len(refused)

    def reopen(self) -> None:
        """Accept prompts again after ``close``."""
        with self._condition:
            self._closed = False
