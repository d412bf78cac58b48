"""Every log line the test suite makes, scanned at the end for what must never be logged:
phone numbers, message bodies, SQL statement parameters.

A handler on the root logger keeps each record's rendered text (and traceback) for the whole
run; ``pytest_sessionfinish`` scans them and fails the run, naming the logger and test, if one
holds a number in any written form, a form field of a provider's webhook, or the parameters
SQLAlchemy prints when ``hide_parameters`` is off.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pytest

FORBIDDEN = {
    "a phone number": re.compile(r"(?<![\w+])(?:\+|00)?44\s?7\d{3}\s?\d{6}\b|\b07\d{3}\s?\d{6}\b"),
    "an E.164 number": re.compile(r"(?<![\w])\+[1-9]\d{9,14}\b"),
    "a webhook's body field": re.compile(r"\bBody=|['\"]body['\"]\s*:\s*['\"][^'\"]"),
    "SQL parameters": re.compile(r"\[parameters: (?!hidden)"),
}


@dataclass
class Leak:
    test: str
    logger: str
    what: str


class LogScan(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.test = "(collection)"
        self.leaks: list[Leak] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot render is not ours to fix here
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        for what, pattern in FORBIDDEN.items():
            if pattern.search(text):
                self.leaks.append(Leak(self.test, record.name, what))


SCAN = LogScan()


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(SCAN)
    logging.getLogger().setLevel(logging.INFO)  # what production logs


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    SCAN.test = item.nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not SCAN.leaks:
        return
    lines = sorted({f"{leak.test}: {leak.logger} logged {leak.what}" for leak in SCAN.leaks})
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "personal data or SQL parameters in the logs", red=True)
        for line in lines[:50]:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
