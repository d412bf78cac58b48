"""Handoffs in Slack: each one a thread in the handoff channel of the partner that follows the
conversation (else the default handoff channel), where the team talks to the person.

The parent message says who (a first name and a short pseudonymous id; their number only if
they agreed to be contacted), why, the flow and step, and the recent conversation, with a
Resolve button. A reply in the thread goes to the person as a normal message; what the
person texts while it is open is posted in the thread. Nobody answering within the
configured time raises it again in the thread.

Everything here runs after the conversation's transaction: posting a handoff is due work
(``outreach.conversations.handoffs``), so a Slack outage or a 429 delays it and loses nothing
(the client waits out Slack's ``Retry-After``; an error leaves the row for its lease to run
out and another try). Without Slack the handoffs are still listed by ``outreach handoffs``
and the coordinators' page.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, select

from outreach.channels.slack import MAX_SECTION, classify_error, split_text
from outreach.clock import Clock, utcnow
from outreach.conversations.handoffs import TeamSide
from outreach.errors import HandoffError
from outreach.i18n.catalogs import N_, Translate, english
from outreach.partners.library import PartnerDefinition
from outreach.store import contacts, due, handoffs, messages
from outreach.store.database import Database
from outreach.store.models import Contact, ContactAddress, ConversationSession

log = logging.getLogger(__name__)

RESOLVE_ACTION = "outreach_handoff_resolve"
RECENT = 8  # messages of the conversation shown when a handoff opens
MAX_QUOTED = 500  # characters of each message shown

REASONS = {
    "human": N_("They asked to talk to a person."),
    "handoff": N_("Their conversation passed them to a person."),
    "unhandled": N_("A message came with no conversation waiting for it."),
    "possible-opt-out": N_("Their message may mean they want to stop messages: please check."),
    "after-event": N_("A reply came after the event stopped taking replies."),
    "safeguarding": N_(
        "SAFEGUARDING: their message suggests a risk to them. They were sent the crisis "
        "contacts. Please act now."
    ),
}
CONCERNS = {
    "self-harm": N_("Concern: they may harm themselves."),
    "abuse": N_("Concern: they may be being abused or unsafe at home."),
    "crisis": N_("Concern: they may be in crisis."),
}
TITLE = N_("Someone needs a person: {who}")
WHERE = N_("Conversation: {flow}, step {step}")
RECENT_TITLE = N_("Recent messages:")
THEM = N_("Them")
US = N_("Us")
HOW = N_("Reply in this thread to text them. Press Resolve when it is done.")
RESOLVE = N_("Resolve")
RESOLVED = N_("Resolved by {who}.")
STILL_WAITING = N_("Still waiting: nobody has answered this yet.")
NOT_SENT = N_("This conversation is resolved: your message was not sent.")
REPLY_FAILED = N_("Your message was not sent: {why}")


@dataclass(frozen=True, slots=True)
class Who:
    """A person as a partner sees them."""

    name: str  # a first name and a short pseudonymous id, and their number if they agreed
    language: str


def pseudonym(contact_id: int, secret: str = "") -> str:
    """A short id that stands for a person without naming them (stable, not reversible
    without the secret).

    >>> pseudonym(42, "s") == pseudonym(42, "s"), len(pseudonym(42, "s"))
    (True, 8)
    """
    digest = hashlib.blake2b(str(contact_id).encode(), key=secret.encode()[:64], digest_size=3)
    return "P-" + digest.hexdigest()


def escape(text: str) -> str:
    """Text as Slack shows it literally in a message's ``text`` (no mentions, no links).

    >>> escape("<!channel> & co")
    '&lt;!channel&gt; &amp; co'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


