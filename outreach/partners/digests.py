"""A partner's digest: what happened in the period among the people and events it follows, in
its channel, in its language.

Aggregate by design (design principle 8): counts, never who, except the words of people who
agreed to be quoted (``fields.agreed_to_quote``) for a partner that ``sees: quotes``, and
handoffs by first name and pseudonym. Reach by declared group counts fewer than five as "<5".

The digest is built once as data (``Digest``) and rendered twice from it: Block Kit within
Slack's limits (3000 characters a section, 50 blocks a message; a longer digest becomes
several messages) and the plain text alongside, which ``outreach digests preview`` prints.
Posting is due work (``digest``): the once-per-period job only queues it, so a Slack outage
or a 429 that outlasts the client's waits leaves the row to be tried again, and nothing is
lost.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, Select, func, or_, select

from outreach.channels.slack import MAX_BLOCKS, MAX_SECTION, split_text
from outreach.clock import Clock, utcnow
from outreach.errors import PartnerError
from outreach.flows.loader import FlowDefinition
from outreach.i18n.catalogs import N_, Translate, english
from outreach.partners.library import PartnerDefinition
from outreach.partners.threads import escape, gives_up, pseudonym
from outreach.scheduling.periodic import PeriodicJob, last_fire_time
from outreach.store import due
from outreach.store.database import Database
from outreach.store.models import (
    Answer,
    ConsentEvent,
    Contact,
    ContactTag,
    ConversationSession,
    Event,
    Handoff,
    Message,
    Rsvp,
)

POST = "digest"  # due work: post a partner's digest for a period
SMALL = 5  # groups smaller than this are shown as "<5"
BAR = 10  # characters of the longest bar
MAX_QUOTES = 10
MAX_QUOTE = 280
GROUPS = ("age_band", "ethnicity", "disability")  # declared groups, for reach

TITLE = N_("Digest for {partner}: {start} to {end}")
NOTHING = N_("Nothing new for {partner} between {start} and {end}.")
EVENTS = N_("Upcoming events")
EVENT_LINE = N_("{title} ({date}): yes {yes}, maybe {maybe}, no {no}, waiting list {waiting}")
ACCESS = N_("{count} told us something would help them take part (access needs)")
SURVEY = N_("New answers")
QUOTES = N_("In their own words (people who agreed to be quoted)")
WAITING = N_("Conversations waiting for a person")
WAITING_LINE = N_("#{id} {who}, since {since}")
NOBODY_WAITING = N_("Nobody is waiting.")
LOSSES = N_("Opt-outs and delivery failures")
OPT_OUTS = N_("Opt-outs: {count}")
FAILURES = N_("Messages that could not be delivered: {count}")
REACH = N_("Reach by declared group")
NOT_DECLARED = N_("not declared")


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """A partner's digest as data: a title and sections (none: the period was empty)."""

    partner: str
    channel: str | None
    title: str
    sections: tuple[Section, ...] = ()
    empty_line: str = ""

    @property
    def text(self) -> str:
        """The plain-text version."""
        if not self.sections:
            return self.empty_line
        parts = [self.title]
        for section in self.sections:
            parts.append("")
            parts.append(section.heading)
            parts.extend(section.lines)
        return "\n".join(parts)

    def messages(self) -> list[dict[str, Any]]:
        """The Slack messages to post (``text`` and ``blocks`` each), within Slack's limits."""
        if not self.sections:
            return [
                {
                    "text": escape(self.empty_line),
                    "blocks": [{"type": "section", "text": _plain(self.empty_line)}],
                }
            ]
        blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(self.title[:150])}]
        texts = [self.title]
        for section in self.sections:
            body = "\n".join(section.lines)
            blocks.append({"type": "divider"})
            blocks.append({"type": "section", "text": _plain(section.heading[:MAX_SECTION])})
            blocks += [
                {"type": "section", "text": _plain(part)}
                for part in split_text(body, MAX_SECTION, MAX_BLOCKS)
            ]
            texts.append(f"{section.heading}\n{body}")
        out = []
        for start in range(0, len(blocks), MAX_BLOCKS):
            chunk = blocks[start : start + MAX_BLOCKS]
            fallback = "\n".join(b["text"]["text"] for b in chunk if "text" in b)
            out.append({"text": escape(fallback)[:3900], "blocks": chunk})
        return out

    def preview(self) -> str:
        """What ``outreach digests preview`` prints: the text, then the Block Kit JSON."""
        return self.text + "\n\n" + json.dumps(self.messages(), indent=2, ensure_ascii=False)


