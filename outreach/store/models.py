"""The tables. Every stage and every communication is kept: it is the evidence when a decision
made with the community is questioned later.

Personal data lives in a few known columns (``Contact`` names, phone and demographics, message
bodies, raw answers, consent words, handoff notes), so that export and erasure can find all of
it; ``outreach.services.contact_import`` erases exactly these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from outreach.store.types import UTCDateTime

# Stable constraint names, so migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys

PERSONAL: dict[str, Any] = {"personal": {}}
"""A column about a person: exported with them, cleared (to None) when they are erased."""
PERSONAL_ROWS: dict[str, Any] = {"personal_rows": True}
"""A table whose rows are about a person: exported with them, deleted when they are erased."""


def personal(*, erased: Any = None, only_if: tuple[str, str] | None = None) -> dict[str, Any]:
    """A personal column that erasure sets to ``erased`` instead of None, or clears only where
    another column has a value (``("kind", "text")``: free-text answers, not choices)."""
    return {"personal": {"erased": erased, "only_if": only_if}}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Contact(Base):
    """A person we may talk to, reached at one or more addresses (``ContactAddress``)."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100), info=PERSONAL)
    last_name: Mapped[str | None] = mapped_column(String(100), info=PERSONAL)
    language: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict, info=personal(erased={}))
    # Self-described, optional, used only in aggregate (reach of excluded groups).
    age_band: Mapped[str | None] = mapped_column(String(16), info=PERSONAL)
    ethnicity: Mapped[str | None] = mapped_column(String(64), info=PERSONAL)
    disability: Mapped[str | None] = mapped_column(String(64), info=PERSONAL)
    postcode_district: Mapped[str | None] = mapped_column(String(8), info=PERSONAL)
    # Derived from consent_events by outreach.store.consent (the only writer), for fast audiences.
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]


class ContactAddress(Base):
    """Where a person can be reached: a ``scheme`` (``tel``, ``sim`` for the phone simulator's
    made-up people, ``slack``) and an address in it (an E.164 number, a Slack user id). The
    channel that sends a message is the one serving its address's scheme."""

    __tablename__ = "contact_addresses"
    __table_args__ = (UniqueConstraint("scheme", "address"), {"info": PERSONAL_ROWS})

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    scheme: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    undeliverable: Mapped[str | None] = mapped_column(String(64))  # why it cannot get messages
    created_at: Mapped[datetime]
    # When the person last wrote from here: what Outreach starts goes where they last replied.
    last_inbound_at: Mapped[datetime | None]


class ContactTag(Base):
    """Tags and segments; one row each, so audiences select by tag with an index."""

    __tablename__ = "contact_tags"
    __table_args__ = ({"info": PERSONAL_ROWS},)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class ConsentEvent(Base):
    """Append-only: every opt-in and opt-out, when, how and in what words."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_contact_id_id", "contact_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # opted_in | opted_out
    source: Mapped[str] = mapped_column(String(16))  # keyword | import | coordinator | carrier
    # The text that did it, or the import basis.
    words: Mapped[str | None] = mapped_column(Text, info=PERSONAL)
    at: Mapped[datetime]


class Event(Base):
    """A Big Conversation. Configured in YAML; mirrored here so RSVPs and reports can join it."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # venue, access, topic, ...
    # How the service runs it: audience, flows it starts itself, quiet hours (from the file).
    config: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    updated_at: Mapped[datetime]


