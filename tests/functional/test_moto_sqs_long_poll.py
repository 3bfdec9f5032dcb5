"""moto's long poll ends when a message becomes visible, as SQS's does (``local/moto_patches.py``, 4):
a timer (a message sent with ``DelaySeconds``) is delivered when it is due, not when the poll's own
wait runs out. Stock moto waits out the whole wait here: nothing notifies the queue when a delay or a
visibility timeout ends.
"""

from __future__ import annotations

import threading

from local import moto_patches

moto_patches.apply()

from moto.sqs.models import Message, Queue  # noqa: E402  (moto is imported after its version is checked)

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
