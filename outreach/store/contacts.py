"""Contacts, their addresses and their tags: this module is their only writer.

A person is found by an address (``scheme``, ``address``) and locked for the transaction that
handles their message, so two messages from one person are handled one after the other while
different people proceed in parallel. Replies go back to the address a message came from;
what Outreach starts goes to an address of the channel the flow or event prefers, else to the
one the person last replied from, else to their first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Row,
    bindparam,
    case,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from outreach.store import consent
from outreach.store.dialect import OneOf, dialect_of
from outreach.store.lean import Lean
from outreach.store.models import ContactAddress
from outreach.store.statements import TABLES

contacts = TABLES["contacts"]
addresses = TABLES["contact_addresses"]
contact_tags = TABLES["contact_tags"]

PERSON_COLUMNS = (
    contacts.c.id,
    contacts.c.language,
    contacts.c.timezone,
    contacts.c.opted_out,
    contacts.c.erased_at,
    contacts.c.first_name,
    contacts.c.last_name,
    contacts.c.fields,
)
# Editable from a flow's ``set``: a column of its own; other names go into ``fields``.
CONTACT_COLUMNS = ("first_name", "last_name", "language", "timezone")
NEW_CONTACT = ("language", "timezone", "fields", "opted_out", "created_at", "updated_at")


@dataclass(slots=True)
class Person:
    """The contact a transaction holds locked, as a conversation reads and changes it, with
    the address its messages go to (None: nowhere, e.g. after erasure)."""

    id: int
    language: str
    timezone: str
    opted_out: bool
    erased_at: datetime | None
    first_name: str | None
    last_name: str | None
    fields: dict[str, Any]
    address_id: int | None
    scheme: str | None
    created: bool = False  # made by this transaction: no tags or conversations yet

    @classmethod
    def from_row(cls, row: Any, *, created: bool = False) -> Person:
        return cls(
            id=row.id,
            language=row.language,
            timezone=row.timezone,
            opted_out=row.opted_out,
            erased_at=row.erased_at,
            first_name=row.first_name,
            last_name=row.last_name,
            fields=row.fields,
            address_id=row.address_id,
            scheme=row.scheme,
            created=created,
        )


# Where what Outreach starts is sent: an address in a preferred scheme, one that can take
# messages, the one the person last wrote from, the first.
_to = addresses.alias("chosen_address")
_PREFER: BindParameter[list[str]] = bindparam("prefer", expanding=True)


def _chosen(column: Any) -> Any:
    """``column`` of the address chosen for the contact in the enclosing query."""
    return (
        select(column)
        .where(_to.c.contact_id == contacts.c.id)
        .order_by(
            case((_to.c.scheme.in_(_PREFER), 0), else_=1),
            case((_to.c.undeliverable.is_(None), 0), else_=1),
            case((_to.c.last_inbound_at.is_(None), 1), else_=0),
            _to.c.last_inbound_at.desc(),
            _to.c.id,
        )
        .limit(1)
        .correlate(contacts)
        .scalar_subquery()
    )


_BY_ID = (
    select(*PERSON_COLUMNS, addresses.c.id.label("address_id"), addresses.c.scheme)
    .select_from(contacts.outerjoin(addresses, addresses.c.id == _chosen(_to.c.id)))
    .where(contacts.c.id == bindparam("key"))
    .with_for_update(of=contacts)
)
# A batch's people, locked in id order (two batches sharing people cannot deadlock). The
# address comes by a lookup a person (not a join), so however stale the statistics are
# after a big import, no plan reads every address: one did, 95 ms a batch at 400,000 people.
_BY_IDS = (
    select(
        *PERSON_COLUMNS,
        _chosen(_to.c.id).label("address_id"),
        _chosen(_to.c.scheme).label("scheme"),
    )
    .where(OneOf(contacts.c.id, "keys"))
    .order_by(contacts.c.id)
    .with_for_update(of=contacts)
)
_BY_ADDRESS = Lean(
    select(*PERSON_COLUMNS, addresses.c.id.label("address_id"), addresses.c.scheme)
    .select_from(addresses.join(contacts, contacts.c.id == addresses.c.contact_id))
    .where(addresses.c.scheme == bindparam("scheme"), addresses.c.address == bindparam("address"))
    .with_for_update(of=contacts)
)
_TAGS = Lean(select(contact_tags.c.tag).where(contact_tags.c.contact_id == bindparam("contact_id")))


def lock(connection: Connection, contact_id: int, *, prefer: Sequence[str] = ()) -> Person | None:
    """The contact, locked for this transaction (``FOR UPDATE`` on PostgreSQL; SQLite's one
    writer is lock enough), with the address to send to: one in the ``prefer`` schemes if they
    have one, else where they last replied from, else their first."""
    row = connection.execute(_BY_ID, {"key": contact_id, "prefer": list(prefer)}).first()
    return Person.from_row(row) if row is not None else None


def lock_many(
    connection: Connection, contact_ids: Sequence[int], *, prefer: Sequence[str] = ()
) -> dict[int, Person]:
    """``lock`` for a batch of people, in one statement; by contact id (the missing left out)."""
    if not contact_ids:
        return {}
    rows = connection.execute(_BY_IDS, {"keys": sorted(set(contact_ids)), "prefer": list(prefer)})
    return {row.id: Person.from_row(row) for row in rows}


_REPLIED = Lean(
    update(addresses)
    .where(addresses.c.id == bindparam("address_id"))
    .values(last_inbound_at=bindparam("at"))
)


def replied_from(connection: Connection, address_id: int, at: datetime) -> None:
    """The person wrote from this address at ``at`` (one update by key)."""
    _REPLIED.run(connection, {"address_id": address_id, "at": at})


def lock_by_address(connection: Connection, scheme: str, address: str) -> Person | None:
    """The contact reached at this address, locked, with that address as theirs to answer."""
    row = _BY_ADDRESS.first(connection, {"scheme": scheme, "address": address})
    return Person.from_row(row) if row is not None else None


def _create_statement(writes_in_ctes: bool) -> Any:
    """Insert a contact returning it; where the database allows, its address and first
    consent event go in the same statement (CTEs), saving two round trips."""
    made = (
        insert(contacts)
        .values({n: bindparam(f"c_{n}", type_=contacts.c[n].type) for n in NEW_CONTACT})
        .returning(*PERSON_COLUMNS)
    )
    if not writes_in_ctes:
        return made
    new = made.cte("made")
    address = (
        insert(addresses)
        .from_select(
            ["contact_id", "scheme", "address", "created_at"],
            select(
                new.c.id,
                bindparam("a_scheme", type_=addresses.c.scheme.type),
                bindparam("a_address", type_=addresses.c.address.type),
                bindparam("c_created_at", type_=contacts.c.created_at.type),
            ),
        )
        .returning(addresses.c.id, addresses.c.scheme, addresses.c.contact_id)
        .cte("address")
    )
    return (
        select(*new.c, address.c.id.label("address_id"), address.c.scheme)
        .select_from(new.join(address, address.c.contact_id == new.c.id))
        .add_cte(consent.first_consent(new).cte("consent"))
    )


_CREATE = {True: Lean(_create_statement(True)), False: Lean(_create_statement(False))}
_INSERT_ADDRESS = Lean(insert(addresses).returning(addresses.c.id))


def create(
    connection: Connection,
    scheme: str,
    address: str,
    values: Mapping[str, Any],
    first_consent: Mapping[str, Any],
) -> Person:
    """Insert a contact reached at (``scheme``, ``address``) with the consent event that made
    them one. Raises ``IntegrityError`` if another transaction took the address first."""
    writes_in_ctes = dialect_of(connection).writes_in_ctes
    params = {f"c_{n}": values[n] for n in NEW_CONTACT}
    params.update({f"k_{n}": first_consent[n] for n in consent.CONSENT_COLUMNS})
    params.update({"a_scheme": scheme, "a_address": address})
    row = _CREATE[writes_in_ctes].one(connection, params)
    if writes_in_ctes:
        return Person.from_row(row, created=True)
    address_id = _INSERT_ADDRESS.scalar(
        connection,
        {
            "contact_id": row.id,
            "scheme": scheme,
            "address": address,
            "created_at": values["created_at"],
        },
    )
    consent.record(
        connection,
        row.id,
        first_consent["status"],
        source=first_consent["source"],
        words=first_consent["words"],
        at=first_consent["at"],
        opted_out=values["opted_out"],
    )
    found = row._asdict() | {"address_id": address_id, "scheme": scheme}
    return Person(**found, created=True)


def tags(connection: Connection, contact_id: int) -> frozenset[str]:
    return frozenset(row.tag for row in _TAGS.rows(connection, {"contact_id": contact_id}))


def update_contact(connection: Connection, contact_id: int, values: Mapping[str, Any]) -> None:
    connection.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))


def add_tag(connection: Connection, contact_id: int, tag: str) -> None:
    connection.execute(
        dialect_of(connection)
        .insert(contact_tags)
        .values(contact_id=contact_id, tag=tag)
        .on_conflict_do_nothing(index_elements=["contact_id", "tag"])
    )


def mark_undeliverable(tx: Session, address_id: int, why: str) -> None:
    """The provider says this address can never get messages (a landline, a dead number)."""
    tx.execute(
        update(ContactAddress)
        .where(ContactAddress.id == address_id, ContactAddress.undeliverable.is_(None))
        .values(undeliverable=why)
    )


def reached_at(connection: Connection, schemes: Sequence[str], address: str) -> int | None:
    """The id of the contact reached at ``address`` in any of ``schemes``, if there is one."""
    return connection.execute(
        select(addresses.c.contact_id)
        .where(addresses.c.scheme.in_(schemes), addresses.c.address == address)
        .order_by(addresses.c.id)
        .limit(1)
    ).scalar()


def find_address(tx: Session, scheme: str, address: str) -> ContactAddress | None:
    return tx.scalar(
        select(ContactAddress).where(
            ContactAddress.scheme == scheme, ContactAddress.address == address
        )
    )


def add_address(tx: Session, contact_id: int, scheme: str, address: str, at: datetime) -> int:
    """Give a contact another way to reach them; returns the address's id."""
    return int(
        _INSERT_ADDRESS.scalar(
            tx.connection(),
            {"contact_id": contact_id, "scheme": scheme, "address": address, "created_at": at},
        )
    )


