"""The one place that knows SQLite from PostgreSQL; everything else asks a ``Dialect``.

SQLite is set up the way a small server needs it: WAL (readers do not block the writer), a busy
timeout instead of instant "database is locked" errors, foreign keys enforced, and every
transaction begun IMMEDIATE, so two writers queue for the lock at the start instead of
deadlocking halfway through. Its one writer also means one writer thread per web process and
a process-wide lock in front of transactions. PostgreSQL can write from several data-modifying
CTEs in one statement (a round trip saved on the hot path) and takes several writers at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_dumps
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.engine import Dialect as SADialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine

from outreach.errors import BatchRefused

SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True, slots=True)
class Dialect:
    """What the rest of the store may ask of the database it runs on."""

    name: str
    writes_in_ctes: bool  # INSERT ... RETURNING inside a WITH: several writes, one round trip
    one_writer: bool  # writes queue for one lock (SQLite): serialise them in-process
    writer_threads: int  # threads a web process gives to webhook writes
    # Threads a worker gives to due work: on PostgreSQL one batch's rows are stored while
    # the next batch's flows are worked out; SQLite's one writer would only queue them.
    due_threads: int = 1

    def insert(self, table: Table) -> PgInsert | SqliteInsert:
        """An INSERT with this database's ``ON CONFLICT`` clauses available."""
        if self.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


POSTGRESQL = Dialect(
    "postgresql", writes_in_ctes=True, one_writer=False, writer_threads=2, due_threads=2
)
SQLITE = Dialect("sqlite", writes_in_ctes=False, one_writer=True, writer_threads=1)


def dialect_of(bind: Engine | Connection) -> Dialect:
    return POSTGRESQL if bind.dialect.name == "postgresql" else SQLITE


def stores_naive_times(dialect: SADialect) -> bool:
    """SQLite has no time zones: times go in as naive UTC (``UTCDateTime`` adds it back)."""
    return dialect.name == "sqlite"


def dump_json(value: Any) -> str:
    """A JSON column's text: by orjson, several times quicker than the standard library (a
    flow start writes a handful of documents a person), keys that are not strings written as
    strings as the standard library does. What orjson refuses (an integer past 64 bits) goes
    to the standard library."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def load_json(text: str | bytes) -> Any:
    """A JSON column's value; text orjson refuses (a NaN the standard library once wrote)
    goes to the standard library."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str, **options: Any) -> Engine:
    """An SQLAlchemy engine for ``url`` with the settings Outreach relies on.

    Statement parameters (numbers, names, message bodies) are kept out of error messages
    and logs: a failed batch must not print the people in it."""
    options.setdefault("hide_parameters", True)
    options.setdefault("json_serializer", dump_json)
    options.setdefault("json_deserializer", load_json)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # A database that does not answer fails a connection in seconds, not minutes: a webhook
    # waiting on it is spooled in time for the provider's own time-out (15 s at Twilio).
    options.setdefault("connect_args", {"connect_timeout": 5})
    options.setdefault("pool_timeout", 10)
    engine = create_engine(url, **options)
    # No ping before every transaction (a round trip per webhook): a connection in steady use
    # is known good, and one the database dropped meanwhile fails its first statement, which
    # drops the whole pool's older connections and is retried where it matters (webhooks:
    # ``outreach.services.spool.Intake``). Only a connection that sat idle, when a restart
    # is likelier to have passed unseen, is pinged as it is taken from the pool.
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect))
    return engine


IDLE_BEFORE_PING = 5.0  # seconds a pooled connection may sit unused before it is pinged


