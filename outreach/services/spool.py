"""Webhooks kept on local disk while the database is unreachable, and replayed in order.

Twilio does not send an inbound SMS again when our webhook fails: a 5xx while the database
restarts would lose what a person said. So a web process that cannot reach the database
writes the webhook, as the channel read it, to a file in ``OUTREACH_SPOOL_DIR`` (appended
and synced to disk before Twilio hears "received"), and a background task replays the file
through the same services once the database answers, as RapidPro's courier does with Redis.

Order and once-only: while anything waits in the spool, new webhooks join the queue behind
it instead of overtaking it, so a person's messages are handled in the order they came; a
replay that stops half-way (the database went away again, or the process died) is repeated
from its start, and the provider's message id makes the repeats no-ops. An entry that fails
for another reason (a bug, not an outage) is set aside in ``failed-*.jsonl`` for a person to
look at, instead of blocking everything behind it.

The files hold message bodies and numbers: the directory is made readable by its owner
only, and entries leave it as soon as they are in the store.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from filelock import FileLock, Timeout

from outreach.channels.base import DeliveryReport, Inbound
from outreach.conversations.service import Received
from outreach.store.database import unreachable, worth_retrying

log = logging.getLogger(__name__)
T = TypeVar("T")

QUEUE = "inbound.jsonl"  # appended to by every web process of this machine
REPLAYING = "replay-"  # a queue taken for replay: replay-<ns>.jsonl, oldest first
FAILED = "failed-"


@dataclass(frozen=True)
class Spooled:
    """One webhook as a channel read it: a person's message, or a delivery report."""

    kind: Literal["message", "status"]
    channel: str
    fields: dict[str, Any]

    @classmethod
    def message(cls, channel: str, inbound: Inbound) -> Spooled:
        return cls("message", channel, asdict(inbound))

    @classmethod
    def status(cls, channel: str, report: DeliveryReport) -> Spooled:
        return cls("status", channel, asdict(report))

    def inbound(self) -> Inbound:
        return Inbound(**self.fields)

    def report(self) -> DeliveryReport:
        return DeliveryReport(**self.fields)


