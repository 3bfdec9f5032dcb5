"""moto's long poll ends when a message becomes visible, as SQS's does (``local/moto_patches.py``, 5):
a timer (a message sent with ``DelaySeconds``) is delivered when it is due, not when the poll's own
wait runs out. Stock moto waits out the whole wait here: nothing notifies the queue when a delay or a
visibility timeout ends. The cheaper listing of receivable messages and retention check keep moto's
meaning.
"""

from __future__ import annotations

import threading

from local import moto_patches

moto_patches.apply()

from moto.sqs.models import Message, Queue, SQSBackend  # noqa: E402  (moto is imported after its version is checked)

LONG_WAIT_S = 600  # far longer than any delay here: the poll must end on the message, not on this


def _poll_in_background(queue: Queue) -> threading.Event:
    ended = threading.Event()

    def poll() -> None:
        queue.wait_for_messages(LONG_WAIT_S)
        ended.set()

    threading.Thread(target=poll, daemon=True).start()
    return ended


def test_a_long_poll_ends_when_a_delayed_message_becomes_due():
    queue = Queue("timers", "ap-southeast-1", "123456789012")
    timer = Message("timer-1", "ring timeout")
    timer.delay(1)
    queue.add_message(timer)
    assert queue.messages == []  # delayed: not visible yet

    ended = _poll_in_background(queue)

    assert ended.wait(timeout=30), "the poll waited past the message's due time"
    assert queue.messages == [timer]


def test_a_long_poll_ends_when_an_unanswered_message_becomes_visible_again():
    queue = Queue("timers", "ap-southeast-1", "123456789012")
    timer = Message("timer-2", "queue timeout")
    queue.add_message(timer)
    timer.mark_received(visibility_timeout=1)  # a handler took it and never deleted it
    assert queue.messages == []

    ended = _poll_in_background(queue)

    assert ended.wait(timeout=30), "the poll waited past the visibility timeout"
    assert queue.messages == [timer]


def test_only_visible_undelayed_messages_are_listed_for_receiving():
    queue = Queue("timers", "ap-southeast-1", "123456789012")
    ready, later, taken = Message("ready", "a"), Message("later", "b"), Message("taken", "c")
    later.delay(60)
    for message in (ready, later, taken):
        queue.add_message(message)
    taken.mark_received(visibility_timeout=60)

    assert queue.messages == [ready]
    assert [m.id for m in queue.messages] == [m.id for m in queue._messages if m.visible and not m.delayed]


def test_a_message_past_the_queues_retention_is_not_handed_out():
    backend = SQSBackend("ap-southeast-1", "123456789012")
    backend.create_queue("timers", MessageRetentionPeriod="60")
    fresh = backend.send_message("timers", "fresh")
    stale = backend.send_message("timers", "stale")
    stale.sent_timestamp -= 61_000  # sent 61 s ago: past the 60 s retention

    assert backend.is_message_valid_based_on_retention_period("timers", fresh)
    assert not backend.is_message_valid_based_on_retention_period("timers", stale)
