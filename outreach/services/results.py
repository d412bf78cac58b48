"""Results: what people said, and who was heard, as evidence a coordinator takes to a board.

Every number is counted in the database (``GROUP BY``), never by reading every row into
Python: an event with a hundred thousand invitations among a million answers is counted in two
grouped queries, in a few hundred milliseconds on PostgreSQL. What leaves this module is
aggregate and suppressed: a count from 1 to 4 is shown as ``"<5"`` (``SMALL``), and so is the
percentage that would reveal it; where only one count in a row or column of a table is hidden,
the next smallest is hidden too, shown as ``"*"``, so it cannot be worked out from the totals
(``suppress_table``). Free-text answers are shown only from people who agreed to be quoted
(the ``may-quote`` tag), never the answers about access needs.

Who attended is recorded as a tag, ``attended:<event id>`` (imported from the sign-in sheet
with ``outreach contacts import``); an access need is met when a coordinator tags its answer
with the theme ``met``.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from outreach.clock import Clock, utcnow
from outreach.errors import EventNotFound
from outreach.events.schema import english_text
from outreach.services.events import NO_NEEDS
from outreach.store import answer_themes, due, runs
from outreach.store import events as stored_events
from outreach.store.database import Database
from outreach.store.models import (
    Answer,
    AnswerTheme,
    Contact,
    ContactTag,
    ConversationSession,
    Event,
    Message,
    Rsvp,
)

SMALL = 5
"""Counts below this (and above zero) are shown as ``"<5"``."""
HIDDEN = f"<{SMALL}"
WITHHELD = "*"
"""A count of 5 or more hidden so that a count under 5 cannot be worked out from it."""
QUOTE_TAG = "may-quote"
MET_THEME = "met"
ACCESS_NEEDS = "access_needs"
GROUPS = ("language", "age_band", "ethnicity", "disability", "postcode_district")
"""The declared groups results are broken down by (columns of ``contacts``)."""
STATUSES = ("invited", "yes", "maybe", "no", "waiting", "no_reply", "attended")
"""The columns of an event's numbers: everyone invited, then what they said and did."""
COUNTED_KINDS = ("choice", "yesno", "rating", "number")
NOT_DECLARED = "not said"
QUOTES_PAGE = 50
ACCESS_PAGE = 500

Shown = int | str
"""A count as it may be shown: the number, or ``"<5"``."""


def attended_tag(event_id: str) -> str:
    """The tag that says a person came to the event.

    >>> attended_tag("mh-2027")
    'attended:mh-2027'
    """
    return f"attended:{event_id}"


def suppress(counts: Mapping[str, int]) -> dict[str, Shown]:
    """Counts as they may be shown: 1 to 4 as ``"<5"``; if that hides only one count, the
    next smallest is hidden too, as ``"*"`` (the total would give the hidden one away).

    >>> suppress({"a": 10, "b": 3, "c": 7, "d": 0})
    {'a': 10, 'b': '<5', 'c': '*', 'd': 0}
    >>> suppress({"a": 10, "b": 20})
    {'a': 10, 'b': 20}
    """
    return suppress_table({"": counts})[""]


def suppress_table(rows: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, Shown]]:
    """A table's counts as they may be shown: 1 to 4 as ``"<5"``, then, until nothing
    changes, wherever a row or a column has exactly one hidden count, its next smallest
    count is hidden too, so no hidden count can be worked out from the others and a total.

    >>> rows = {"a": {"x": 10, "y": 3}, "b": {"x": 20, "y": 30}, "c": {"x": 6, "y": 9}}
    >>> t = suppress_table(rows)  # a.y; then a.x (row a); c.x (column x); c.y (row c)
    >>> t["a"], t["b"], t["c"]
    ({'x': '*', 'y': '<5'}, {'x': 20, 'y': 30}, {'x': '*', 'y': '*'})
    """
    hidden = {(r, c) for r, row in rows.items() for c, n in row.items() if 0 < n < SMALL}
    lines = [[(r, c) for c in row] for r, row in rows.items()]
    columns = {c for row in rows.values() for c in row}
    lines += [[(r, c) for r in rows if c in rows[r]] for c in columns]
    changed = bool(hidden)
    while changed:
        changed = False
        for line in lines:
            if sum(1 for cell in line if cell in hidden) != 1:
                continue
            others = sorted(
                (rows[r][c], r, c) for r, c in line if (r, c) not in hidden and rows[r][c] > 0
            )
            if others:
                hidden.add((others[0][1], others[0][2]))
                changed = True
    return {
        r: {c: _hidden(n) if (r, c) in hidden else n for c, n in row.items()}
        for r, row in rows.items()
    }


