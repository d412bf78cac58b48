"""Leases: how several workers share a table of work (the outbox, due work) without doing a
row twice or waiting for each other.

A worker claims rows by writing its name and a lease end into them, in one statement: on
PostgreSQL ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``, so
workers claiming at the same moment take different rows; SQLite has one writer, which
serialises claims anyway. A worker that stops hands its rows back; one that dies leaves them
until the lease runs out, and then what happens to them is the table's own business (due work
is handed back, a half-sent message is settled as unknown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, select, update
from sqlalchemy.orm import Session


def claim(
    tx: Session,
    table: Table,
    *,
    ready: ColumnElement[bool],
    order_by: Sequence[Any],
    size: int,
    worker: str,
    until: datetime,
    values: Mapping[str, Any] | None = None,
    returning: Sequence[Any] = (),
) -> list[Row[Any]]:
    """Take up to ``size`` rows that are ``ready`` (which must exclude rows already claimed),
    first by ``order_by``, for ``worker`` until ``until``, also setting ``values``; returns the
    claimed rows' id and ``returning`` columns."""
    statement = claim_statement(
        table,
        ready=ready,
        order_by=order_by,
        size=size,
        worker=worker,
        until=until,
        values=values,
        returning=returning,
    )
    return list(tx.execute(statement).all())


def claim_statement(
    table: Table,
    *,
    ready: ColumnElement[bool],
    order_by: Sequence[Any],
    size: int,
    worker: str,
    until: datetime,
    values: Mapping[str, Any] | None = None,
    returning: Sequence[Any] = (),
) -> Any:
    """The one statement ``claim`` runs (for its plan to be checked: ``order_by`` must be
    an index's order, or each claim sorts every ready row)."""
    due = (
        select(table.c.id)
        .where(ready)
        .order_by(*order_by)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    return (
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=until, **(values or {}))
        .returning(table.c.id, *returning)
    )


def release(
    tx: Session,
    table: Table,
    ids: Sequence[int],
    *,
    worker: str | None = None,
    where: ColumnElement[bool] | None = None,
    values: Mapping[str, Any] | None = None,
) -> int:
    """Hand claimed rows back (only ``worker``'s, if given); returns how many."""
    statement = update(table).where(table.c.id.in_(ids))
    if worker is not None:
        statement = statement.where(table.c.claimed_by == worker)
    if where is not None:
        statement = statement.where(where)
    result = tx.execute(
        statement.values(claimed_by=None, claimed_until=None, **(values or {})),
        execution_options={"preserve_rowcount": True},
    )
    return int(getattr(result, "rowcount", 0))


def lapsed(table: Table, now: datetime) -> ColumnElement[bool]:
    """Rows whose worker's lease ran out: it died or hung."""
    return table.c.claimed_until < now


def sweep(tx: Session, table: Table, now: datetime) -> int:
    """Hand back every row whose lease ran out; returns how many."""
    result = tx.execute(
        update(table).where(lapsed(table, now)).values(claimed_by=None, claimed_until=None),
        execution_options={"preserve_rowcount": True},
    )
    return int(getattr(result, "rowcount", 0))