class HandoffThreads:
    """Posts handoffs to Slack and takes the team's replies and Resolve presses back."""

    def __init__(
        self,
        db: Database,
        team: TeamSide,
        *,
        partners: Mapping[str, PartnerDefinition],
        client: WebClient | None,
        default_channel: str | None = None,
        safeguarding_channel: str | None = None,
        reraise_after: timedelta = timedelta(hours=2),
        secret: str = "",
        translate: Translate = english,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.team = team
        self.partners = partners
        self.client = client
        self.default_channel = default_channel
        self.safeguarding_channel = safeguarding_channel
        self.reraise_after = reraise_after
        self.secret = secret
        self.translate = translate
        self.clock = clock

    # -- due work ------------------------------------------------------------------------------

    def post(self, due_id: int) -> None:
        """Post a new handoff (due work ``handoff``) as the parent message of its thread."""
        with self.db.transaction() as tx:
            c = tx.connection()
            item = due.get(c, due_id)
            row = handoffs.get(c, item.payload.get("handoff", 0)) if item is not None else None
            if row is None or row.thread_ts is not None:
                due.done(c, due_id)
                return
            partner = self._partner_for(c, row)
            channel = (
                partner.spec.handoff_channel if partner is not None else None
            ) or self.default_channel
            if row.reason == "safeguarding" and self.safeguarding_channel is not None:
                channel, partner = self.safeguarding_channel, None
            language = partner.spec.digest.language if partner is not None else "en"
            if self.client is None or channel is None:
                # Nobody in Slack: listed by the CLI and the coordinators' page.
                handoffs.raised(c, row.id, self.clock())
                due.done(c, due_id)
                return
            text, blocks = self.opening(c, row, language)
        try:
            posted = self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            if not gives_up(exc):
                raise  # passing (a 429 outlasting the waits, Slack down): tried again later
            with self.db.transaction() as tx:
                c = tx.connection()
                handoffs.raised(c, row.id, self.clock())
                due.done(c, due_id)
            return
        with self.db.transaction() as tx:
            c = tx.connection()
            handoffs.posted(
                c,
                row.id,
                partner=partner.id if partner is not None else None,
                channel=channel,
                ts=str(posted["ts"]),
                now=self.clock(),
            )
            due.done(c, due_id)

    def relay(self, due_id: int) -> None:
        """Post what the person said into their handoff's thread (due work ``handoff-in``)."""
        with self.db.transaction() as tx:
            c = tx.connection()
            item = due.get(c, due_id)
            row = handoffs.get(c, item.payload.get("handoff", 0)) if item is not None else None
            if item is None or row is None or self.client is None:
                if item is not None:
                    due.done(c, due_id)
                return
            if row.thread_ts is None:
                if row.raised_at is None:
                    # The thread is not up yet: this row waits for its lease to run out.
                    raise HandoffError(f"handoff {row.id} is not posted yet")
                due.done(c, due_id)  # a team without Slack reads it in the record
                return
            body = messages.body_of(c, item.payload.get("message", 0)) or "…"
            who = self.who(c, row.contact_id)
            channel, thread = row.slack_channel, row.thread_ts
        text = f"{who.name}: {body[: MAX_SECTION - 200]}"
        self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread,
            text=escape(text),
            blocks=[{"type": "section", "text": plain(text)}],
        )
        with self.db.transaction() as tx:
            due.done(tx.connection(), due_id)

    def reraise(self) -> int:
        """Raise again, in its thread, every handoff nobody has answered in time; returns how
        many."""
        now = self.clock()
        with self.db.transaction() as tx:
            waiting = list(handoffs.waiting_since(tx.connection(), now - self.reraise_after))
        raised = 0
        for row in waiting:
            if self.client is not None and row.thread_ts is not None:
                text = self._say(row.partner, STILL_WAITING)
                self.client.chat_postMessage(
                    channel=row.slack_channel,
                    thread_ts=row.thread_ts,
                    reply_broadcast=True,  # shown in the channel too, not only in the thread
                    text=text,
                )
            with self.db.transaction() as tx:
                handoffs.raised(tx.connection(), row.id, now)
            raised += 1
        return raised

    # -- what the team does in Slack -----------------------------------------------------------

    def thread_message(self, event: Mapping[str, Any]) -> bool:
        """A message in a handoff's thread from someone in the team: to the person. False if
        the event is not one."""
        channel, thread, user = event.get("channel"), event.get("thread_ts"), event.get("user")
        text = event.get("text")
        if event.get("subtype") or event.get("bot_id") or event.get("channel_type") == "im":
            return False
        if not all(isinstance(v, str) and v for v in (channel, thread, user, text)):
            return False
        assert isinstance(channel, str) and isinstance(thread, str) and isinstance(text, str)
        with self.db.transaction() as tx:
            row = handoffs.by_thread(tx.connection(), channel, thread)
        if row is None:
            return False
        try:
            self.team.reply(row.id, text)
        except HandoffError as exc:
            said = (
                self._say(row.partner, NOT_SENT)
                if row.status == "closed"
                else self._say(row.partner, REPLY_FAILED).replace("{why}", str(exc))
            )
            self._post_quietly(channel, thread, said)
        return True

    def resolve_pressed(self, body: Mapping[str, Any]) -> bool:
        """The Resolve button: close the handoff, say so in the thread and take the button
        away. False if the payload is not a press on one of ours."""
        try:
            action = body["actions"][0]
            handoff_id = int(action["value"])
            user = str(body["user"]["id"])[:32]
            channel = str(body["container"]["channel_id"])
            ts = str(body["container"]["message_ts"])
        except (KeyError, IndexError, TypeError, ValueError):
            return False
        with self.db.transaction() as tx:
            row = handoffs.get(tx.connection(), handoff_id)
        if row is None or row.thread_ts != ts or row.slack_channel != channel:
            return False
        try:
            self.team.resolve(handoff_id, by=f"slack:{user}")
        except HandoffError:
            return True  # pressed twice: resolved already
        self.closed(handoff_id, f"<@{user}>")
        return True

    def note(self, handoff_id: int, text: str) -> None:
        """Say something in the handoff's thread, if it has one (a reply sent from the
        command line or the coordinators' page)."""
        with self.db.transaction() as tx:
            row = handoffs.get(tx.connection(), handoff_id)
        if row is not None and row.thread_ts is not None:
            self._post_quietly(row.slack_channel, row.thread_ts, escape(text))

    def closed(self, handoff_id: int, by: str) -> None:
        """Say in the thread who resolved it, and take the Resolve button away."""
        with self.db.transaction() as tx:
            c = tx.connection()
            row = handoffs.get(c, handoff_id)
            if row is None or row.thread_ts is None or self.client is None:
                return
            said = self._say(row.partner, RESOLVED).replace("{who}", by)
            text, blocks = self.opening(c, row, self._language(row.partner), resolved=said)
        self._post_quietly(row.slack_channel, row.thread_ts, said)
        try:
            self.client.chat_update(
                channel=row.slack_channel, ts=row.thread_ts, text=text, blocks=blocks
            )
        except (SlackApiError, urllib.error.URLError, OSError) as exc:
            log.warning("could not update a resolved handoff's message: %s", type(exc).__name__)

    # -- what the thread shows -----------------------------------------------------------------

    def opening(
        self, c: Connection, row: Any, language: str, *, resolved: str | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """The parent message of a handoff's thread: its text and its blocks."""

        def say(text: str) -> str:
            return self.translate(language, text)

        who = self.who(c, row.contact_id)
        title = say(TITLE).replace("{who}", who.name)
        lines = [say(REASONS.get(row.reason, REASONS["unhandled"]))]
        if row.note and row.reason == "handoff":
            lines.append(row.note)
        if row.reason == "safeguarding" and row.note in CONCERNS:
            lines.append(say(CONCERNS[row.note]))
        if row.flow:
            lines.append(say(WHERE).replace("{flow}", row.flow).replace("{step}", row.step or "-"))
        recent = [
            f"{say(THEM) if m.direction == 'in' else say(US)}: {(m.body or '…')[:MAX_QUOTED]}"
            for m in messages.recent(c, row.contact_id, RECENT)
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": plain(title[:150])},
            {"type": "section", "text": plain("\n".join(lines))},
        ]
        if recent:
            conversation = say(RECENT_TITLE) + "\n" + "\n".join(recent)
            blocks += [
                {"type": "section", "text": plain(part)}
                for part in split_text(conversation, MAX_SECTION, 40)
            ]
        if resolved is not None:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": resolved}]})
        else:
            blocks.append({"type": "context", "elements": [plain(say(HOW))]})
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": RESOLVE_ACTION,
                            "text": plain(say(RESOLVE)),
                            "style": "primary",
                            "value": str(row.id),
                        }
                    ],
                }
            )
        text = escape("\n".join([title, *lines, *recent]))
        return text[:3900], blocks

    def who(self, c: Connection, contact_id: int) -> Who:
        """A first name and a pseudonymous id; the address too if they agreed to be
        contacted."""
        found = c.execute(
            select(Contact.first_name, Contact.language, Contact.fields).where(
                Contact.id == contact_id
            )
        ).first()
        if found is None:
            return Who(pseudonym(contact_id, self.secret), "en")
        parts = [found.first_name or "", pseudonym(contact_id, self.secret)]
        if (found.fields or {}).get("agreed_to_contact") is True:
            parts += _addresses(c, contact_id)
        return Who(" ".join(p for p in parts if p), found.language)

    # -- helpers -------------------------------------------------------------------------------

    def _partner_for(self, c: Connection, row: Any) -> PartnerDefinition | None:
        """The partner that follows the conversation: by its flow, its event, or the
        person's tags."""
        event = None
        if row.session_id is not None:
            event = c.execute(
                select(ConversationSession.event_id).where(ConversationSession.id == row.session_id)
            ).scalar()
        tags = contacts.tags(c, row.contact_id)
        return next(
            (
                p
                for p in self.partners.values()
                if p.spec.handoff_channel and p.follows(flow=row.flow, event=event, tags=tags)
            ),
            None,
        )

    def _language(self, partner: str | None) -> str:
        found = self.partners.get(partner or "")
        return found.spec.digest.language if found is not None else "en"

    def _say(self, partner: str | None, text: str) -> str:
        return self.translate(self._language(partner), text)

    def _post_quietly(self, channel: str, thread: str, text: str) -> None:
        if self.client is None:
            return
        try:
            self.client.chat_postMessage(channel=channel, thread_ts=thread, text=text)
        except (SlackApiError, urllib.error.URLError, OSError) as exc:
            log.warning("could not post in a handoff's thread: %s", type(exc).__name__)


def gives_up(exc: SlackApiError) -> bool:
    """Whether a Slack error will not pass by trying again (a channel that does not exist,
    or the app not in it): said in the log, and the work is left to the CLI and web page."""
    result = classify_error(exc)
    if result.status == "retry":
        return False
    log.warning(
        "Slack refused a post to a partner's channel (%s): %s", result.error_code, result.error
    )
    return True


def _addresses(c: Connection, contact_id: int) -> Sequence[str]:
    return list(
        c.execute(
            select(ContactAddress.address).where(
                ContactAddress.contact_id == contact_id, ContactAddress.scheme == "tel"
            )
        ).scalars()
    )
