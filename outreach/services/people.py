"""People, as a coordinator looks them up: search by name, tag or field; one person's
conversation as a timeline; their consent history.

Numbers are shown as their last three digits unless the coordinator asks for the whole
number (``reveal``), and each reveal is written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select

from outreach.clock import Clock, utcnow
from outreach.contacts.phones import last_digits
from outreach.errors import ContactNotFound
from outreach.store import audit
from outreach.store.contacts import tags_of
from outreach.store.database import Database
from outreach.store.models import (
    Answer,
    ConsentEvent,
    Contact,
    ContactAddress,
    ContactTag,
    Message,
)

FOUND_AT_MOST = 50
TIMELINE_AT_MOST = 500
QUERY_LIMIT = 100  # characters of a search
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Found:
    """One person in a search's results."""

    id: int
    name: str
    language: str
    numbers: list[str]
    tags: list[str]
    opted_out: bool


@dataclass(frozen=True)
class Moment:
    """One thing in a person's timeline: a message in or out, an answer, a consent change."""

    at: datetime
    kind: str  # in | out | answer | consent
    text: str
    detail: str


@dataclass(frozen=True)
class Profile:
    """One person, their timeline (newest last) and their consent history."""

    found: Found
    declared: dict[str, str]
    fields: dict[str, Any]
    timeline: list[Moment]
    consent: list[Moment]


class People:
    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock

    def search(self, query: str) -> list[Found]:
        """People whose name starts with ``query``, who carry the tag ``query``, or (for
        ``field=value``) whose field or declared group has that value."""
        query = query.strip()[:QUERY_LIMIT]
        chosen = select(Contact).where(Contact.erased_at.is_(None))
        if "=" in query:
            name, _, value = (part.strip() for part in query.partition("="))
            if not FIELD_NAME.fullmatch(name):
                return []
            column = (
                getattr(Contact, name)
                if name in ("language", "age_band", "ethnicity", "disability", "postcode_district")
                else Contact.fields[name].as_string()
            )
            chosen = chosen.where(column == value)
        elif query:
            start = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            chosen = chosen.where(
                or_(
                    func.lower(Contact.first_name).like(f"{start}%", escape="\\"),
                    func.lower(Contact.last_name).like(f"{start}%", escape="\\"),
                    exists().where(ContactTag.contact_id == Contact.id, ContactTag.tag == query),
                )
            )
        with self.db.transaction() as tx:
            people = tx.scalars(chosen.order_by(Contact.id).limit(FOUND_AT_MOST)).all()
            return [self._found(tx, person, reveal=False) for person in people]

    def profile(self, contact_id: int, *, reveal: bool = False, actor: str = "web") -> Profile:
        with self.db.transaction() as tx:
            person = tx.get(Contact, contact_id)
            if person is None or person.erased_at is not None:
                raise ContactNotFound()
            if reveal:
                audit.record(
                    tx, "reveal-number", actor=actor, at=self.clock(), contact_id=contact_id
                )
            found = self._found(tx, person, reveal=reveal)
            messages = tx.execute(
                select(Message.created_at, Message.direction, Message.body, Message.status)
                .where(Message.contact_id == contact_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(TIMELINE_AT_MOST)
            ).all()
            answers = tx.execute(
                select(Answer.at, Answer.flow, Answer.name, Answer.raw)
                .where(Answer.contact_id == contact_id)
                .order_by(Answer.at.desc())
                .limit(TIMELINE_AT_MOST)
            ).all()
            consent = [
                Moment(at, "consent", status, f"{source}: {words}" if words else source)
                for at, status, source, words in tx.execute(
                    select(
                        ConsentEvent.at,
                        ConsentEvent.status,
                        ConsentEvent.source,
                        ConsentEvent.words,
                    )
                    .where(ConsentEvent.contact_id == contact_id)
                    .order_by(ConsentEvent.id)
                ).all()
            ]
            declared = {
                name: value
                for name in ("language", "age_band", "ethnicity", "disability", "postcode_district")
                if (value := getattr(person, name))
            }
            fields = dict(person.fields or {})
        timeline = [
            *(Moment(at, d, body or "", status) for at, d, body, status in messages),
            *(
                Moment(at, "answer", raw or "", f"{flow}: {name}")
                for at, flow, name, raw in answers
            ),
            *consent,
        ]
        timeline.sort(key=lambda m: m.at)
        return Profile(found, declared, fields, timeline[-TIMELINE_AT_MOST:], consent)

    def _found(self, tx: Any, person: Contact, *, reveal: bool) -> Found:
        numbers = tx.scalars(
            select(ContactAddress.address)
            .where(ContactAddress.contact_id == person.id)
            .order_by(ContactAddress.id)
        ).all()
        name = " ".join(n for n in (person.first_name, person.last_name) if n) or "(no name)"
        return Found(
            person.id,
            name,
            person.language,
            [n if reveal else last_digits(n) for n in numbers],
            sorted(tags_of(tx.connection(), [person.id]).get(person.id, set())),
            person.opted_out,
        )
