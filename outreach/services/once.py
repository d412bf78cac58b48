"""A one-off message to a tag or to everyone invited to an event: previewed in every language
the audience reads, with its SMS segments and cost and who will not get it, then queued
through the outbox like every other message.

Nobody gets words in a language they do not read: a language is sent in only if the message
has text in it (the catalog's translation of the English, where a translator made one, or
words the coordinator wrote); the people who read another language are counted, not sent
English. Consent is checked by ``Sender.queue`` and again by the dispatcher before sending;
quiet hours hold the message until morning where each person is. A sending is done once: its
key (drawn at the preview) is claimed as a run key in the transaction that queues it.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import ColumnElement, and_, exists, func, select

from outreach.clock import Clock, utcnow
from outreach.contacts.addresses import TEL
from outreach.content import Content
from outreach.conversations.sending import Sender
from outreach.errors import OutreachError
from outreach.i18n.catalogs import Translate
from outreach.settings import Settings
from outreach.store import audit, contacts, runs
from outreach.store.database import Database
from outreach.store.models import Contact, ContactAddress, ContactTag, Rsvp

MAX_TEXT = 1000  # characters of one language's text
BATCH = 500  # people queued per transaction
RUN_JOB = "send-once"


class AudienceError(OutreachError, ValueError):
    """The audience asked for is not one this can send to."""


class Members(Protocol):
    """Who a message is for, as a condition on ``contacts`` (consent is counted apart)."""

    def members(self) -> ColumnElement[bool]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Audience:
    """Who a one-off message is for: everyone with ``tag``, or everyone invited to
    ``event``."""

    tag: str | None = None
    event: str | None = None

    def __post_init__(self) -> None:
        if (self.tag is None) == (self.event is None):
            raise AudienceError("choose a tag or an event, not both and not neither")

    def members(self) -> ColumnElement[bool]:
        """Contacts in the audience, whatever their consent (counted apart)."""
        if self.tag is not None:
            return exists().where(ContactTag.contact_id == Contact.id, ContactTag.tag == self.tag)
        return exists().where(Rsvp.contact_id == Contact.id, Rsvp.event_id == self.event)

    def describe(self) -> str:
        return f"tag {self.tag}" if self.tag is not None else f"event {self.event}"


@dataclass(frozen=True)
class LanguagePreview:
    language: str
    people: int
    text: str
    segments: int
    cost: float


@dataclass(frozen=True)
class Preview:
    """What sending would do: per language, who gets it and at what cost; who does not and
    why; how many wait for the morning."""

    audience: Members
    languages: list[LanguagePreview]
    will_get: int
    will_not: dict[str, int]
    held_till_morning: int
    cost: float
    currency: str
    key: str = field(default_factory=lambda: secrets.token_urlsafe(16))


class OneOff:
    def __init__(
        self,
        db: Database,
        sender: Sender,
        translate: Translate,
        *,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.sender = sender
        self.translate = translate
        self.settings = settings
        self.clock = clock

    def texts(self, english: str, languages: list[str]) -> dict[str, str]:
        """The message in each language: English as written; others the catalog's
        translation where one exists, else empty (the coordinator writes it or nobody in
        that language gets it)."""
        out = {}
        for language in languages:
            translated = self.translate(language, english) if english else ""
            out[language] = (
                english if language == "en" else (translated if translated != english else "")
            )
        return out

    def languages(self, audience: Members) -> dict[str, int]:
        """The languages the reachable people in the audience read, and how many each."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                select(Contact.language, func.count())
                .where(_reachable(audience))
                .group_by(Contact.language)
                .order_by(func.count().desc(), Contact.language)
            ).all()
        return {language: int(n) for language, n in rows}

    def preview(self, audience: Members, texts: Mapping[str, str]) -> Preview:
        texts = clean(texts)
        now = self.clock()
        with self.db.transaction() as tx:
            in_audience = and_(Contact.erased_at.is_(None), audience.members())
            opted_out = tx.scalar(
                select(func.count()).where(in_audience, Contact.opted_out.is_(True))
            )
            unreachable = tx.scalar(
                select(func.count()).where(
                    in_audience, Contact.opted_out.is_(False), ~has_address()
                )
            )
            groups = tx.execute(
                select(Contact.language, Contact.timezone, func.count())
                .where(_reachable(audience))
                .group_by(Contact.language, Contact.timezone)
            ).all()
        by_language: Counter[str] = Counter()
        held = no_text = 0
        window = self.sender.quiet_hours
        for language, timezone, n in groups:
            if not texts.get(language):
                no_text += n
                continue
            by_language[language] += n
            if window.next_allowed(now, timezone) != now:
                held += n
        price = self.settings.sms_price_per_segment
        languages = []
        for language, n in by_language.most_common():
            segments = self.sender.render(TEL, Content(texts[language]), language).segments or 1
            languages.append(
                LanguagePreview(
                    language, n, texts[language], segments, round(n * segments * price, 2)
                )
            )
        return Preview(
            audience=audience,
            languages=languages,
            will_get=sum(by_language.values()),
            will_not={
                "opted_out": int(opted_out or 0),
                "unreachable": int(unreachable or 0),
                "no_text": no_text,
            },
            held_till_morning=held,
            cost=round(sum(p.cost for p in languages), 2),
            currency=self.settings.sms_currency,
        )

    def send(self, audience: Audience, texts: Mapping[str, str], *, key: str, actor: str) -> int:
        """Queue the message for everyone in the audience who may get it, in their language;
        returns how many. Sending the same preview (``key``) again queues nothing."""
        texts = clean(texts)
        now = self.clock()
        with self.db.transaction() as tx:
            if not runs.claim(tx, RUN_JOB, key, worker=actor, now=now):
                return 0
            ids = list(
                tx.scalars(
                    select(Contact.id)
                    .where(_reachable(audience), Contact.language.in_(list(texts)))
                    .order_by(Contact.id)
                )
            )
        queued = 0
        for start in range(0, len(ids), BATCH):
            with self.db.transaction() as tx:
                connection = tx.connection()
                for contact_id in ids[start : start + BATCH]:
                    person = contacts.lock(connection, contact_id)
                    if person is None or not texts.get(person.language):
                        continue
                    done = self.sender.queue(
                        connection,
                        person,
                        Content(texts[person.language]),
                        now,
                        initiated=True,
                        flow=RUN_JOB,
                    )
                    queued += done.status == "queued"
        with self.db.transaction() as tx:
            audit.record(
                tx,
                RUN_JOB,
                actor=actor,
                at=now,
                detail={
                    "audience": audience.describe(),
                    "queued": queued,
                    "languages": sorted(texts),
                },
            )
            runs.finish(tx, RUN_JOB, key, now=now, outcome=f"{queued} queued")
        return queued


def clean(texts: Mapping[str, str]) -> dict[str, str]:
    """The texts worth sending, trimmed; one over ``MAX_TEXT`` is refused."""
    cleaned = {lang: text.strip() for lang, text in texts.items() if text and text.strip()}
    for language, text in cleaned.items():
        if len(text) > MAX_TEXT:
            raise AudienceError(f"the {language} text is longer than {MAX_TEXT} characters")
    return cleaned


def has_address() -> ColumnElement[bool]:
    return exists().where(
        ContactAddress.contact_id == Contact.id, ContactAddress.undeliverable.is_(None)
    )


def _reachable(audience: Members) -> ColumnElement[bool]:
    return and_(
        audience.members(),
        Contact.erased_at.is_(None),
        Contact.opted_out.is_(False),
        has_address(),
    )
