"""The worker's intake: the one-frame mailbox (LatestSlot) and the bounded prompt FIFO (PromptQueue)."""

import threading

from spgrasp_ros.tracker.intake import LatestSlot, PromptQueue


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


def test_prompts_are_answered_in_order_and_none_is_replaced():
    queue: PromptQueue[str] = PromptQueue(max_pending=3)
    tickets = [queue.submit(name) for name in ("a", "b", "c")]
    assert len(queue) == 3 and not any(t.done() for t in tickets)
    order = []
    while (ticket := queue.take(timeout=0)) is not None:
        order.append(ticket.item)
        ticket.finish(ticket.item.upper())
    assert order == ["a", "b", "c"]
    assert [t.answer for t in tickets] == ["A", "B", "C"] and all(t.refusal is None for t in tickets)


def test_a_full_queue_refuses_at_once_and_accepts_again_when_one_is_taken():
    queue: PromptQueue[int] = PromptQueue(max_pending=2)
    first, second = queue.submit(1), queue.submit(2)
    third = queue.submit(3)
    assert third.wait(timeout=0), "refused at once, not after a wait"
    assert third.refusal and "2 prompts are already waiting" in third.refusal and third.answer is None
    assert not first.done() and not second.done() and len(queue) == 2
    assert queue.take(timeout=0) is first
    fourth = queue.submit(4)
    assert not fourth.done() and [queue.take(timeout=0).item, queue.take(timeout=0).item] == [2, 4]


def test_close_refuses_every_waiting_prompt_and_later_ones_until_reopened():
    queue: PromptQueue[int] = PromptQueue(max_pending=4)
    running = queue.submit(0)
    assert queue.take(timeout=0) is running
    waiting = [queue.submit(k) for k in (1, 2)]
    assert queue.close("node deactivating") == 2
    assert all(t.done() and t.refusal == "node deactivating" for t in waiting)
    assert not running.done(), "the one being applied is answered by the worker, not by close"
    late = queue.submit(3, closed_reason="node inactive")
    assert late.done() and late.refusal == "node inactive"
    assert queue.take(timeout=0) is None and len(queue) == 0
    queue.reopen()
    again = queue.submit(4)
    assert not again.done() and queue.take(timeout=0) is again


def test_a_cancelled_prompt_is_never_handed_to_the_worker():
    queue: PromptQueue[str] = PromptQueue()
    gave_up, kept = queue.submit("late"), queue.submit("next")
    assert queue.cancel(gave_up, "timed out")
    assert gave_up.done() and gave_up.refusal == "timed out"
    assert queue.take(timeout=0) is kept, "the worker skips the cancelled one"
    assert not queue.cancel(kept, "timed out"), "one the worker holds is not cancelled: it is being applied"
    assert kept.refusal is None and not kept.done()


def test_close_wakes_a_worker_waiting_for_prompts_and_a_submit_wakes_it_too():
    queue: PromptQueue[int] = PromptQueue()
    taken = []
    worker = threading.Thread(target=lambda: taken.append(queue.take(timeout=30)))
    worker.start()
    queue.submit(7)
    worker.join(timeout=5)
    assert not worker.is_alive() and [t.item for t in taken] == [7]
    worker = threading.Thread(target=lambda: taken.append(queue.take(timeout=30)))
    worker.start()
    queue.close("stopping")
    worker.join(timeout=5)
    assert not worker.is_alive() and taken[-1] is None


def test_take_newest_hands_a_waiting_frame_over_once_and_says_whether_it_was_new():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.take_newest() == (None, False)
    slot.put(1)
    slot.put(2)
    assert slot.take_newest() == (2, True), "waiting: taken with it (a prompt processes and publishes it)"
    assert slot.take(timeout=0) is None, "not handed out a second time"
    assert slot.take_newest() == (2, False), "already taken: still the newest, but not new"
    assert (slot.counts.received, slot.counts.taken, slot.counts.dropped) == (2, 1, 1)