def change_scheme(tx: Session, address_ids: Iterable[int], scheme: str) -> None:
    """Move addresses to another scheme (a made-up number of the phone simulator turns out to
    be a real person's): what is sent to them from now on goes through that scheme's channel."""
    ids = list(address_ids)
    if ids:
        tx.execute(update(ContactAddress).where(ContactAddress.id.in_(ids)).values(scheme=scheme))


# -- many at once (imports) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A contact found by one of their addresses, as an import compares it with a row."""

    address_id: int
    scheme: str
    row: Row[Any]  # the contact's columns
    slack_ids: frozenset[str]


def by_addresses(connection: Connection, scheme: str, values: Sequence[str]) -> dict[str, Found]:
    """The contacts reached at any of ``values`` in ``scheme``, by address."""
    rows = connection.execute(
        select(
            addresses.c.address.label("found_at"),
            addresses.c.id.label("address_id"),
            addresses.c.scheme.label("found_scheme"),
            contacts,
        )
        .join(contacts, contacts.c.id == addresses.c.contact_id)
        .where(addresses.c.scheme == scheme, addresses.c.address.in_(values))
    ).all()
    slack: dict[int, set[str]] = {}
    if rows:
        for contact_id, address in connection.execute(
            select(addresses.c.contact_id, addresses.c.address).where(
                addresses.c.scheme == "slack",
                addresses.c.contact_id.in_([row.id for row in rows]),
            )
        ):
            slack.setdefault(contact_id, set()).add(address)
    return {
        row.found_at: Found(row.address_id, row.found_scheme, row, frozenset(slack.get(row.id, ())))
        for row in rows
    }


