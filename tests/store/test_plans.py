"""Hot queries keep their index under PostgreSQL's generic plans (the plan a prepared
statement settles on after five runs), as the store grows; a batch's statements keep theirs
on SQLite too."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from outreach.channels.base import Inbound
from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.flows.engine import Engine
from outreach.settings import Settings
from outreach.store import contacts, due, rsvps, sessions
from outreach.store.database import Database
from tests.conftest import mobile


def generic_plan(
    db: Database,
    statement: Any,
    params: dict[str, Any],
    *,
    avoid: tuple[str, ...] = (),
    stored: bool = False,
) -> str:
    """The plan PostgreSQL would keep for ``statement`` prepared with ``params`` as its
    parameters (a batch's ids as one array, other lists one parameter an item, as
    SQLAlchemy sends them). ``stored``: the tables hold rows, and the plan is the one the
    planner picks for them (else sequential scans are ruled out, to say what is usable)."""
    compiled = statement.compile(dialect=postgresql.dialect())
    expanded = compiled.construct_expanded_state(params)
    sql = expanded.statement
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
    for n, name in enumerate(names, start=1):
        sql = sql.replace(f"%({name})s", f"${n}")
    values = ", ".join(_literal(expanded.parameters[name]) for name in names)
    with db.transaction() as tx:
        tx.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        if not stored:
            tx.execute(text("SET LOCAL enable_seqscan = off"))
        for step in avoid:  # and what it could do without
            tx.execute(text(f"SET LOCAL enable_{step} = off"))
        tx.execute(text(f"PREPARE hot_plan AS {sql}"))
        plan = "\n".join(tx.scalars(text(f"EXPLAIN EXECUTE hot_plan({values})")))
        tx.execute(text("DEALLOCATE hot_plan"))
    return plan


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return f"ARRAY{value!r}::bigint[]"
    return f"'{value.isoformat()}'" if isinstance(value, datetime) else repr(value)


class _Sent(Exception):
    """What SQLAlchemy was about to send, caught before it was run."""

    def __init__(self, sql: str, parameters: Any) -> None:
        self.sql, self.parameters = sql, parameters


def sqlite_plan(db: Database, statement: Executable, params: dict[str, Any]) -> list[str]:
    """SQLite's plan for ``statement`` as SQLAlchemy sends it (types' processing applied)."""

    def catch(_c: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if not sql.startswith("BEGIN"):  # the store's own transaction start comes first
            raise _Sent(sql, parameters)

    with db.engine.connect() as connection:
        event.listen(connection, "before_cursor_execute", catch)
        try:
            connection.execute(statement, params)
        except Exception as exc:  # SQLAlchemy wraps it
            sent = exc if isinstance(exc, _Sent) else exc.__cause__ or exc.__context__
        event.remove(connection, "before_cursor_execute", catch)
        assert isinstance(sent, _Sent), sent
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sent.sql}", sent.parameters)
        return [detail for *_, detail in rows]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_finding_a_persons_waiting_conversation_uses_its_partial_index(db: Database) -> None:
    plan = generic_plan(db, sessions._WAITING.statement, {"contact_id": 1})
    assert "uq_sessions_waiting_contact" in plan, plan


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_claiming_due_work_takes_the_first_rows_of_an_index_not_a_sort_of_all(
    db: Database,
) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    statement = due.claim_statement(
        kinds=["start", "reminder"], worker="w", now=now, lease=timedelta(minutes=2), size=1000
    )
    plan = generic_plan(db, statement, {}, avoid=("sort", "bitmapscan"))
    assert "ix_due_work_due_at_id" in plan, plan
    assert "Sort" not in plan, plan


HOT_BATCH_QUERIES: list[tuple[str, Executable, dict[str, Any], tuple[str, ...]]] = [
    (
        "a batch's waiting conversations",
        sessions._WAITING_MANY,
        {"contact_ids": [1, 2, 3]},
        ("uq_sessions_waiting_contact",),
    ),
    ("a batch's due rows", due._ITEMS, {"due_ids": [1, 2, 3]}, ("pk_due_work",)),
    ("a batch's due rows, unlocked", due._PEEK, {"due_ids": [1, 2, 3]}, ("pk_due_work",)),
    ("a batch's conversations", sessions._BY_IDS, {"session_ids": [1, 2, 3]}, ("pk_sessions",)),
    ("a batch's due rows done", due._DELETE_MANY, {"due_ids": [1, 2, 3]}, ("pk_due_work",)),
    (
        "a batch's timers cancelled",
        due._DELETE_SESSIONS,
        {"session_ids": [1, 2, 3]},
        ("ix_due_work_session_id",),
    ),
    (
        "a batch's people locked, with their addresses",
        contacts._BY_IDS,
        {"keys": [1, 2, 3], "prefer": ["tel"]},
        ("pk_contacts", "ix_contact_addresses_contact_id"),
    ),
    ("a batch's tags", contacts._TAGS_OF, {"contact_ids": [1, 2, 3]}, ("pk_contact_tags",)),
    (
        "a batch's RSVPs",
        rsvps._STATUSES,
        {"event_id": "bc", "contact_ids": [1, 2, 3]},
        ("uq_rsvps_event_id_contact_id",),
    ),
]


@pytest.mark.parametrize(
    ("what", "statement", "params", "indexes"),
    HOT_BATCH_QUERIES,
    ids=[what for what, *_ in HOT_BATCH_QUERIES],
)
def test_a_batch_of_flow_starts_reads_and_writes_through_indexes(
    db: Database,
    what: str,
    statement: Executable,
    params: dict[str, Any],
    indexes: tuple[str, ...],
) -> None:
    if db.engine.dialect.name == "sqlite":
        # A batch's ids arrive as one JSON parameter, read by json_each; each of the batch's
        # rows is then looked up, never a table read through (a boolean written "= 1" once
        # did that).
        steps = sqlite_plan(db, statement, params)
        scans = [step for step in steps if step.startswith("SCAN") and "json_each" not in step]
        assert not scans, f"{what}:\n" + "\n".join(steps)
        return
    plan = generic_plan(db, statement, params)
    for index in indexes:
        assert index in plan, f"{what}:\n{plan}"


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_batch_of_people_is_locked_without_reading_everyones_address_after_an_import(
    db: Database,
) -> None:
    # Rows just imported, the statistics not yet brought up to date: a join to the chosen
    # address was planned as a hash of every address, read again for every batch.
    with db.transaction() as tx:
        tx.execute(
            text(
                "INSERT INTO contacts (language, timezone, fields, opted_out, created_at,"
                " updated_at) SELECT 'en', 'Europe/London', '{}', false, now(), now()"
                " FROM generate_series(1, 50000)"
            )
        )
        tx.execute(
            text(
                "INSERT INTO contact_addresses (contact_id, scheme, address, created_at)"
                " SELECT id, 'tel', '+4477' || id, now() FROM contacts"
            )
        )
    keys = list(range(1, 501))
    plan = generic_plan(db, contacts._BY_IDS, {"keys": keys, "prefer": ["tel"]}, stored=True)
    assert "Seq Scan on contact_addresses" not in plan, plan
    assert "Hash" not in plan, plan


def sent_plan(tx: Session, statement: str) -> str:
    """The plan PostgreSQL settles on for ``statement`` (as psycopg is handed it) once it
    plans it generically, as it does for a prepared statement run often, whatever the values."""
    numbers: dict[str, str] = {}

    def number(found: re.Match[str]) -> str:
        return numbers.setdefault(found[1], f"${len(numbers) + 1}")

    prepared = re.sub(r"%\((\w+)\)s", number, statement).replace("%%", "%")
    tx.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    tx.execute(text("SET LOCAL enable_seqscan = off"))  # small tables: say what is usable
    tx.execute(text("PREPARE hot AS " + prepared.replace(":", r"\:")))
    values = f"({', '.join('NULL' for _ in numbers)})" if numbers else ""
    plan = "\n".join(tx.scalars(text(f"EXPLAIN EXECUTE hot{values}")))
    tx.execute(text("DEALLOCATE hot"))
    return plan


def indexed(plan: str) -> bool:
    """Whether every table ``plan`` reads is reached through an index condition: no
    sequential scan, and no index walked whole with a filter (a scan in another form)."""
    nodes = re.split(r"\n\s*->", plan)
    for node in nodes:
        if "Seq Scan" in node:
            return False
        if re.search(r"Index (Only )?Scan", node) and "Index Cond" not in node:
            return False
    return True


# What people text, in order, to walk the receive path's branches: a new person, replies to
# waiting questions, a message with nothing waiting, STOP and a message after it.
CONVERSATION = ["JOIN", "Ann", "1", "voucher", "yes", "what time is it", "STOP", "hi"]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_every_query_of_receiving_a_text_uses_an_index_under_generic_plans(
    db: Database, engine: Engine, settings: Settings, t0: datetime
) -> None:
    conversations = Conversations(db, engine, settings=settings, clock=ManualClock(t0))
    seen: dict[str, None] = {}

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            seen.setdefault(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        for n, body in [*enumerate(CONVERSATION), (0, "JOIN")]:  # the last: a repeated webhook
            conversations.receive_all([Inbound("tel", mobile(40), body, f"SM{n:032d}")])
            conversations.receive_all(  # two at once: a group commit's own path
                [
                    Inbound("tel", mobile(41), body, f"SMa{n:031d}"),
                    Inbound("tel", mobile(42), body, f"SMb{n:031d}"),
                ]
            )
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(seen) >= 8, list(seen)

    scans = {}
    with db.transaction() as tx:
        for statement in seen:
            plan = sent_plan(tx, statement)
            if not indexed(plan):
                scans[statement] = plan
    assert not scans, "\n\n".join(f"{s}\n{p}" for s, p in scans.items())
