"""The suite's log scan catches what it is there to catch (and lets through what is fine)."""

from __future__ import annotations

import logging

from tests.logscan import LogScan


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("outreach.x", logging.WARNING, __file__, 1, message, args, None)


def test_numbers_bodies_and_sql_parameters_are_caught_and_ids_are_not() -> None:
    for message, args, what in [
        ("sending to %s", ("+447400123456",), "a phone number"),
        ("texted from 07400 123456", (), "a phone number"),
        ("to +33612345678", (), "an E.164 number"),
        ("form: Body=hello&From=x", (), "a webhook's body field"),
        ("[SQL: INSERT ...] [parameters: ('hi', 2)]", (), "SQL parameters"),
    ]:
        scan = LogScan()
        scan.emit(record(message, *args))
        assert what in {leak.what for leak in scan.leaks}, message
    fine = LogScan()
    for message in [
        "message 12345678901 failed: invalid number",
        "[SQL: INSERT INTO messages] [parameters: hidden due to hide_parameters=True]",
        "2026-11-23 18:00:00 outbox: 40 sent",
    ]:
        fine.emit(record(message))
    assert fine.leaks == []