class Spool:
    """The spool directory of one machine's web processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def waiting(self) -> int:
        """How many webhooks wait to be replayed (0 costs one directory listing)."""
        files = self._files()
        if not files:
            return 0
        return sum(_count_lines(path) for path in files)

    def has_waiting(self) -> bool:
        return bool(self._files())

    def writable(self) -> bool:
        """True if webhooks could be kept here now."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self.directory, os.W_OK)

    def add(self, *entries: Spooled) -> None:
        """Append ``entries`` and sync them to disk: once this returns, they survive a crash."""
        lines = "".join(
            json.dumps({"kind": entry.kind, "channel": entry.channel, **entry.fields}) + "\n"
            for entry in entries
        )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock, FileLock(self.directory / ".queue.lock"):
            fd = os.open(self.directory / QUEUE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, lines.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def replay(self, handle: Callable[[Spooled], object]) -> int:
        """Hand every waiting entry to ``handle``, oldest first; returns how many were handled.

        Stops (keeping the rest) when the database is unreachable again; one process replays
        at a time, and another's call returns 0 at once.
        """
        if not self.directory.is_dir():
            return 0
        try:
            with FileLock(self.directory / ".replay.lock", timeout=0):
                self._take_queue()
                handled = 0
                for path in sorted(self.directory.glob(f"{REPLAYING}*.jsonl")):
                    done, finished = self._replay_file(path, handle)
                    handled += done
                    if not finished:
                        break
                return handled
        except Timeout:
            return 0

    def _take_queue(self) -> None:
        """Move the queue aside for replay, so new entries start a queue of their own."""
        with self._lock, FileLock(self.directory / ".queue.lock"):
            queue = self.directory / QUEUE
            if queue.exists():
                queue.rename(self.directory / f"{REPLAYING}{time.time_ns():020d}.jsonl")

    def _replay_file(self, path: Path, handle: Callable[[Spooled], object]) -> tuple[int, bool]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            entry = _parse(line)
            if entry is None:
                self._set_aside(path, line, "unreadable")
                continue
            try:
                handle(entry)
            except Exception as exc:
                if unreachable(exc):
                    _rewrite(path, lines[index:])
                    return index, False
                log.exception("a spooled %s could not be handled: set aside", entry.kind)
                self._set_aside(path, line, type(exc).__name__)
        path.unlink()
        return len(lines), True

    def _set_aside(self, path: Path, line: str, reason: str) -> None:
        failed = self.directory / f"{FAILED}{path.stem.removeprefix(REPLAYING)}.jsonl"
        fd = os.open(failed, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, json.dumps({"reason": reason, "line": line}).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def _files(self) -> list[Path]:
        try:
            with os.scandir(self.directory) as entries:
                return [Path(e.path) for e in entries if _queued(e.name)]
        except FileNotFoundError:
            return []


def _queued(name: str) -> bool:
    return name == QUEUE or (name.startswith(REPLAYING) and name.endswith(".jsonl"))


def _parse(line: str) -> Spooled | None:
    try:
        fields = json.loads(line)
        kind, channel = fields.pop("kind"), fields.pop("channel")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if kind not in ("message", "status"):
        return None
    return Spooled(kind, channel, fields)


def _rewrite(path: Path, lines: list[str]) -> None:
    """Keep only ``lines`` in ``path``, replaced whole so a crash leaves one or the other."""
    partial = path.with_suffix(".partial")
    partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with partial.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, path)


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


class Intake:
    """Webhooks into the store through the services, or into the spool while it is away.

    A connection the database dropped since it was last used (a restart) fails the first
    statement sent on it; SQLAlchemy then drops every connection of the pool older than that
    error, so the webhook is tried once more, on a fresh connection, before it is spooled.
    This replaces a ping before every transaction (a round trip per webhook). A batch of texts
    that lost a deadlock to another writer's batch (two people's rows locked in turn, an
    event's row among them) is tried once more too, rather than taken for an outage.
    """

    def __init__(
        self,
        spool: Spool,
        receive: Callable[[Inbound], Received],
        record_delivery: Callable[[str, DeliveryReport], bool],
        *,
        receive_all: Callable[[Sequence[Inbound]], Sequence[object]],
    ) -> None:
        self.spool = spool
        self._receive = receive
        self._receive_all = receive_all
        self._record_delivery = record_delivery

    def messages(self, batch: Sequence[tuple[str, Inbound]]) -> list[Exception | None]:
        """People's messages, written together (a group commit, see
        ``outreach.services.group_commit``): for each, None once it is durable, in the store
        or in the spool, or the error that failed it alone."""
        entries = [Spooled.message(channel, inbound) for channel, inbound in batch]
        if not self.spool.has_waiting():  # else behind what waits, never ahead of it
            inbounds = [inbound for _, inbound in batch]
            try:
                outcomes = _again_if_worth_it(lambda: self._receive_all(inbounds))
            except Exception as exc:
                if not unreachable(exc):
                    raise
                log.warning("the database is unreachable: %d message(s) spooled", len(entries))
            else:
                return [o if isinstance(o, Exception) else None for o in outcomes]
        self.spool.add(*entries)
        return [None] * len(entries)

    def message(self, channel: str, inbound: Inbound) -> Received | None:
        """One person's message on its own (a Slack DM or press, which Slack was told of
        before it is handled): what became of it, or None if it was spooled."""
        return self._take(Spooled.message(channel, inbound), lambda: self._receive(inbound))

    def status(self, channel: str, report: DeliveryReport) -> bool | None:
        """A delivery report; False if it matches no message of ours, None if spooled."""
        return self._take(
            Spooled.status(channel, report), lambda: self._record_delivery(channel, report)
        )

    def replay(self) -> int:
        """Handle what waits in the spool, oldest first (see ``Spool.replay``)."""
        return self.spool.replay(self.handle)

    def handle(self, entry: Spooled) -> bool | None:
        if entry.kind == "status":
            return self._record_delivery(entry.channel, entry.report())
        self._receive(entry.inbound())
        return None

    def _take(self, entry: Spooled, work: Callable[[], T]) -> T | None:
        """``work()`` (which handles ``entry``), or ``entry`` spooled: when something waits
        there already, or the database is unreachable."""
        if self.spool.has_waiting():  # behind what waits, never ahead of it
            self.spool.add(entry)
            return None
        try:
            return _again_if_worth_it(work)
        except Exception as exc:
            if not unreachable(exc):
                raise
            log.warning("the database is unreachable: a %s webhook is spooled", entry.kind)
            self.spool.add(entry)
            return None


def _again_if_worth_it(work: Callable[[], T]) -> T:
    """``work()``, once more if it failed in a way worth retrying (a dropped connection, a lost
    deadlock: ``worth_retrying``); nothing of it was stored, or a repeat is a no-op, as
    webhooks are keyed by the provider's id."""
    try:
        return work()
    except Exception as exc:
        if not worth_retrying(exc):
            raise
    return work()
