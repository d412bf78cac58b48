"""Statements people vote on and their votes: the only writer of ``statements`` and
``statement_votes``.

A statement written by a person waits (``pending``) until a coordinator approves it; only
``approved`` statements are ever offered. What to offer a person next follows Pol.is's published
approach: of the approved statements in their language that they have not voted on (and did
not write), those with the fewest votes so far, where a vote teaches the most.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Select, case, func, or_, select, update

from outreach.errors import StatementError
from outreach.flows.state import Offer
from outreach.store.dialect import dialect_of
from outreach.store.statements import TABLES

Status = Literal["pending", "approved", "rejected"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "rejected")
VOTES = ("agree", "disagree", "pass")
MAX_LENGTH = 280
"""The longest statement kept: one idea, readable in two text messages."""

_statements = TABLES["statements"]
_votes = TABLES["statement_votes"]


@dataclass(frozen=True, slots=True)
class StatementRow:
    """A statement as a coordinator sees it, with its votes so far."""

    id: int
    conversation: str
    text: str
    language: str
    status: str
    written_by_a_person: bool
    created_at: datetime
    moderated_at: datetime | None
    moderated_by: str | None
    votes: int


def add(
    c: Connection,
    *,
    conversation: str,
    text: str,
    language: str,
    now: datetime,
    contact_id: int | None = None,
    approved_by: str | None = None,
) -> int:
    """Keep a statement: a person's (``contact_id``) waits for moderation; a coordinator's
    (``approved_by``) is approved at once. Returns its id."""
    words = " ".join(text.split())
    if not words:
        raise StatementError("a statement needs some words")
    if len(words) > MAX_LENGTH:
        raise StatementError(f"a statement is at most {MAX_LENGTH} characters, not {len(words)}")
    values: dict[str, Any] = {
        "conversation": conversation,
        "text": words,
        "language": language,
        "contact_id": contact_id,
        "created_at": now,
        "status": "approved" if approved_by is not None else "pending",
        "moderated_at": now if approved_by is not None else None,
        "moderated_by": approved_by,
    }
    found = c.execute(_statements.insert().values(**values).returning(_statements.c.id))
    return int(found.scalar_one())


def seeded(c: Connection, conversation: str, text: str, language: str) -> int | None:
    """The id of a coordinator's statement with these words, if there is one (seeding again
    from the same file adds nothing)."""
    found = c.execute(
        select(_statements.c.id).where(
            _statements.c.conversation == conversation,
            _statements.c.text == " ".join(text.split()),
            _statements.c.language == language,
            _statements.c.contact_id.is_(None),
        )
    ).first()
    return int(found[0]) if found else None


def moderate(c: Connection, statement_id: int, status: Status, *, by: str, now: datetime) -> None:
    """Approve or reject a statement (a rejected one can be approved later, and back)."""
    done = c.execute(
        update(_statements)
        .where(_statements.c.id == statement_id)
        .values(status=status, moderated_at=now, moderated_by=by)
    )
    if done.rowcount == 0:
        raise StatementError(f"there is no statement {statement_id}")


def vote(c: Connection, statement_id: int, contact_id: int, choice: str, now: datetime) -> None:
    """Record a person's vote; a second vote on the same statement replaces the first."""
    if choice not in VOTES:
        raise StatementError(f"a vote is agree, disagree or pass, not {choice!r}")
    values = {"statement_id": statement_id, "contact_id": contact_id, "vote": choice, "at": now}
    insert = dialect_of(c).insert(_votes).values(**values)
    c.execute(
        insert.on_conflict_do_update(
            index_elements=["statement_id", "contact_id"],
            set_={"vote": insert.excluded.vote, "at": insert.excluded.at},
        )
    )


def offers(
    c: Connection, conversation: str, contact_id: int, language: str, *, limit: int = 3
) -> tuple[Offer, ...]:
    """The statements to offer this person next, best first: approved, in their language,
    not theirs, not voted on by them; fewest votes first (oldest first among equals)."""
    counts = (
        select(_votes.c.statement_id, func.count().label("n"))
        .group_by(_votes.c.statement_id)
        .subquery()
    )
    mine = select(_votes.c.statement_id).where(_votes.c.contact_id == contact_id)
    query = (
        select(_statements.c.id, _statements.c.text)
        .outerjoin(counts, counts.c.statement_id == _statements.c.id)
        .where(
            _statements.c.conversation == conversation,
            _statements.c.status == "approved",
            _statements.c.language == language,
            _statements.c.text != "",
            _statements.c.id.not_in(mine),
            (_statements.c.contact_id.is_(None)) | (_statements.c.contact_id != contact_id),
        )
        .order_by(func.coalesce(counts.c.n, 0), _statements.c.id)
        .limit(limit)
    )
    return tuple(Offer(int(row.id), row.text) for row in c.execute(query))


