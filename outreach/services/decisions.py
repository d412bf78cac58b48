"""You said, we did: a coordinator's decision sent back to exactly the people whose answers
shaped it, once each, in their language, with an optional follow-up asking if it feels right.

Who is told follows from the record: everyone who answered the questions the decision names
(or voted on its statements), not erased. The preview and the sending
are the one-off message's (``once.py``): nobody gets words in a language the decision has no
text in (they are counted), consent is checked by ``Sender.queue`` and again by the
dispatcher, quiet hours hold the message until morning where each person is. Each person's
``decision_recipients`` row is written in the transaction that queues their message, under
their lock, so a second run (or a second coordinator) sends nothing; the follow-up flow is
started in that same transaction and its session kept on the row, so the replies are the
decision's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, and_, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from outreach.clock import Clock, utcnow
from outreach.content import Content
from outreach.conversations.sending import Sender
from outreach.conversations.service import Conversations
from outreach.decisions.library import check_decisions
from outreach.decisions.library import load_decisions as load_decision_files
from outreach.decisions.schema import FOLLOW_UP_FLOW, DecisionSpec, Question
from outreach.errors import DecisionError, FlowLoadError
from outreach.events.library import load_events as load_event_files
from outreach.flows.loader import FLOW_SUFFIXES, FlowDefinition
from outreach.flows.schema import Step
from outreach.services.once import BATCH, OneOff, Preview, clean
from outreach.services.results import Shown, answer_option, suppress
from outreach.settings import Settings
from outreach.store import audit, contacts, opinions
from outreach.store import decisions as stored
from outreach.store.contacts import Person
from outreach.store.database import Database
from outreach.store.models import Answer, Contact, DecisionRecipient

FEELS_RIGHT = "feels_right"
"""The follow-up flow's answer: yes, no or partly."""
WHAT_WOULD_HELP = "what_would_help"
"""The follow-up flow's free-text answer, from those who said no or partly."""
REASONS = ("opted_out", "no_text", "unreachable")


def _statement_refs(refs: Collection[int | str]) -> tuple[list[int], list[str]]:
    """A decision's statements: ids, and conversations whose every statement it answers."""
    return [r for r in refs if isinstance(r, int)], [r for r in refs if isinstance(r, str)]


@dataclass(frozen=True)
class Contributors:
    """The people a decision is for and not yet sent: whoever answered one of its questions,
    or voted on one of its statements (given by id, or all of a conversation's by its name)."""

    decision: str
    questions: tuple[Question, ...]
    statements: tuple[int | str, ...] = ()

    def members(self) -> ColumnElement[bool]:
        clauses: list[ColumnElement[bool]] = []
        if self.questions:
            clauses.append(
                exists().where(
                    Answer.contact_id == Contact.id, or_(*(_answers(q) for q in self.questions))
                )
            )
        if self.statements:
            clauses.append(Contact.id.in_(opinions.voters(*_statement_refs(self.statements))))
        told = exists().where(
            DecisionRecipient.decision_id == self.decision,
            DecisionRecipient.contact_id == Contact.id,
            DecisionRecipient.outcome == stored.SENT,
        )
        return and_(or_(*clauses), ~told)

    def describe(self) -> str:
        return f"contributors to decision {self.decision}"


def _answers(question: Question) -> ColumnElement[bool]:
    clauses = [Answer.flow == question.flow]
    if question.step is not None:
        clauses.append(Answer.step == question.step)
    if question.answer is not None:
        clauses.append(Answer.name == question.answer)
    if question.event is not None:
        clauses.append(Answer.event_id == question.event)
    return and_(*clauses)


@dataclass(frozen=True)
class DecisionPreview:
    """What sending would do now: the one-off preview (per language, who will not get it
    and why), the languages with no text and how many read each, and how many were sent it
    already."""

    preview: Preview
    no_text: dict[str, int]
    already_sent: int


@dataclass(frozen=True)
class Sent:
    """What one run did: people sent it now, and people not sent it, by reason."""

    sent: int
    not_sent: dict[str, int]


