"""The keywords that always work, whatever conversation is running: STOP, START, HELP, LANG
and HUMAN (a person, please).

An opt-out is recorded with its words and time, ends the conversation, cancels what was queued
or scheduled, gives up the person's places at events, and is confirmed once; nothing else is
said to someone who asked us to stop. Asking for a person opens a handoff for the team and is
confirmed in the person's language; the conversation waits as it was. (Which words mean what
lives in ``outreach.contacts.keywords`` and the catalogs.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.contacts.keywords import Keyword
from outreach.conversations import places
from outreach.conversations.handoffs import hand_over
from outreach.conversations.sending import Queued, Sender
from outreach.flows.state import Session as EngineSession
from outreach.i18n.catalogs import N_
from outreach.store import consent, due, handoffs, messages, sessions
from outreach.store.contacts import Person

OPTED_OUT = N_("You won't get any more messages from {org}. Reply START if you change your mind.")
OPTED_IN = N_("Welcome back: you will get messages from {org} again. Reply STOP to stop.")
HELP = N_(
    "This is {org}, about Big Conversation events. Reply STOP to stop messages. Help: {help}."
)
HUMAN = N_("Thank you. Someone from {org} will get in touch with you soon.")

StartFlow = Callable[[Session, Person, str, datetime], None]


class Commands:
    """Carries out a keyword for a locked person, in their transaction."""

    def __init__(self, *, sender: Sender, language_flow: str, start_flow: StartFlow) -> None:
        self.sender = sender
        self.language_flow = language_flow
        self.start_flow = start_flow  # starts a flow for the person (LANG reopens the menu)

    def run(
        self,
        tx: Session,
        person: Person,
        keyword: Keyword,
        text: str,
        now: datetime,
        *,
        message_id: int | None = None,
    ) -> list[Queued]:
        """Do what ``keyword`` asks (``message_id`` is the message that asked); returns the
        messages it queued."""
        if keyword.command == "stop":
            if self._consent(tx, person, "opted_out", text, now):
                stop_everything(tx, person, now)
                return [self._say(tx, person, OPTED_OUT, now, consent_exempt=True)]
        elif keyword.command == "start":
            if self._consent(tx, person, "opted_in", text, now):
                return [self._say(tx, person, OPTED_IN, now)]
        elif keyword.command == "help":
            return [self._say(tx, person, HELP, now, consent_exempt=True)]
        elif keyword.command == "human":
            return self._ask_for_a_person(tx, person, now, message_id)
        elif not person.opted_out:  # lang
            self.start_flow(tx, person, self.language_flow, now)
        return []

    def _ask_for_a_person(
        self, tx: Session, person: Person, now: datetime, message_id: int | None
    ) -> list[Queued]:
        """A handoff for the team (one open at a time), and a word that it is on its way."""
        connection = tx.connection()
        if not handoffs.is_open(connection, person.id, "human"):
            waiting = sessions.waiting(connection, person.id)
            state = (
                EngineSession.from_json(waiting.state)
                if waiting is not None and waiting.state
                else None
            )
            hand_over(
                connection,
                contact_id=person.id,
                reason="human",
                note="They asked to talk to a person.",
                now=now,
                session_id=waiting.id if waiting is not None else None,
                message_id=message_id,
                flow=state.flow if state is not None else None,
                step=state.step if state is not None else None,
            )
        return [self._say(tx, person, HUMAN, now)]

    def _consent(
        self, tx: Session, person: Person, status: consent.Status, words: str, now: datetime
    ) -> bool:
        changed = consent.record(
            tx.connection(),
            person.id,
            status,
            source="keyword",
            words=words,
            at=now,
            opted_out=person.opted_out,
        )
        person.opted_out = status == "opted_out"
        return changed

    def _say(
        self,
        tx: Session,
        person: Person,
        template: str,
        now: datetime,
        *,
        consent_exempt: bool = False,
    ) -> Queued:
        content = self.sender.system(person.language, template)
        return self.sender.queue(
            tx.connection(), person, content, now, consent_exempt=consent_exempt
        )


def stop_everything(tx: Session, person: Person, now: datetime) -> None:
    """After an opt-out: end the conversation, cancel queued messages and timers, and give
    the person's places at events to people waiting."""
    connection = tx.connection()
    row = sessions.waiting(connection, person.id)
    if row is not None:
        sessions.end(connection, row.id, "opted-out", "the person opted out", now)
    messages.cancel_queued(tx, person.id, now, "the person opted out")
    due.cancel_person(connection, person.id)
    places.give_up_places(tx, person.id, now)