class Digests:
    """Builds, schedules and posts partners' digests."""

    def __init__(
        self,
        db: Database,
        *,
        partners: Mapping[str, PartnerDefinition],
        flows: Mapping[str, FlowDefinition],
        client: WebClient | None,
        secret: str = "",
        translate: Translate = english,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.partners = partners
        self.flows = flows
        self.client = client
        self.secret = secret
        self.translate = translate
        self.clock = clock

    # -- scheduling ----------------------------------------------------------------------------

    def jobs(self) -> list[PeriodicJob]:
        """One job per partner with a digest channel, once per period across all workers."""
        return [
            PeriodicJob(
                f"digest:{p.id}"[:64],
                self.trigger(p),
                partial(self.queue, p.id),
                once_per_period=True,
            )
            for p in self.partners.values()
            if p.spec.digest_channel
        ]

    @staticmethod
    def trigger(partner: PartnerDefinition) -> CronTrigger:
        schedule = partner.spec.digest
        return CronTrigger(**schedule.cron, timezone=ZoneInfo(schedule.timezone))

    def period(
        self, partner: PartnerDefinition, end: datetime | None = None
    ) -> tuple[datetime, datetime]:
        """The period a digest ending at ``end`` (default: its last scheduled time) covers."""
        end = end or last_fire_time(self.trigger(partner), self.clock())
        span = timedelta(days=1 if partner.spec.digest.every == "day" else 7)
        return end - span, end

    def queue(self, partner_id: str, *, end: datetime | None = None) -> str:
        """Queue the digest's posting (the period job's work)."""
        start, stop = self.period(self.partner(partner_id), end)
        now = self.clock()
        with self.db.transaction() as tx:
            due.schedule_work(
                tx.connection(),
                kind=POST,
                payload={
                    "partner": partner_id,
                    "start": start.isoformat(),
                    "end": stop.isoformat(),
                },
                now=now,
            )
        return f"queued the digest for {partner_id}"

    def post(self, due_id: int) -> None:
        """Post a queued digest (due work ``digest``); an error leaves it to be tried again."""
        with self.db.transaction() as tx:
            item = due.get(tx.connection(), due_id)
        if item is None:
            return
        payload = item.payload
        partner = self.partners.get(payload.get("partner", ""))
        if partner is not None:
            start = datetime.fromisoformat(payload["start"])
            end = datetime.fromisoformat(payload["end"])
            try:
                self.send(self.build(partner.id, start, end))
            except SlackApiError as exc:
                if not gives_up(exc):
                    raise  # passing: the row is tried again when its lease runs out
        with self.db.transaction() as tx:
            due.done(tx.connection(), due_id)

    def send(self, digest: Digest) -> int:
        """Post a digest now; returns how many messages it took."""
        if self.client is None or digest.channel is None:
            raise PartnerError(
                f"partner {digest.partner!r} cannot be posted to: give it a digest_channel and "
                "set SLACK_BOT_TOKEN"
            )
        posted = 0
        for message in digest.messages():
            self.client.chat_postMessage(
                channel=digest.channel, unfurl_links=False, unfurl_media=False, **message
            )
            posted += 1
        return posted

    # -- building ------------------------------------------------------------------------------

    def build(self, partner_id: str, start: datetime, end: datetime) -> Digest:
        """The digest of ``partner_id`` for ``[start, end)``."""
        partner = self.partner(partner_id)
        language = partner.spec.digest.language
        zone = ZoneInfo(partner.spec.digest.timezone)

        def say(text: str, **values: object) -> str:
            found = self.translate(language, text)
            for name, value in values.items():
                found = found.replace("{" + name + "}", str(value))
            return found

        def day(at: datetime) -> str:
            return at.astimezone(zone).strftime("%d %b %Y %H:%M")

        span = {"partner": partner.spec.name, "start": day(start), "end": day(end)}
        with self.db.transaction() as tx:
            c = tx.connection()
            people = _followed(partner)
            sections = [
                self._events(c, partner, end, say, day),
                self._answers(c, partner, start, end, say),
                self._quotes(c, partner, start, end, say),
                self._waiting(c, partner, say, day),
                self._losses(c, people, start, end, say),
                self._reach(c, partner, people, say),
            ]
        found = tuple(s for s in sections if s is not None)
        news = [s for s in found if s.heading not in (say(WAITING), say(REACH))]
        waiting = any(
            s.heading == say(WAITING) and s.lines != (say(NOBODY_WAITING),) for s in found
        )
        return Digest(
            partner_id,
            partner.spec.digest_channel,
            say(TITLE, **span),
            found if news or waiting else (),
            say(NOTHING, **span),
        )

    def _events(
        self, c: Connection, partner: PartnerDefinition, now: datetime, say: Any, day: Any
    ) -> Section | None:
        events = c.execute(
            select(Event.id, Event.title, Event.starts_at)
            .where(Event.id.in_(partner.spec.follows.events), Event.starts_at >= now)
            .order_by(Event.starts_at)
        ).all()
        if not events:
            return None
        lines = []
        for event in events:
            counts = Counter(
                dict(
                    c.execute(
                        select(Rsvp.status, func.count())
                        .where(Rsvp.event_id == event.id)
                        .group_by(Rsvp.status)
                    ).all()
                )
            )
            lines.append(
                "• "
                + say(
                    EVENT_LINE,
                    title=event.title,
                    date=day(event.starts_at),
                    yes=counts["yes"],
                    maybe=counts["maybe"],
                    no=counts["no"],
                    waiting=counts["waitlist"],
                )
            )
            needs = c.execute(
                select(func.count(func.distinct(Answer.contact_id))).where(
                    Answer.event_id == event.id,
                    Answer.name == "access_needs",
                    func.lower(func.trim(Answer.raw)).not_in(("none", "no", "n", "nothing")),
                )
            ).scalar_one()
            if needs:
                lines.append("   " + say(ACCESS, count=needs))
        return Section(say(EVENTS), tuple(lines))

    def _answers(
        self, c: Connection, partner: PartnerDefinition, start: datetime, end: datetime, say: Any
    ) -> Section | None:
        # Counted here, not grouped in SQL: PostgreSQL cannot compare JSON values.
        rows = c.execute(
            select(Answer.flow, Answer.step, Answer.name, Answer.value).where(
                _about(partner),
                Answer.at >= start,
                Answer.at < end,
                Answer.kind.in_(("choice", "yesno", "rating", "number")),
            )
        ).all()
        if not rows:
            return None
        questions: dict[tuple[str, str, str], Counter[str]] = {}
        for flow, step, name, value in rows:
            questions.setdefault((flow, step, name), Counter())[str(value)] += 1
        lines: list[str] = []
        for (flow, step, name), counts in sorted(questions.items()):
            lines.append(f"{flow} · {name}")
            labels = self._labels(flow, step)
            most = max(counts.values())
            for value, n in counts.most_common():
                bar = "█" * max(1, round(BAR * n / most))
                lines.append(f"   {labels.get(value, value)}  {bar} {n}")
        return Section(say(SURVEY), tuple(lines))

    def _quotes(
        self, c: Connection, partner: PartnerDefinition, start: datetime, end: datetime, say: Any
    ) -> Section | None:
        if "quotes" not in partner.spec.sees:
            return None
        rows = c.execute(
            select(Answer.raw, Contact.fields)
            .join(Contact, Contact.id == Answer.contact_id)
            .where(
                _about(partner),
                Answer.kind == "text",
                Answer.at >= start,
                Answer.at < end,
                Answer.raw.is_not(None),
                Contact.erased_at.is_(None),
            )
            .order_by(Answer.at)
        ).all()
        quotes = [
            f"“{_shorten(r.raw.strip(), MAX_QUOTE)}”"
            for r in rows
            if (r.fields or {}).get("agreed_to_quote") is True and r.raw.strip()
        ]
        if not quotes:
            return None
        return Section(say(QUOTES), tuple(quotes[:MAX_QUOTES]))

    def _waiting(self, c: Connection, partner: PartnerDefinition, say: Any, day: Any) -> Section:
        rows = c.execute(
            select(Handoff.id, Handoff.contact_id, Handoff.created_at, Contact.first_name)
            .join(Contact, Contact.id == Handoff.contact_id)
            .where(
                Handoff.partner == partner.id,
                Handoff.status == "open",
                Handoff.answered_at.is_(None),
            )
            .order_by(Handoff.created_at)
        ).all()
        lines = [
            "• "
            + say(
                WAITING_LINE,
                id=r.id,
                who=" ".join(filter(None, [r.first_name, pseudonym(r.contact_id, self.secret)])),
                since=day(r.created_at),
            )
            for r in rows
        ]
        return Section(say(WAITING), tuple(lines) or (say(NOBODY_WAITING),))

    def _losses(
        self, c: Connection, people: Select[Any], start: datetime, end: datetime, say: Any
    ) -> Section | None:
        opt_outs = c.execute(
            select(func.count()).where(
                ConsentEvent.status == "opted_out",
                ConsentEvent.at >= start,
                ConsentEvent.at < end,
                ConsentEvent.contact_id.in_(people),
            )
        ).scalar_one()
        failures = c.execute(
            select(func.count()).where(
                Message.direction == "out",
                Message.status.in_(("failed", "undelivered")),
                Message.updated_at >= start,
                Message.updated_at < end,
                Message.contact_id.in_(people),
            )
        ).scalar_one()
        if not opt_outs and not failures:
            return None
        return Section(say(LOSSES), (say(OPT_OUTS, count=opt_outs), say(FAILURES, count=failures)))

    def _reach(
        self, c: Connection, partner: PartnerDefinition, people: Select[Any], say: Any
    ) -> Section | None:
        if "reach" not in partner.spec.sees:
            return None
        lines: list[str] = []
        for group in GROUPS:
            column = getattr(Contact, group)
            rows = c.execute(
                select(column, func.count())
                .where(Contact.id.in_(people), Contact.erased_at.is_(None))
                .group_by(column)
            ).all()
            if not rows:
                continue
            shown = ", ".join(
                f"{value or say(NOT_DECLARED)} {small(n)}"
                for value, n in sorted(rows, key=lambda r: (r[0] is None, str(r[0])))
            )
            lines.append(f"{group.replace('_', ' ')}: {shown}")
        return Section(say(REACH), tuple(lines)) if lines else None

    # -- helpers -------------------------------------------------------------------------------

    def _labels(self, flow: str, step: str) -> dict[str, str]:
        definition = self.flows.get(flow)
        found = definition.steps.get(step) if definition is not None else None
        if found is None or found.ask is None or found.ask.choice is None:
            return {}
        return {key: option.label for key, option in found.ask.choice.items()}

    def partner(self, partner_id: str) -> PartnerDefinition:
        partner = self.partners.get(partner_id)
        if partner is None:
            known = ", ".join(sorted(self.partners)) or "none: add flows/partners/*.yaml"
            raise PartnerError(f"there is no partner {partner_id!r} (partners: {known})")
        return partner


def small(n: int) -> str:
    """A count as a partner sees it: fewer than five people are not told apart.

    >>> small(3), small(5), small(0)
    ('<5', '5', '0')
    """
    return "<5" if 0 < n < SMALL else str(n)


def _followed(partner: PartnerDefinition) -> Select[Any]:
    """The ids of the people a partner follows: in its flows or events, or with its tags."""
    follows = partner.spec.follows
    in_sessions = select(ConversationSession.contact_id).where(
        or_(
            ConversationSession.flow.in_(follows.flows),
            ConversationSession.event_id.in_(follows.events),
        )
    )
    invited = select(Rsvp.contact_id).where(Rsvp.event_id.in_(follows.events))
    tagged = select(ContactTag.contact_id).where(ContactTag.tag.in_(follows.tags))
    return in_sessions.union(invited, tagged)  # type: ignore[return-value]


def _about(partner: PartnerDefinition) -> Any:
    follows = partner.spec.follows
    return or_(Answer.flow.in_(follows.flows), Answer.event_id.in_(follows.events))


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text or " ", "emoji": True}


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