@dataclass(frozen=True)
class DecisionResults:
    """A decision as the record and the report show it: counts suppressed under 5."""

    id: str
    title: str
    recorded_at: datetime
    recorded_by: str
    source: str
    questions: list[str]
    text: dict[str, str]  # what changed, in each language written
    follow_up: bool
    sent: Shown
    sent_by_language: dict[str, Shown]
    not_sent: dict[str, Shown]
    replies: dict[str, Shown]
    no_reply: Shown
    comments: Shown

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["recorded_at"] = self.recorded_at.isoformat()
        return data


class Decisions:
    """Records, previews, sends and reports decisions."""

    def __init__(
        self,
        db: Database,
        conversations: Conversations,
        *,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.conversations = conversations
        self.sender = conversations.sender
        self.clock = clock
        self.once = OneOff(
            db, self.sender, conversations.engine.translate, settings=settings, clock=clock
        )

    def record(self, spec: DecisionSpec, *, source: str, actor: str) -> None:
        """Keep the decision as it reads now (a file's, or the web form's): the audit log
        has each new wording."""
        now = self.clock()
        with self.db.transaction() as tx:
            row = stored.get(tx, spec.decision)
            if row is not None and source == "web" and row.source != "web":
                raise DecisionError(
                    f"decision {spec.decision!r} comes from {row.source}: choose another id"
                )
            changed = stored.save(
                tx,
                spec.decision,
                title=spec.title,
                spec=spec.model_dump(mode="json"),
                source=source,
                actor=actor,
                now=now,
            )
            if changed:
                audit.record(
                    tx,
                    "decision-recorded",
                    actor=actor,
                    at=now,
                    detail={"decision": spec.decision, "source": source},
                )

    def recorded(self, decision_id: str) -> DecisionSpec:
        """A decision as recorded (from a file sent before, or the web form)."""
        with self.db.transaction() as tx:
            row = stored.get(tx, decision_id)
            if row is None:
                raise DecisionError(f"no decision called {decision_id!r} has been recorded")
            return DecisionSpec.model_validate(row.spec)

    def preview(self, spec: DecisionSpec) -> DecisionPreview:
        audience = self._contributors(spec)
        preview = self.once.preview(audience, spec.text)
        languages = self.once.languages(audience)
        with self.db.transaction() as tx:
            already = tx.scalar(
                select(func.count()).where(
                    DecisionRecipient.decision_id == spec.decision,
                    DecisionRecipient.outcome == stored.SENT,
                )
            )
        return DecisionPreview(
            preview,
            {lang: n for lang, n in languages.items() if lang not in clean(spec.text)},
            int(already or 0),
        )

    def send(self, spec: DecisionSpec, *, source: str, actor: str) -> Sent:
        """Tell every contributor not told yet, in their language; returns what happened.
        Sending again tells only people who could not be told before and now can."""
        texts = clean(spec.text)
        if spec.follow_up and FOLLOW_UP_FLOW not in self.conversations.engine.flows:
            raise DecisionError(
                f"the follow-up flow {FOLLOW_UP_FLOW!r} is not loaded: restore it, or set "
                "follow_up: false"
            )
        audience = self._contributors(spec)
        self.record(spec, source=source, actor=actor)
        with self.db.transaction() as tx:
            ids = list(
                tx.scalars(
                    select(Contact.id)
                    .where(audience.members(), Contact.erased_at.is_(None))
                    .order_by(Contact.id)
                )
            )
        tally = self._tell(spec, texts, ids)
        tally.pop("", None)
        outcome = Sent(tally.pop(stored.SENT, 0), {reason: tally[reason] for reason in REASONS})
        with self.db.transaction() as tx:
            audit.record(
                tx,
                "decision-sent",
                actor=actor,
                at=self.clock(),
                detail={
                    "decision": spec.decision,
                    "sent": outcome.sent,
                    "not_sent": outcome.not_sent,
                    "languages": sorted(texts),
                    "follow_up": spec.follow_up,
                },
            )
        return outcome

    def _tell(self, spec: DecisionSpec, texts: dict[str, str], ids: list[int]) -> Counter[str]:
        """Tell each person, or record why not, ``BATCH`` people a transaction; how many each
        way. With a follow-up, each person's message and follow-up conversation are stored
        in the same transaction."""
        tally: Counter[str] = Counter()

        def tell(connection: Connection, person: Person, now: datetime) -> tuple[str, bool]:
            said = _queue(self.sender, spec, texts, connection, person, now)
            return said, said == stored.SENT

        def asked(connection: Connection, contact_id: int, session_id: int) -> None:
            stored.follow_up_started(connection, spec.decision, contact_id, session_id)

        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            if spec.follow_up:
                said = self.conversations.start_each(
                    batch, FOLLOW_UP_FLOW, before=tell, started=asked
                )
                tally.update(said.values())
                continue
            with self.db.transaction() as tx:
                connection = tx.connection()
                now = self.clock()
                for person in contacts.lock_many(connection, batch).values():
                    tally[tell(connection, person, now)[0]] += 1
        return tally

    def _contributors(self, spec: DecisionSpec) -> Contributors:
        if spec.statements:
            with self.db.transaction() as tx:
                missing = opinions.unknown(tx.connection(), *_statement_refs(spec.statements))
            if missing:
                raise DecisionError(
                    f"decision {spec.decision!r} names statements that do not exist: "
                    f"{', '.join(missing)}; see `outreach statements list` for their ids"
                )
        return Contributors(spec.decision, tuple(spec.questions), tuple(spec.statements))


def results(db: Database, decision_id: str) -> DecisionResults:
    """A decision's record: who was told, who not and why, what they replied."""
    with db.transaction() as tx:
        row = stored.get(tx, decision_id)
        if row is None:
            raise DecisionError(f"no decision called {decision_id!r} has been recorded")
        spec = DecisionSpec.model_validate(row.spec)
        outcomes = stored.outcomes(tx, decision_id)
        replies, comments = _replies(tx, decision_id)
    sent_by_language: Counter[str] = Counter()
    not_sent: Counter[str] = Counter({reason: 0 for reason in REASONS})
    for (outcome, language), n in outcomes.items():
        if outcome == stored.SENT:
            sent_by_language[language] += n
        else:
            not_sent[outcome] += n
    sent = sum(sent_by_language.values())
    answered = sum(replies.values())
    shown_replies = suppress({**replies, "no reply": max(sent - answered, 0)})
    no_reply = shown_replies.pop("no reply")
    return DecisionResults(
        id=row.id,
        title=row.title,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        source=row.source,
        questions=[q.describe() for q in spec.questions],
        text=dict(spec.text),
        follow_up=spec.follow_up,
        sent=suppress({"": sent})[""],
        sent_by_language=suppress(dict(sent_by_language.most_common())),
        not_sent=suppress(dict(not_sent)),
        replies=shown_replies if spec.follow_up else {},
        no_reply=no_reply if spec.follow_up else 0,
        comments=suppress({"": comments})[""],
    )


def all_results(db: Database, *, event: str | None = None) -> list[DecisionResults]:
    """Every recorded decision, newest first (those answering questions about ``event``, if
    given)."""
    with db.transaction() as tx:
        rows = [(row.id, row.spec) for row in stored.listed(tx)]
    wanted = [
        decision_id
        for decision_id, spec in rows
        if event is None or event in DecisionSpec.model_validate(spec).events
    ]
    return [results(db, decision_id) for decision_id in wanted]


def questions_in(flows: Mapping[str, FlowDefinition]) -> list[Question]:
    """Every question the flows ask and save an answer to, for a coordinator to choose from."""
    return [question for question, _ in _asked_in(flows)]


@dataclass(frozen=True)
class Offered:
    """A question as the decisions page offers it: how the form names it, and the words
    people were asked it in (English), which is what a coordinator recognises."""

    value: str
    asked: str


ASKED_SHOWN = 140  # characters of a question's words shown beside its checkbox


def questions_offered(flows: Mapping[str, FlowDefinition]) -> list[Offered]:
    """``questions_in``, each with the words it was asked in."""
    offered = []
    for question, step in _asked_in(flows):
        words = " ".join((step.send or step.id).split())
        if len(words) > ASKED_SHOWN:  # cut between words, and say so
            words = words[:ASKED_SHOWN].rsplit(" ", 1)[0].rstrip(",;:") + " …"
        offered.append(Offered(question.describe(), words))
    return offered


def _asked_in(flows: Mapping[str, FlowDefinition]) -> list[tuple[Question, Step]]:
    return [
        (Question(flow=flow_id, answer=step.save_as), step)
        for flow_id, definition in sorted(flows.items())
        if flow_id != FOLLOW_UP_FLOW
        for step in definition.flow.steps
        if step.save_as is not None and step.ask is not None
    ]


def languages_read(db: Database) -> list[str]:
    """The languages people read, most read first: the texts a decision may want."""
    with db.transaction() as tx:
        rows = tx.execute(
            select(Contact.language, func.count())
            .where(Contact.erased_at.is_(None))
            .group_by(Contact.language)
            .order_by(func.count().desc(), Contact.language)
        ).all()
    return [language for language, _ in rows]


def find(
    settings: Settings, name: str, flows: Mapping[str, FlowDefinition]
) -> tuple[DecisionSpec, str] | None:
    """The decision ``name`` means, checked, and where it comes from: a decision file's path,
    or the id of one in the flows folder; None if neither (it may be recorded from the web)."""
    path = Path(name)
    if path.suffix in FLOW_SUFFIXES and path.is_file():
        found, problems = load_decision_files([path], max_bytes=settings.max_flow_bytes)
        if not found and not problems:
            raise DecisionError(f"{name} is not a decision file: it starts with `decision: <id>`")
    else:
        found, problems = load_decision_files(
            [settings.flows_dir], max_bytes=settings.max_flow_bytes
        )
        found = [d for d in found if d.id == name]
    events, _ = load_event_files([settings.flows_dir], max_bytes=settings.max_flow_bytes)
    problems += check_decisions(found, flows=flows, events={e.id for e in events})
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise FlowLoadError(errors)
    if not found:
        return None
    return found[0].spec, found[0].path


def _queue(
    sender: Sender,
    spec: DecisionSpec,
    texts: dict[str, str],
    connection: Connection,
    person: Person,
    now: datetime,
) -> str:
    """Under the person's lock: queue the decision for them, or record why not."""
    if person.erased_at is not None:
        return ""
    if stored.outcome_of(connection, spec.decision, person.id) == stored.SENT:
        return ""
    reason = (
        "opted_out"
        if person.opted_out
        else "unreachable"
        if person.address_id is None
        else "no_text"
        if person.language not in texts
        else None
    )
    message_id = None
    if reason is None:
        queued = sender.queue(
            connection,
            person,
            Content(texts[person.language]),
            now,
            initiated=True,
            flow=FOLLOW_UP_FLOW,
        )
        message_id = queued.message_id
    stored.record(
        connection,
        spec.decision,
        person.id,
        outcome=reason or stored.SENT,
        language=person.language,
        now=now,
        message_id=message_id,
    )
    return reason or stored.SENT


def _replies(tx: Session, decision_id: str) -> tuple[dict[str, int], int]:
    """The follow-up's answers from the people told this decision: counts per option, and
    how many wrote what would help."""
    value = cast(Answer.value, Text)
    mine = and_(
        DecisionRecipient.decision_id == decision_id,
        DecisionRecipient.session_id == Answer.session_id,
        DecisionRecipient.contact_id == Answer.contact_id,
    )
    rows = tx.execute(
        select(Answer.name, value, func.count())
        .join(DecisionRecipient, mine)
        .where(Answer.flow == FOLLOW_UP_FLOW, Answer.name.in_((FEELS_RIGHT, WHAT_WOULD_HELP)))
        .group_by(Answer.name, value)
    ).all()
    replies: Counter[str] = Counter()
    comments = 0
    for name, raw, n in rows:
        if name == FEELS_RIGHT:
            replies[answer_option(raw)] += int(n)
        else:
            comments += int(n)
    return dict(replies.most_common()), comments