def _hidden(n: int) -> str:
    return HIDDEN if n < SMALL else WITHHELD


def shown(n: int) -> Shown:
    """One count as it may be shown.

    >>> shown(0), shown(3), shown(12)
    (0, '<5', 12)
    """
    return HIDDEN if 0 < n < SMALL else n


def percent(part: Shown, whole: Shown) -> float | None:
    """``part`` of ``whole`` as a percentage, or None where either is hidden (a share of a
    shown count would reveal a hidden total, and the other way round).

    >>> percent(25, 200), percent("<5", 200), percent(30, "<5"), percent(0, 0)
    (12.5, None, None, None)
    """
    if isinstance(part, str) or isinstance(whole, str) or whole == 0:
        return None
    return round(100 * part / whole, 1)


# -- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    """One declared group's numbers (``value`` is what people said, or "not said")."""

    value: str
    counts: dict[str, Shown]
    percents: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class OptionCount:
    option: str
    count: Shown
    percent: float | None


@dataclass(frozen=True)
class QuestionResult:
    """One question of a flow: how many answered, and each option's share (or a rating's
    distribution); free-text questions carry only the number of answers (``quotes`` reads
    them)."""

    flow: str
    step: str
    name: str
    kind: str
    answers: Shown
    options: list[OptionCount]
    mean: float | None = None


@dataclass(frozen=True)
class ReachRow:
    """Who answered against who was invited, in one declared group."""

    value: str
    invited: Shown
    answered: Shown
    percent: float | None


@dataclass(frozen=True)
class EventAbout:
    """Which event, when and where."""

    event_id: str
    title: str
    starts_at: datetime
    timezone: str
    venue: str


@dataclass(frozen=True)
class EventResults:
    """Everything a board needs about one event, suppressed and ready to show or export."""

    event_id: str
    title: str
    starts_at: datetime
    timezone: str
    venue: str
    totals: dict[str, Shown]
    by_group: dict[str, list[GroupRow]]
    access_needs: Shown
    access_needs_met: Shown
    reminders_sent: int
    sends_done: list[str]
    upcoming: list[tuple[datetime, str]]
    questions: list[QuestionResult]
    reach: dict[str, list[ReachRow]]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["starts_at"] = self.starts_at.isoformat()
        data["upcoming"] = [{"at": at.isoformat(), "what": what} for at, what in self.upcoming]
        return data


@dataclass(frozen=True)
class AccessNeed:
    """What one person said would help them take part, and whether it was met."""

    answer_id: int
    text: str
    language: str
    at: datetime
    met: bool


@dataclass(frozen=True)
class Quote:
    """A free-text answer someone agreed may be quoted, with the themes it was tagged."""

    answer_id: int
    flow: str
    name: str
    text: str
    language: str
    at: datetime
    themes: list[str]


# -- the service --------------------------------------------------------------------------------


