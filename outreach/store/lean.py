"""The receive path's statements, run on the driver's cursor.

Every webhook runs the same handful of statements (a person's lock, their new contact,
session, messages, outbox row and timer). Executed through SQLAlchemy, each costs 80-100 µs
of Python beyond the driver's own work: an execution context, a result object, its metadata
(measured for an INSERT into ``messages``: 107-130 µs against 33-42 µs on SQLite, 210 µs
against 105-130 µs on PostgreSQL). That was a fifth of the web process's time per message.

So these statements are compiled by SQLAlchemy, once per database and set of columns, and run
on the DBAPI cursor of the caller's connection, inside its transaction. The SQL and every
stored value are still SQLAlchemy's: each value goes through its column type's own bind
processor and each result through its result processor, as SQLAlchemy would do. Only the
per-call machinery is skipped. Errors go to SQLAlchemy's own handling: they arrive wrapped
(``IntegrityError`` and the rest), and a dropped connection invalidates the pool as any
statement's would. ``before_cursor_execute`` listeners still see each statement.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as one database's driver takes it."""

    sql: str
    positional: tuple[str, ...] | None  # the parameters' order, for "?" placeholders
    binds: tuple[tuple[str, str, Processor], ...]  # (in the SQL, in the caller's values, ...)
    # What the caller may leave out: columns' defaults, values the statement carries (LIMIT 1)
    defaults: tuple[tuple[str, Callable[[], Any]], ...]
    row: Any  # a namedtuple class for the rows, or None if nothing is returned
    results: tuple[Processor, ...]


class Lean:
    """One Core statement (an insert, update, delete or select, with or without CTEs) run
    on the driver's cursor. What it cannot run as SQLAlchemy would (expanding ``IN``
    parameters, literals rendered at execution, escaped parameter names) is refused when it
    is first compiled; a call outside a transaction is refused every time."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """The rows it returns (named tuples: ``row.id``)."""
        compiled = self._compile(connection, params)
        rows = self._run(connection, compiled, params)
        if compiled.row is None:
            return []
        processors = compiled.results
        if any(processors):
            rows = [
                [p(v) if p is not None else v for p, v in zip(processors, r, strict=True)]
                for r in rows
            ]
        return [compiled.row._make(r) for r in rows]

    def one(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.rows(connection, params)
        if len(rows) != 1:
            raise LookupError(f"expected one row, got {len(rows)}")
        return rows[0]

    def first(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.rows(connection, params)
        return rows[0] if rows else None

    def scalar(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        return self.one(connection, params)[0]

    def run(self, connection: Connection, params: Mapping[str, Any]) -> None:
        """Run it for its effect."""
        self._run(connection, self._compile(connection, params), params)

    def _run(
        self, connection: Connection, compiled: _Compiled, params: Mapping[str, Any]
    ) -> list[Any]:
        if not connection.in_transaction():
            raise RuntimeError("a lean statement runs inside the caller's transaction")
        values = dict(params)
        for name, make in compiled.defaults:
            if name not in values:
                values[name] = make()
        bound = {name: p(values[key]) if p else values[key] for name, key, p in compiled.binds}
        order = compiled.positional
        args: Any = bound if order is None else [bound[name] for name in order]
        cursor = connection.connection.cursor()
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, cursor, compiled.sql, args, None, False)
        dbapi_error = connection.dialect.loaded_dbapi.Error
        try:
            cursor.execute(compiled.sql, args)
            rows = list(cursor.fetchall()) if compiled.row is not None else []
        except dbapi_error as exc:
            # Wrapped as SQLAlchemy wraps it; a lost connection invalidates the pool.
            connection._handle_dbapi_exception(exc, compiled.sql, args, cursor, None)
        return rows

    def _compile(self, connection: Connection, params: Mapping[str, Any]) -> _Compiled:
        key = (connection.dialect.name, tuple(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = _compile(self.statement, connection, list(params))
        return found


def _compile(statement: ClauseElement, connection: Connection, keys: Sequence[str]) -> _Compiled:
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    if (
        any(b.expanding for b in compiled.binds.values())
        or compiled.escaped_bind_names
        or compiled.literal_execute_params
    ):
        raise ValueError(
            "a lean statement takes plain parameters only (no IN lists, no literals rendered "
            "at execution: write those with literal_column)"
        )
    binds = tuple(
        (name, bind.key, bind.type.dialect_impl(dialect).bind_processor(dialect))
        for bind, name in compiled.bind_names.items()
    )
    prefetch = {column.key: _default_of(column) for column in compiled.insert_prefetch}
    carried = {
        bind.key: _value_of(bind)
        for bind in compiled.bind_names
        if bind.key not in keys and bind.key not in prefetch and not bind.required
    }
    defaults = tuple({**carried, **prefetch}.items())
    exported = list(getattr(statement, "exported_columns", ()))
    writes = compiled.isinsert or compiled.isupdate or compiled.isdelete
    returns = bool(exported) and (bool(compiled.returning) if writes else True)
    row = namedtuple("Row", [c.key for c in exported]) if returns else None
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in exported)
    return _Compiled(
        sql=str(compiled),
        positional=tuple(compiled.positiontup or ()) if compiled.positional else None,
        binds=binds,
        defaults=defaults,
        row=row,
        results=results if returns else (),
    )


def _value_of(bind: Any) -> Callable[[], Any]:
    """A value the statement carries (``.limit(1)``'s 1), as SQLAlchemy would send it."""
    return bind.callable if bind.callable is not None else lambda: bind.value


def _default_of(column: Any) -> Callable[[], Any]:
    """A column's Python-side default, as SQLAlchemy would fill it in."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        raise ValueError(f"{column.key}: give a value (its default is not a plain one)")
    if default.is_scalar:
        return lambda: default.arg
    return lambda: default.arg(None)
