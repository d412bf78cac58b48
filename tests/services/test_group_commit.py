"""The group commit's writer threads, with a plain function for the store."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from outreach.services.group_commit import GroupCommit


def test_a_request_that_stops_waiting_is_written_and_the_writer_carries_on() -> None:
    written: list[str] = []
    hold = threading.Event()

    def write_all(items: Sequence[str]) -> list[str]:
        hold.wait(10)
        written.extend(items)
        return [item.upper() for item in items]

    writers = GroupCommit(write_all, threads=1)
    try:
        first, given_up = writers.submit("a"), writers.submit("b")
        assert not given_up.cancel()  # its client went away: the write goes on regardless
        hold.set()
        assert first.result(10) == "A"
        assert writers.submit("c").result(10) == "C"  # the writer thread is still alive
    finally:
        writers.close()
    assert written == ["a", "b", "c"]
