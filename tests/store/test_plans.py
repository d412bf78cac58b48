"""Hot queries keep their index under PostgreSQL's generic plans (the plan a prepared
statement settles on after five runs), as the store grows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from outreach.store import sessions
from outreach.store.database import Database


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_finding_a_persons_waiting_conversation_uses_its_partial_index(db: Database) -> None:
    sql = str(
        sessions._WAITING.params(contact_id=1).compile(
            dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True}
        )
    )
    prepared = re.sub(r"%\(contact_id\)s", "$1", sql)
    with db.transaction() as tx:
        tx.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        tx.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: say what is usable
        tx.execute(text(f"PREPARE waiting_plan(bigint) AS {prepared}"))
        plan = "\n".join(tx.scalars(text("EXPLAIN EXECUTE waiting_plan(1)")))
        tx.execute(text("DEALLOCATE waiting_plan"))
    assert "uq_sessions_waiting_contact" in plan, plan
