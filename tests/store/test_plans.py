"""Hot queries keep their index under PostgreSQL's generic plans (the plan a prepared
statement settles on after five runs), as the store grows."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from outreach.channels.base import Inbound
from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.flows.engine import Engine
from outreach.settings import Settings
from outreach.store import sessions
from outreach.store.database import Database
from tests.conftest import mobile


def generic_plan(tx: Session, statement: str) -> str:
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


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_finding_a_persons_waiting_conversation_uses_its_partial_index(db: Database) -> None:
    sql = str(
        sessions._WAITING.params(contact_id=1).compile(
            dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True}
        )
    )
    with db.transaction() as tx:
        plan = generic_plan(tx, sql)
    assert "uq_sessions_waiting_contact" in plan, plan


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
            plan = generic_plan(tx, statement)
            if not indexed(plan):
                scans[statement] = plan
    assert not scans, "\n\n".join(f"{s}\n{p}" for s, p in scans.items())