def listing(
    c: Connection, *, conversation: str | None = None, status: str | None = None
) -> list[StatementRow]:
    """Statements for coordinators, oldest first, with how many votes each has."""
    counts = (
        select(_votes.c.statement_id, func.count().label("n"))
        .group_by(_votes.c.statement_id)
        .subquery()
    )
    query = select(_statements, func.coalesce(counts.c.n, 0).label("votes")).outerjoin(
        counts, counts.c.statement_id == _statements.c.id
    )
    if conversation is not None:
        query = query.where(_statements.c.conversation == conversation)
    if status is not None:
        query = query.where(_statements.c.status == status)
    return [
        StatementRow(
            id=int(row.id),
            conversation=row.conversation,
            text=row.text,
            language=row.language,
            status=row.status,
            written_by_a_person=row.contact_id is not None,
            created_at=row.created_at,
            moderated_at=row.moderated_at,
            moderated_by=row.moderated_by,
            votes=int(row.votes),
        )
        for row in c.execute(query.order_by(_statements.c.id))
    ]


def conversations(c: Connection) -> list[str]:
    """Every conversation that has statements."""
    query = select(_statements.c.conversation).distinct().order_by(_statements.c.conversation)
    return list(c.scalars(query))


def voters(
    statement_ids: Collection[int], conversations: Collection[str] = ()
) -> Select[tuple[int]]:
    """The contacts who voted on any of these statements, or on any statement of these
    conversations, as a query to compose (the people a "you said, we did" decision about
    them goes to)."""
    about: ColumnElement[bool] = _votes.c.statement_id.in_(list(statement_ids))
    if conversations:
        of = select(_statements.c.id).where(_statements.c.conversation.in_(list(conversations)))
        about = or_(about, _votes.c.statement_id.in_(of))
    return select(_votes.c.contact_id).where(about).distinct()


def unknown(
    c: Connection, statement_ids: Collection[int], conversations: Collection[str]
) -> list[str]:
    """Which of these statement ids and conversations hold no statement (a decision naming
    them is mistaken)."""
    ids = set(statement_ids)
    names = set(conversations)
    found_ids = set(c.scalars(select(_statements.c.id).where(_statements.c.id.in_(list(ids)))))
    found_names = set(
        c.scalars(
            select(_statements.c.conversation)
            .where(_statements.c.conversation.in_(list(names)))
            .distinct()
        )
    )
    return [str(i) for i in sorted(ids - found_ids)] + sorted(names - found_names)


# -- tallies for consensus -----------------------------------------------------------------------

GroupBy = tuple[Literal["column", "field", "tags"], str | tuple[str, ...]]


def group_by(spec: str) -> GroupBy:
    """How people are grouped for consensus: a contact column (``age_band``), a tag list
    (``tags:patient,carer,vcse,professional``: each person in the first of those tags they
    have) or any other name, a field of the contact (``role``).

    >>> group_by("tags:patient, carer")
    ('tags', ('patient', 'carer'))
    >>> group_by("age_band"), group_by("role")
    (('column', 'age_band'), ('field', 'role'))
    """
    spec = spec.strip()
    if spec.startswith("tags:"):
        tags = tuple(t.strip() for t in spec[5:].split(",") if t.strip())
        if not tags:
            raise StatementError("name the tags to group by, like tags:patient,carer")
        return ("tags", tags)
    if not spec or len(spec) > 64 or not spec.replace("_", "").replace("-", "").isalnum():
        raise StatementError(f"cannot group by {spec!r}: name a contact field, or tags:a,b,c")
    columns = {"language", "age_band", "ethnicity", "disability", "postcode_district"}
    return ("column", spec) if spec in columns else ("field", spec)


def tallies(
    c: Connection, conversation: str, grouping: GroupBy
) -> list[tuple[int, str | None, str, int]]:
    """(statement id, group, vote, count) for the conversation's approved statements, counted
    in the database. People in no group are counted under None."""
    kind, name = grouping
    contacts = TABLES["contacts"]
    statement = _statements.c.id
    base = _votes.join(_statements, _statements.c.id == _votes.c.statement_id).join(
        contacts, contacts.c.id == _votes.c.contact_id
    )
    if kind == "tags":
        assert isinstance(name, tuple)
        order = {tag: n for n, tag in enumerate(name)}
        tags = TABLES["contact_tags"]
        rank = func.min(case(order, value=tags.c.tag))  # the first listed tag a person has
        person_group = (
            select(tags.c.contact_id, rank.label("rank"))
            .where(tags.c.tag.in_(name))
            .group_by(tags.c.contact_id)
            .subquery()
        )
        base = base.outerjoin(person_group, person_group.c.contact_id == contacts.c.id)
        group: Any = person_group.c.rank
    elif kind == "column":
        group = contacts.c[str(name)]
    else:
        group = contacts.c.fields[str(name)].as_string()
    query = (
        select(statement, group.label("grp"), _votes.c.vote, func.count())
        .select_from(base)
        .where(_statements.c.conversation == conversation, _statements.c.status == "approved")
        .group_by(statement, group, _votes.c.vote)
    )
    rows = []
    for sid, grp, choice, n in c.execute(query):
        if kind == "tags":
            assert isinstance(name, tuple)
            grp = name[int(grp)] if grp is not None else None
        rows.append((int(sid), None if grp in (None, "") else str(grp), str(choice), int(n)))
    return rows


def texts(c: Connection, statement_ids: Sequence[int]) -> dict[int, str]:
    """The words of each statement."""
    if not statement_ids:
        return {}
    query = select(_statements.c.id, _statements.c.text).where(
        _statements.c.id.in_(list(statement_ids))
    )
    return {int(i): t for i, t in c.execute(query)}