class Results:
    """Reads results from the store; every query is an aggregate over indexed rows.

    ``fresh_for``: an event's numbers may be this old. Counting a hundred thousand
    invitations and their answers takes a few hundred milliseconds on PostgreSQL; pages keep
    the counts for a little while (the web app: ``PAGE_FRESHNESS``) so a coordinator moving
    between pages does not wait for the count again. Reports count afresh.
    """

    def __init__(
        self, db: Database, *, clock: Clock = utcnow, fresh_for: timedelta = timedelta(0)
    ) -> None:
        self.db = db
        self.clock = clock
        self.fresh_for = fresh_for
        self._kept: dict[str, tuple[datetime, EventResults]] = {}
        self._lock = threading.Lock()

    def forget(self, event_id: str) -> None:
        """Count the event afresh next time (a coordinator changed something)."""
        with self._lock:
            self._kept.pop(event_id, None)

    def event(self, event_id: str) -> EventResults:
        """The event's numbers, at most ``fresh_for`` old."""
        now = self.clock()
        with self._lock:
            kept = self._kept.get(event_id)
        if kept is not None and now - kept[0] < self.fresh_for:
            return kept[1]
        found = self._count(event_id)
        if self.fresh_for:
            with self._lock:
                self._kept[event_id] = (now, found)
        return found

    def _count(self, event_id: str) -> EventResults:
        # The answers are counted on a second connection while this one counts the invitees:
        # the two scans take a core each. Not on SQLite, whose transactions take turns.
        side_by_side = not self.db.dialect.one_writer
        with ThreadPoolExecutor(1, thread_name_prefix="count") as pool:
            answers = pool.submit(self._count_answers, event_id) if side_by_side else None
            return self._count_with(event_id, answers)

    def _count_answers(self, event_id: str) -> list[QuestionResult]:
        with self.db.transaction() as tx:
            return _questions(tx, event_id)

    def _count_with(
        self, event_id: str, answers: Future[list[QuestionResult]] | None
    ) -> EventResults:
        with self.db.transaction() as tx:
            event = _stored(tx, event_id)
            cells = _cells(tx, event_id)
            access, met = _access_needs(tx, event_id)
            return EventResults(
                event_id=event.id,
                title=event.title,
                starts_at=event.starts_at,
                timezone=event.timezone,
                venue=english_text(event.details.get("venue", "")),
                totals=suppress(_pivot_total(cells)),
                by_group={group: _group_rows(cells, group) for group in GROUPS},
                access_needs=shown(access),
                access_needs_met=shown(met),
                reminders_sent=_reminders_sent(tx, event_id),
                # Run keys are "<event>/<what>/<start time>".
                sends_done=sorted(
                    key.split("/")[1] for key in runs.done(tx, "event", f"{event_id}/")
                ),
                upcoming=due.upcoming_event_sends(tx, event_id),
                questions=answers.result() if answers else _questions(tx, event_id),
                reach={group: _reach(cells, group) for group in GROUPS},
            )

    def about(self, event_id: str) -> EventAbout:
        """The event's name, time and place, without counting anything."""
        with self.db.transaction() as tx:
            event = _stored(tx, event_id)
            return EventAbout(
                event.id,
                event.title,
                event.starts_at,
                event.timezone,
                english_text(event.details.get("venue", "")),
            )

    def reach(self, event_id: str) -> dict[str, list[ReachRow]]:
        """Who answered against who was invited, by each declared group."""
        return self.event(event_id).reach

    def tag(self, event_id: str, answer_id: int, theme: str, *, now: datetime) -> bool:
        """Tag an answer about the event with a theme: a quotable answer with any theme, an
        access need only as ``met``. False (nothing done) for any other answer."""
        allowed = or_(
            and_(Answer.kind == "text", Answer.name != ACCESS_NEEDS, may_quote()),
            and_(Answer.name == ACCESS_NEEDS, literal(theme == MET_THEME)),
        )
        with self.db.transaction() as tx:
            found = tx.scalar(
                select(Answer.id).where(
                    Answer.id == answer_id, Answer.event_id == event_id, allowed
                )
            )
            if found is None:
                return False
            answer_themes.tag(tx, answer_id, theme, now)
        self.forget(event_id)
        return True

    def access_needs(self, event_id: str) -> list[AccessNeed]:
        """What people told us would help them take part, for the coordinator who arranges
        it (never in a report), and whether it was met."""
        met = exists().where(AnswerTheme.answer_id == Answer.id, AnswerTheme.theme == MET_THEME)
        with self.db.transaction() as tx:
            rows = tx.execute(
                select(Answer.id, Answer.raw, Answer.language, Answer.at, met)
                .where(_told_a_need(event_id))
                .order_by(Answer.at, Answer.id)
                .limit(ACCESS_PAGE)
            ).all()
        return [AccessNeed(row[0], row[1] or "", row[2], row[3], bool(row[4])) for row in rows]

    def quotes(
        self,
        event_id: str,
        *,
        search: str = "",
        theme: str = "",
        limit: int = QUOTES_PAGE,
    ) -> list[Quote]:
        """Free-text answers about an event from people who agreed to be quoted, newest
        first, optionally only those containing ``search`` or tagged ``theme``."""
        query = (
            select(Answer.id, Answer.flow, Answer.name, Answer.raw, Answer.language, Answer.at)
            .where(
                Answer.event_id == event_id,
                Answer.kind == "text",
                Answer.name != ACCESS_NEEDS,
                Answer.raw.is_not(None),
                may_quote(),
            )
            .order_by(Answer.at.desc(), Answer.id.desc())
            .limit(limit)
        )
        if search:
            query = query.where(func.lower(Answer.raw).contains(search.lower(), autoescape=True))
        if theme:
            query = query.where(
                exists().where(AnswerTheme.answer_id == Answer.id, AnswerTheme.theme == theme)
            )
        with self.db.transaction() as tx:
            rows = tx.execute(query).all()
            themes = answer_themes.of(tx, [row.id for row in rows])
        return [
            Quote(row.id, row.flow, row.name, row.raw or "", row.language, row.at, themes[row.id])
            for row in rows
        ]

    def themes(self, event_id: str) -> dict[str, Shown]:
        """The themes answers about an event were tagged with, and how many each."""
        with self.db.transaction() as tx:
            rows = tx.execute(
                select(AnswerTheme.theme, func.count())
                .join(Answer, Answer.id == AnswerTheme.answer_id)
                .where(Answer.event_id == event_id)
                .group_by(AnswerTheme.theme)
                .order_by(AnswerTheme.theme)
            ).all()
        return {theme: shown(n) for theme, n in rows}

    def answers(self, event_id: str) -> list[dict[str, Any]]:
        """Every answer about an event, for an export: who by number only (the caller
        pseudonymises it), free text only from people who agreed to be quoted."""
        quotable = may_quote()
        with self.db.transaction() as tx:
            rows = tx.execute(
                select(
                    Answer.id,
                    Answer.contact_id,
                    Answer.session_id,
                    Answer.flow,
                    Answer.step,
                    Answer.name,
                    Answer.kind,
                    Answer.value,
                    Answer.language,
                    Answer.at,
                    quotable.label("quotable"),
                )
                .where(Answer.event_id == event_id)
                .order_by(Answer.at, Answer.id)
            ).all()
        return [
            {
                "answer_id": row.id,
                "contact_id": row.contact_id,
                "session_id": row.session_id,
                "flow": row.flow,
                "step": row.step,
                "question": row.name,
                "kind": row.kind,
                "value": _exported_value(row.kind, row.name, row.value, bool(row.quotable)),
                "language": row.language,
                "at": row.at,
            }
            for row in rows
        ]