def refresh_statistics(connection: Connection) -> None:
    """After a bulk import on PostgreSQL, the planner's picture of the contact tables: left
    to autovacuum (a minute or more later), an invitation sent straight after the import is
    planned as if the tables were still as small as before. SQLite plans by its indexes
    without statistics, and is left as it is."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "ANALYZE contacts, contact_addresses, contact_tags, consent_events"
        )


_TAGS_OF = select(contact_tags.c.contact_id, contact_tags.c.tag).where(
    OneOf(contact_tags.c.contact_id, "contact_ids")
)


def tags_of(connection: Connection, contact_ids: Sequence[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    if contact_ids:
        rows = connection.execute(_TAGS_OF, {"contact_ids": list(contact_ids)})
        for contact_id, tag in rows:
            found.setdefault(contact_id, set()).add(tag)
    return found


def insert_many(
    connection: Connection,
    scheme: str,
    people: Sequence[tuple[str, Mapping[str, Any], str, set[str]]],
    now: datetime,
) -> dict[str, int]:
    """Create contacts from (address, column values, consent basis, tags), with their
    addresses, opt-in and tags; returns their ids by address. Consent and tags go in by
    INSERT ... SELECT, one statement per distinct basis or tag, instead of one parameter set
    per person."""
    if not people:
        return {}
    ids = connection.execute(
        insert(contacts).returning(contacts.c.id, sort_by_parameter_order=True),
        [
            {**values, "opted_out": False, "created_at": now, "updated_at": now}
            for _, values, _, _ in people
        ],
    ).scalars()
    made = {address: contact_id for contact_id, (address, _, _, _) in zip(ids, people, strict=True)}
    connection.execute(
        insert(addresses),
        [
            {"contact_id": contact_id, "scheme": scheme, "address": address, "created_at": now}
            for address, contact_id in made.items()
        ],
    )
    by_basis: dict[str, list[str]] = {}
    by_tag: dict[str, list[str]] = {}
    for address, _, basis, row_tags in people:
        by_basis.setdefault(basis, []).append(address)
        for tag in row_tags:
            by_tag.setdefault(tag, []).append(address)
    for basis, chosen in by_basis.items():
        consent.record_imported(connection, _ids_at(scheme, chosen), basis=basis, at=now)
    for tag, chosen in by_tag.items():
        connection.execute(
            insert(contact_tags).from_select(
                ["contact_id", "tag"], _ids_at(scheme, chosen).add_columns(literal(tag))
            )
        )
    return made


def _ids_at(scheme: str, chosen: Sequence[str]) -> Any:
    return select(addresses.c.contact_id).where(
        addresses.c.scheme == scheme, addresses.c.address.in_(chosen)
    )


def add_tags(connection: Connection, contact_id: int, new_tags: Iterable[str]) -> None:
    rows = [{"contact_id": contact_id, "tag": t} for t in sorted(new_tags)]
    if rows:
        connection.execute(insert(contact_tags), rows)


# -- erasure -----------------------------------------------------------------------------------


def mark_erased(connection: Connection, contact_id: int, now: datetime) -> None:
    """The row stays (its id, language and dates, so counts of people still add up), marked
    erased; its personal columns are cleared by ``outreach.store.personal``."""
    update_contact(connection, contact_id, {"erased_at": now, "updated_at": now})
    consent.block_erased(connection, contact_id, now)
