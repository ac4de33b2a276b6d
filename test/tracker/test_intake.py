"""The one-frame mailbox between the image callback and the tracker's worker thread."""

import threading

from spgrasp_ros.tracker.intake import LatestSlot


def test_newest_wins_and_replaced_frames_count_as_dropped():
    slot: LatestSlot[int] = LatestSlot()
    for k in range(5):
        slot.put(k)
    assert slot.take(timeout=0) == 4
    assert slot.take(timeout=0) is None
    assert slot.latest() == 4, "the newest frame stays available for prompts after it was taken"
    assert (slot.counts.received, slot.counts.taken, slot.counts.dropped) == (5, 1, 4)


def test_a_slow_consumer_never_sees_a_backlog():
    slot: LatestSlot[int] = LatestSlot()
    seen: list[int] = []
    done = threading.Event()

    def consume() -> None:
        while not done.is_set() or slot.latest() != (seen[-1] if seen else None):
            item = slot.take(timeout=0.01)
            if item is not None:
                seen.append(item)
                threading.Event().wait(0.002)  # slower than the producer

    worker = threading.Thread(target=consume)
    worker.start()
    for k in range(2000):
        slot.put(k)
    done.set()
    worker.join(timeout=10)
    assert seen == sorted(seen) and seen[-1] == 1999, "frames are taken in order and the last one is processed"
    assert slot.counts.dropped == 2000 - len(seen) and len(seen) < 2000


def test_close_wakes_a_waiting_consumer():
    slot: LatestSlot[int] = LatestSlot()
    result = []
    worker = threading.Thread(target=lambda: result.append(slot.take(timeout=30)))
    worker.start()
    slot.close()
    worker.join(timeout=5)
    assert not worker.is_alive() and result == [None]
    slot.reopen()
    slot.put(1)
    assert slot.take(timeout=0) == 1
