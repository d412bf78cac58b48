"""Personal data, found from the marks on the models: what a subject access export reads and
what erasure clears.

Columns marked ``PERSONAL`` (or ``personal(...)``) are cleared on erasure, in every table; rows
of tables marked ``PERSONAL_ROWS`` are deleted. Every table that refers to a contact is
exported. Nothing here lists columns by name, so a new personal column is covered as soon as
it is marked; ``tests/services/test_personal_data.py`` checks that erasure leaves none behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, and_, delete, select, update

from outreach.store.models import Base

contacts = Base.metadata.tables["contacts"]


def personal_columns(table: Table) -> Iterator[tuple[Column[Any], Any, tuple[str, str] | None]]:
    """Each personal column of ``table``, with the value erasure leaves and its condition."""
    for column in table.columns:
        mark = column.info.get("personal")
        if mark is not None:
            yield column, mark.get("erased"), mark.get("only_if")


def about_a_contact() -> Iterator[Table]:
    """Every table whose rows belong to one contact (they have a ``contact_id``)."""
    for table in Base.metadata.sorted_tables:
        if "contact_id" in table.c and any(
            fk.column.table is contacts for fk in table.c.contact_id.foreign_keys
        ):
            yield table


def export(connection: Connection, contact_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row held about the contact, table by table (the contact's own row included)."""
    data = {"contacts": _rows(connection, select(contacts).where(contacts.c.id == contact_id))}
    for table in about_a_contact():
        query = select(table).where(table.c.contact_id == contact_id)
        if "id" in table.c:
            query = query.order_by(table.c.id)
        data[table.name] = _rows(connection, query)
    return data


def erase(connection: Connection, contact_id: int) -> None:
    """Clear every personal column held about the contact and delete their personal rows."""
    _clear(connection, contacts, contacts.c.id == contact_id)
    for table in about_a_contact():
        mine = table.c.contact_id == contact_id
        if table.info.get("personal_rows"):
            connection.execute(delete(table).where(mine))
        else:
            _clear(connection, table, mine)


def _clear(connection: Connection, table: Table, mine: Any) -> None:
    by_condition: dict[tuple[str, str] | None, dict[str, Any]] = {}
    for column, erased, only_if in personal_columns(table):
        by_condition.setdefault(only_if, {})[column.key] = erased
    for only_if, values in by_condition.items():
        where = mine if only_if is None else and_(mine, table.c[only_if[0]] == only_if[1])
        connection.execute(update(table).where(where).values(**values))


def _rows(connection: Connection, query: Any) -> list[dict[str, Any]]:
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row._mapping.items()}
        for row in connection.execute(query)
    ]
