"""Pairing a colour frame with the depth image of the same exposure, by stamp (message_filters is absent here).

Depth images are kept in a small bounded buffer; a colour stamp takes the depth with exactly its stamp, else
the nearest one within a tolerance, else none. Thread-safe: the depth callback puts, the worker matches.
"""

from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

Item = TypeVar("Item")


class StampBuffer(Generic[Item]):
    """The last ``capacity`` items by stamp [ns]."""

    def __init__(self, capacity: int = 8) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._items: collections.deque[tuple[int, Item]] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()

    def put(self, stamp_ns: int, item: Item) -> None:
        """Remember ``item`` (the oldest is forgotten when full)."""
        with self._lock:
            self._items.append((stamp_ns, item))

    def match(self, stamp_ns: int, tolerance_ns: int) -> Item | None:
        """The item with exactly ``stamp_ns``, else the nearest within ``tolerance_ns``, else None."""
        with self._lock:
            items = list(self._items)
        best, best_gap = None, None
        for stamp, item in items:
            gap = abs(stamp - stamp_ns)
            if gap == 0:
                return item
            if gap <= tolerance_ns and (best_gap is None or gap < best_gap):
                best, best_gap = item, gap
        return best

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