def _stored(tx: Session, event_id: str) -> Event:
    found = stored_events.stored(tx, event_id)
    if not found:
        raise EventNotFound(event_id, [e.id for e in stored_events.stored(tx)])
    return found[0]


def may_quote() -> Any:
    """The answer's author agreed to be quoted."""
    return exists().where(ContactTag.contact_id == Answer.contact_id, ContactTag.tag == QUOTE_TAG)


def _exported_value(kind: str, name: str, value: Any, quotable: bool) -> Any:
    if kind != "text":
        return value
    return value if quotable and name != ACCESS_NEEDS else None


# -- the queries --------------------------------------------------------------------------------


def _status_column() -> Any:
    """An RSVP's status as the results name it."""
    return case(
        (Rsvp.status.in_(("waitlist", "offered")), "waiting"),
        (Rsvp.status == "invited", "no_reply"),
        else_=Rsvp.status,
    )


@dataclass(frozen=True)
class _Cell:
    """One group of an event's invitees that share every declared group, RSVP, attendance
    and whether they answered: the grouped row the whole page is summed from."""

    groups: dict[str, str]
    status: str
    attended: bool
    answered: bool
    people: int


def _cells(tx: Session, event_id: str) -> list[_Cell]:
    """Every invitee counted in one pass: GROUP BY the declared groups, the RSVP, and two
    flags from outer joins (came, answered). Thousands of people become a few hundred rows."""
    came = aliased(ContactTag)
    answered = select(Answer.contact_id).where(Answer.event_id == event_id).distinct().subquery()
    columns = [getattr(Contact, group) for group in GROUPS]
    status = _status_column()
    flags = [came.contact_id.is_not(None), answered.c.contact_id.is_not(None)]
    rows = tx.execute(
        select(*columns, status, *flags, func.count())
        .select_from(Rsvp)
        .join(Contact, Contact.id == Rsvp.contact_id)
        .outerjoin(
            came, and_(came.contact_id == Rsvp.contact_id, came.tag == attended_tag(event_id))
        )
        .outerjoin(answered, answered.c.contact_id == Rsvp.contact_id)
        .where(Rsvp.event_id == event_id)
        .group_by(*columns, status, *flags)
    ).all()
    n = len(GROUPS)
    return [
        _Cell(
            {group: row[i] or NOT_DECLARED for i, group in enumerate(GROUPS)},
            str(row[n]),
            bool(row[n + 1]),
            bool(row[n + 2]),
            int(row[n + 3]),
        )
        for row in rows
    ]


