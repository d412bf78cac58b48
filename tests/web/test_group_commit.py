"""Inbound texts that arrive together are committed together, over real HTTP: fewer commits
than requests, each request answered only once its message is durable, and one message that
fails spoils none of the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, event, func, select, text

from outreach.store.database import Database
from outreach.store.models import Message
from tests.conftest import mobile
from tests.web.conftest import Site

POISON = "POISON"


@contextmanager
def commits_counted(db: Database) -> Iterator[list[float]]:
    """When each top-level commit of the web process's store happened (savepoints aside)."""
    seen: list[float] = []

    def count(_connection: Any) -> None:
        seen.append(time.monotonic())

    event.listen(db.engine, "commit", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", count)


@contextmanager
def writes_held(db: Database) -> Iterator[None]:
    """Hold the store's writers back while the block runs, so requests queue for them: the
    write lock on SQLite, the messages table on PostgreSQL."""
    with db.transaction() as tx:
        if db.dialect.name == "postgresql":
            tx.execute(text("LOCK TABLE messages IN EXCLUSIVE MODE"))
        yield


def text_all(site: Site, bodies: list[str], *, then: Any = None) -> list[httpx.Response]:
    """Each body texted by a different person at once; ``then(sid)`` runs as each answer
    arrives, before anything else happens in that sender's thread."""

    def one(n: int) -> httpx.Response:
        sid = f"SM{n:032d}"
        answer = site.text_in(mobile(200 + n), bodies[n], sid=sid)
        if then is not None:
            then(sid, answer)
        return answer

    with ThreadPoolExecutor(len(bodies)) as senders:
        return list(senders.map(one, range(len(bodies))))


def text_all_while_held(site: Site, bodies: list[str]) -> list[httpx.Response]:
    """``text_all``, sent while the writers are held back, so the requests queue for them."""
    with ThreadPoolExecutor(1) as background:
        with writes_held(site.runtime.db):
            sending = background.submit(text_all, site, bodies)
            time.sleep(1.5)  # every request reaches the queue while the writers wait
            assert not sending.done(), "answered while nothing could be written"
        return sending.result(timeout=60)


def stored(reader: Engine, sid: str) -> bool:
    with reader.connect() as connection:
        found = connection.scalar(
            select(func.count()).select_from(Message).where(Message.provider_id == sid)
        )
    return found == 1


def inbound_count(db: Database) -> int:
    with db.transaction() as tx:
        return tx.scalar(select(func.count()).where(Message.direction == "in")) or 0


def poison_messages(db: Database) -> None:
    """A message whose body is POISON cannot be stored: the database refuses it."""
    with db.transaction() as tx:
        if db.dialect.name == "postgresql":
            tx.execute(
                text(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN IF NEW.body = 'POISON' THEN RAISE EXCEPTION 'poisoned'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            tx.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                )
            )
        else:
            tx.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages "
                    "WHEN NEW.body = 'POISON' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
                )
            )


def test_texts_arriving_together_share_commits_and_are_all_stored(site: Site) -> None:
    db = site.runtime.db
    requests = 24
    with commits_counted(db) as commits:
        answers = text_all_while_held(site, ["JOIN"] * requests)
    assert [a.status_code for a in answers] == [200] * requests
    assert inbound_count(db) == requests
    assert 1 <= len(commits) <= requests // 3, f"{len(commits)} commits for {requests} texts"


def test_a_text_that_fails_spoils_none_of_those_committed_with_it(site: Site) -> None:
    db = site.runtime.db
    poison_messages(db)
    bodies = ["JOIN"] * 12
    bodies[5] = POISON
    with commits_counted(db) as commits:
        answers = text_all_while_held(site, bodies)
    assert [a.status_code for a in answers] == [500 if b == POISON else 200 for b in bodies]
    assert inbound_count(db) == len(bodies) - 1
    assert len(commits) < len(bodies) - 1, "the texts were not committed together"
    with db.transaction() as tx:
        assert tx.scalar(select(func.count()).where(Message.body == POISON)) == 0
    assert site.app.state.intake.spool.waiting() == 0  # a bad message is not an outage


def test_no_text_is_answered_before_the_commit_that_holds_it(site: Site) -> None:
    db = site.runtime.db
    # Another process's view of the store (no write lock of ours, no shared connection).
    reader = create_engine(db.url)
    early: list[str] = []
    lock = threading.Lock()

    def slow_commit(_connection: Any) -> None:
        time.sleep(0.05)  # a slow disk: an answer given before the commit would show

    def check(sid: str, answer: httpx.Response) -> None:
        if answer.status_code != 200 or not stored(reader, sid):
            with lock:
                early.append(sid)

    event.listen(db.engine, "commit", slow_commit)
    try:
        answers = text_all(site, ["JOIN"] * 16, then=check)
    finally:
        event.remove(db.engine, "commit", slow_commit)
        reader.dispose()
    assert [a.status_code for a in answers] == [200] * 16
    assert early == []


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_text_after_the_database_dropped_its_connections_is_stored_not_spooled(
    site: Site,
) -> None:
    db = site.runtime.db
    pids: set[int] = set()

    def note(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        pids.add(dbapi_connection.info.backend_pid)

    event.listen(db.engine.pool, "checkout", note)
    assert site.text_in(mobile(300), "JOIN", sid="SM" + "1" * 32).status_code == 200
    event.remove(db.engine.pool, "checkout", note)
    # As a restart does: the connections the web process used are gone, and it has not
    # noticed yet (it used them a moment ago, so nothing pings them).
    admin = create_engine(db.url)
    with admin.connect() as connection:
        for pid in pids:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    assert site.text_in(mobile(301), "JOIN", sid="SM" + "2" * 32).status_code == 200
    assert inbound_count(db) == 2
    assert site.app.state.intake.spool.waiting() == 0
