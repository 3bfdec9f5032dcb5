"""``vkyc.once.once``: the functions' services are built once, even when the first events arrive
together on several threads."""

from __future__ import annotations

import threading

import pytest

from vkyc.once import once


def test_concurrent_first_callers_share_one_build():
    started, release = threading.Event(), threading.Event()
    builds: list[object] = []

    @once
    def graph() -> object:
        started.set()
        release.wait(5)
        builds.append(object())
        return builds[-1]

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(graph())) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert started.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(builds) == 1 and got == builds * 8


def test_a_failed_build_is_tried_again():
    attempts: list[int] = []

    @once
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the table is not there yet")
        return 42

    with pytest.raises(RuntimeError):
        flaky()
    assert flaky() == 42 and flaky() == 42 and len(attempts) == 2