def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(
    dialect: SADialect, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any
) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
        return
    record.info.pop("idle_since")
    try:
        alive = dialect.do_ping(dbapi_connection)
    except Exception:
        alive = False
    if not alive:  # SQLAlchemy then opens a fresh connection in its place
        raise DisconnectionError("a pooled connection had gone")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, instead of the driver's own deferred BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """``count`` new ids for rows of ``table`` (its ``id`` column), so a batch can be inserted
    with them in one executemany and its rows pointed at before they exist: from the table's
    sequence on PostgreSQL; on SQLite the next ones after the largest, which no one else can
    take before this transaction ends (it holds the one write lock from BEGIN IMMEDIATE), and
    which SQLite would have given itself (the table has no AUTOINCREMENT)."""
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        reserved = connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        )
        return sorted(int(i) for i in reserved.scalars())
    if table.dialect_options["sqlite"].get("autoincrement"):
        raise ValueError(f"{table.name} has AUTOINCREMENT: its ids cannot be reserved")
    last = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(last + 1, last + 1 + count))


def insert_many(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert a batch of rows (each naming the same columns): with a binary ``COPY`` on
    PostgreSQL, about four times cheaper for the server than a pipelined INSERT a row and far
    cheaper in Python than multi-row VALUES; one executemany on SQLite, whose driver loops in
    C. Times must be aware (the store's own types refuse naive ones on every other path)."""
    if not rows:
        return
    names = list(rows[0])
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(*_sqlite_batch(connection, table, names, rows))
        return
    quote = connection.dialect.identifier_preparer.quote
    sql = (
        f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        "FROM STDIN (FORMAT BINARY)"
    )
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        types = _column_types(connection, driver, table.name, names)
        with driver.cursor() as cursor:
            set_json_dumps(dump_json, context=cursor)
            with cursor.copy(sql) as copy:
                copy.set_types(types)
                for values in _values(rows, names):
                    copy.write_row(values)
    except psycopg.Error as exc:
        raise BatchRefused(table.name, exc.sqlstate, exc.diag.message_primary) from None


def _column_types(
    connection: Connection, driver: psycopg.Connection, table: str, names: list[str]
) -> list[int]:
    """The columns' types as the server has them (a binary ``COPY`` must send exactly
    those), asked once per connection and table, and again if a column is new to it."""
    known: dict[str, dict[str, int]] = connection.connection.info.setdefault("copy_types", {})
    types = known.get(table, {})
    if any(name not in types for name in names):
        rows = driver.execute(
            "SELECT attname, atttypid FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        types = known[table] = {name: int(oid) for name, oid in rows}
    return [types[name] for name in names]


def _sqlite_batch(
    connection: Connection, table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[tuple[Any, ...]]]:
    """The INSERT and its rows as the driver takes them. Each column's values go through the
    column type's own bind processor, as ``connection.execute(insert(table), rows)`` would
    do, but a time is converted once per distinct value: a batch's rows mostly share their
    times (``now``), and the type's conversion of each one was most of the insert's cost."""
    quote = connection.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' * len(names))})"
    )
    encoders = [_encoder(connection.dialect, table.c[name].type) for name in names]
    columns = [
        [encode(v) for v in column] if encode is not None else column
        for encode, column in zip(encoders, zip(*_values(rows, names), strict=True), strict=True)
    ]
    return sql, list(zip(*columns, strict=True))


def _values(rows: Sequence[Mapping[str, Any]], names: list[str]) -> list[tuple[Any, ...]]:
    """Each row's values in the order of ``names`` (picked out in C, not a loop a value)."""
    pick = itemgetter(*names)
    if len(names) == 1:
        return [(pick(row),) for row in rows]
    return [pick(row) for row in rows]


def _encoder(dialect: SADialect, type_: Any) -> Any:
    """The column type's bind processor, remembering what it made of each time."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    made: dict[datetime, Any] = {}

    def encode(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not datetime:
            return process(value)
        if value not in made:
            made[value] = process(value)
        return made[value]

    return encode


class _Ids(TypeDecorator[Sequence[int]]):
    """A batch's ids as one parameter: an array on PostgreSQL, JSON text on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: SADialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Sequence[int] | None, dialect: SADialect) -> Any:
        ids = [int(i) for i in value or ()]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class OneOf(ColumnElement[bool]):
    """``column`` is one of the ids bound to ``name`` (a list): ``= ANY(array)`` on
    PostgreSQL, ``IN (SELECT value FROM json_each(...))`` on SQLite. Unlike an expanding
    ``IN``, the statement's text is the same whatever the batch's size, so PostgreSQL
    prepares it once, and no list of hundreds of parameters is built for each batch."""

    inherit_cache = True
    type = Boolean()
    # A comparison, as ``IN`` is: without this, SQLite (no native booleans) is given
    # ``... IN (...) = 1``, which no index serves, and scanned the whole table.
    _is_implicitly_boolean = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy declares it a list)
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.ids = bindparam(name, type_=_Ids())


@compiles(OneOf, "postgresql")
def _one_of_postgresql(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.ids, **kw)})"


@compiles(OneOf)
def _one_of_sqlite(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"