def _pivot_total(cells: Sequence[_Cell]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for cell in cells:
        if cell.status in counts:
            counts[cell.status] += cell.people
        counts["invited"] += cell.people
        counts["attended"] += cell.people if cell.attended else 0
    return counts


def _by_value(cells: Sequence[_Cell], group: str) -> dict[str, list[_Cell]]:
    found: dict[str, list[_Cell]] = defaultdict(list)
    for cell in cells:
        found[cell.groups[group]].append(cell)
    return dict(sorted(found.items()))


def _group_rows(cells: Sequence[_Cell], group: str) -> list[GroupRow]:
    table = suppress_table(
        {value: _pivot_total(mine) for value, mine in _by_value(cells, group).items()}
    )
    return [
        GroupRow(
            value,
            counts,
            {key: percent(counts[key], counts["invited"]) for key in STATUSES[1:]},
        )
        for value, counts in table.items()
    ]


def _reach(cells: Sequence[_Cell], group: str) -> list[ReachRow]:
    table = suppress_table(
        {
            value: {
                "invited": sum(c.people for c in mine),
                "answered": sum(c.people for c in mine if c.answered),
            }
            for value, mine in _by_value(cells, group).items()
        }
    )
    return [
        ReachRow(value, row["invited"], row["answered"], percent(row["answered"], row["invited"]))
        for value, row in table.items()
    ]


def _told_a_need(event_id: str) -> Any:
    """An answer about the event that names an access need (not "none")."""
    return and_(
        Answer.event_id == event_id,
        Answer.name == ACCESS_NEEDS,
        Answer.raw.is_not(None),
        func.lower(func.trim(Answer.raw)).not_in(sorted(NO_NEEDS)),
    )


def _access_needs(tx: Session, event_id: str) -> tuple[int, int]:
    """How many told us of an access need (not "none"), and how many of those were met."""
    met = exists().where(AnswerTheme.answer_id == Answer.id, AnswerTheme.theme == MET_THEME)
    row = tx.execute(
        select(func.count(), func.sum(case((met, 1), else_=0))).where(_told_a_need(event_id))
    ).one()
    return int(row[0]), int(row[1] or 0)


def _reminders_sent(tx: Session, event_id: str) -> int:
    """Reminders of a question sent in the event's conversations."""
    return int(
        tx.scalar(
            select(func.count())
            .select_from(Message)
            .join(ConversationSession, ConversationSession.id == Message.session_id)
            .where(ConversationSession.event_id == event_id, Message.kind == "reminder")
        )
        or 0
    )


def _questions(tx: Session, event_id: str) -> list[QuestionResult]:
    """Each question's counts per value (free text: only how many), in one grouped scan of
    the event's answers."""
    counted = Answer.kind.in_(COUNTED_KINDS)
    value = case((counted, cast(Answer.value, Text)), else_=None)
    rows = tx.execute(
        select(Answer.flow, Answer.step, Answer.name, Answer.kind, value, func.count())
        .where(
            Answer.event_id == event_id,
            counted | ((Answer.kind == "text") & (Answer.name != ACCESS_NEEDS)),
        )
        .group_by(Answer.flow, Answer.step, Answer.name, Answer.kind, value)
    ).all()
    grouped: dict[tuple[str, str, str, str], dict[str, int]] = defaultdict(dict)
    texts = []
    for flow, step, name, kind, raw_value, n in rows:
        if kind == "text":
            texts.append((flow, step, name, int(n)))
            continue
        option = answer_option(raw_value)
        counts = grouped[(flow, step, name, kind)]
        counts[option] = counts.get(option, 0) + int(n)
    results = []
    for (flow, step, name, kind), counts in grouped.items():
        total = sum(counts.values())
        ordered = _ordered(kind, counts)
        hidden = suppress(ordered)
        mean = None
        # An average with a hidden count would let it be worked out: none then.
        if kind in ("rating", "number") and not any(isinstance(n, str) for n in hidden.values()):
            numeric = [(float(k), n) for k, n in ordered.items() if _is_number(k)]
            if numeric:
                mean = round(sum(k * n for k, n in numeric) / sum(n for _, n in numeric), 2)
        results.append(
            QuestionResult(
                flow,
                step,
                name,
                kind,
                shown(total),
                [OptionCount(k, hidden[k], percent(hidden[k], total)) for k in ordered],
                mean,
            )
        )
    for flow, step, name, n in texts:
        results.append(QuestionResult(flow, step, name, "text", shown(n), []))
    return sorted(results, key=lambda q: (q.flow, q.name))


def answer_option(raw_value: Any) -> str:
    """An answer's stored value as the option it counts under (yes/no for a yes-no)."""
    try:
        decoded = json.loads(raw_value) if isinstance(raw_value, str) else raw_value
    except ValueError:
        decoded = raw_value
    if isinstance(decoded, bool):
        return "yes" if decoded else "no"
    return str(decoded)


def _ordered(kind: str, counts: dict[str, int]) -> dict[str, int]:
    """Ratings and numbers in numeric order; options by how many chose them."""
    if kind in ("rating", "number") and all(_is_number(k) for k in counts):
        return dict(sorted(counts.items(), key=lambda kv: float(kv[0])))
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