class Rsvp(Base):
    """A person's place in an event: invited, yes, maybe, no, waitlist, or offered (a freed
    place held for them). Waitlist order is ``updated_at``, then ``id``."""

    __tablename__ = "rsvps"
    __table_args__ = (
        UniqueConstraint("event_id", "contact_id"),
        Index("ix_rsvps_event_id_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    invited_at: Mapped[datetime | None]  # when their invitation was scheduled
    updated_at: Mapped[datetime]


class ConversationSession(Base):
    """One run of a flow with one person; the engine's state as JSON."""

    __tablename__ = "sessions"
    __table_args__ = (
        # At most one conversation waiting per person.
        Index(
            "uq_sessions_waiting_contact",
            "contact_id",
            unique=True,
            sqlite_where=text("status = 'waiting'"),
            postgresql_where=text("status = 'waiting'"),
        ),
        # A person's latest conversation, found without walking everyone's.
        Index("ix_sessions_contact_id_id", "contact_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # waiting | ended
    step: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(Text, info=PERSONAL)  # Session.to_json()
    event_id: Mapped[str | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    end_detail: Mapped[str | None] = mapped_column(Text, info=PERSONAL)


class Answer(Base):
    """An answer to a question: the words used and what they were taken to mean."""

    __tablename__ = "answers"
    # Results group an event's answers by question, and by who answered, in the database.
    __table_args__ = (
        Index("ix_answers_event_id_name", "event_id", "name"),
        Index("ix_answers_event_id_contact_id", "event_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # choice | yesno | number | rating | date | text
    raw: Mapped[str | None] = mapped_column(Text, info=PERSONAL)
    value: Mapped[Any] = mapped_column(JSON, info=personal(only_if=("kind", "text")))
    language: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class AnswerTheme(Base):
    """A theme a coordinator tagged an answer with ("transport", "met" for an access need
    that was met): the coordinator's words, not the person's."""

    __tablename__ = "answer_themes"

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    tagged_at: Mapped[datetime]


class Statement(Base):
    """A statement people vote on (agree, disagree, pass) in one conversation: seeded by a
    coordinator or written by a person (``contact_id``, the author), in which case nobody sees
    it until a coordinator approves it. ``conversation`` is the key the flow step names, an
    event's id by default."""

    __tablename__ = "statements"
    __table_args__ = (Index("ix_statements_conversation_status", "conversation", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation: Mapped[str] = mapped_column(String(64))
    # The author's own words are theirs: erasure clears them (votes on it stay counted).
    text: Mapped[str] = mapped_column(Text, info=personal(erased=""))
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    moderated_at: Mapped[datetime | None]
    moderated_by: Mapped[str | None] = mapped_column(String(64))  # a coordinator, or "seed"


class StatementVote(Base):
    """One person's vote on one statement; a later vote replaces an earlier one."""

    __tablename__ = "statement_votes"
    __table_args__ = (UniqueConstraint("statement_id", "contact_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    vote: Mapped[str] = mapped_column(String(8))  # agree | disagree | pass
    at: Mapped[datetime]


class Message(Base):
    """Every message in and out, with its delivery history. Bodies may be purged or erased."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id"),
        Index("ix_messages_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # the channel that carried it: sms, slack...
    # The address it came from or went to (None once the person is erased).
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_addresses.id", ondelete="SET NULL")
    )
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    provider_id: Mapped[str | None] = mapped_column(String(64), info=PERSONAL)
    body: Mapped[str | None] = mapped_column(Text, info=PERSONAL)  # as rendered for the channel
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON, info=PERSONAL)  # Content.to_json
    kind: Mapped[str] = mapped_column(String(16))  # message | question | hint | reminder | system
    status: Mapped[str] = mapped_column(String(16))
    status_history: Mapped[list[Any]] = mapped_column(default=list)
    error_code: Mapped[str | None] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int | None]
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxItem(Base):
    """A message waiting to be sent. The row is removed once the message has an outcome."""

    __tablename__ = "outbox"
    # Rows come and go; never hand a deleted row's id to a new one (SQLite would).
    __table_args__ = (
        Index("ix_outbox_ready", "state", "not_before"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    # Where it goes; the channel is the one serving the address's scheme when it is sent.
    address_id: Mapped[int] = mapped_column(
        ForeignKey("contact_addresses.id", ondelete="CASCADE"), index=True
    )
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_exempt: Mapped[bool] = mapped_column(Boolean, default=False)  # the opt-out receipt
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sending
    not_before: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class DueWork(Base):
    """Something to do at a time. Per conversation: a ``reminder`` or ``timeout``. Per event:
    ``event`` (send the invitations, a reminder or the follow-up: ``payload`` says which),
    which fans out into one ``start`` per person (start ``payload["flow"]`` for them).

    Workers claim rows with a lease (``claimed_by``/``claimed_until``); a row is deleted in
    the transaction that does its work, so it is done once, and a lease that runs out (its
    worker died) lets another worker take it.
    """

    __tablename__ = "due_work"
    # Claims take the first rows in this order: an index, not a sort of every due row.
    __table_args__ = (
        Index("ix_due_work_due_at_id", "due_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder | timeout | ...
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int | None]
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]  # past this, doing it is pointless: it is dropped
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class PeriodicRun(Base):
    """One run of a periodic job (retention, a digest) for one period. The key is unique, so
    however many workers wake for the same period, one of them runs it."""

    __tablename__ = "periodic_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. 2026-11-22T03:30
    worker: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)


class RateLimit(Base):
    """A send rate shared by every worker (per sender, per account): the earliest time the
    next message may go, moved on by each send (the generic cell rate algorithm)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    next_free: Mapped[datetime]


class Handoff(Base):
    """A conversation a human should pick up: asked for, not understood, or a possible opt-out."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # handoff | unhandled | possible-opt-out | human
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text, info=PERSONAL)
    team: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | claimed | closed
    created_at: Mapped[datetime]
    # Where the conversation was (a flow's step), and where it is taken up: the partner it was
    # given to and its Slack thread (none for teams without Slack).
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    partner: Mapped[str | None] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32), index=True)
    raised_at: Mapped[datetime | None]  # last put in front of people (posted, raised again)
    answered_at: Mapped[datetime | None]  # a person from the team first replied
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))


class Decision(Base):
    """A decision a coordinator recorded ("you said, we did"): what changed, in each
    language, and which questions (and statements) it answers, as the checked file or form
    gave it. Kept: it is the record of how people's words changed things."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]  # DecisionSpec as JSON: texts, questions, statements
    source: Mapped[str] = mapped_column(String(300))  # the file it came from, or "web"
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DecisionRecipient(Base):
    """One contributor to a decision's questions and what became of telling them: ``sent``
    (with the message and the follow-up's session), or why not (``opted_out``,
    ``no_text`` in their language, ``unreachable``). The key makes each person's send a claim:
    a second run finds them sent."""

    __tablename__ = "decision_recipients"

    decision_id: Mapped[str] = mapped_column(
        ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    outcome: Mapped[str] = mapped_column(String(16))  # sent | opted_out | no_text | unreachable
    language: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime]


class AuditEntry(Base):
    """What a coordinator did: imports, sends, exports, erasures, purges. No personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int | None] = mapped_column(Id)  # a bare number: it outlives erasure
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebhookRejection(Base):
    """A request to a webhook that was refused: kept (without its body) so attacks and
    misconfiguration show up in the record, not only in logs. Recorded within a budget a
    minute and purged after a while; ``WebhookRefusalCount`` keeps every one counted."""

    __tablename__ = "webhook_rejections"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    endpoint: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))  # bad-signature | malformed | unknown-to ...
    status_code: Mapped[int]
    size: Mapped[int]  # bytes in the body, which is not kept


class WebhookRefusalCount(Base):
    """How many requests each webhook refused, and why, per hour: every refusal counted,
    however many came (a flood writes one row an hour, not a row a request)."""

    __tablename__ = "webhook_refusal_counts"

    hour: Mapped[datetime] = mapped_column(primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    status_code: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger)


class LoginFailure(Base):
    """A wrong password, by whom as far as can be told (a device the coordinator logged in
    from before, else the address): shared by every web process, so a lock-out holds across
    processes and restarts. Purged once out of the throttle's window."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_who_at", "who", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    who: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]


class LoginSession(Base):
    """A coordinator's login, known to the server: logging out revokes it, so a copied cookie
    stops working at once. Only a hash of the session's secret is kept."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the secret
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
