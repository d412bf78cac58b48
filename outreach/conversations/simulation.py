"""Rehearse a conversation with no phone, no database and no waiting.

A ``Simulation`` plays one community member: it feeds replies and clock moves to the engine,
applies the actions the way the store will (contact fields, tags, due reminders and timeouts)
and keeps a transcript of what their phone would show (the SMS rendering of each message). The
session goes through JSON after every trigger, exactly as it will between two real text
messages, so a flow that works here survives being stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from outreach.channels.sms import SmsRenderer
from outreach.durations import parse_duration
from outreach.flows.engine import Engine
from outreach.flows.samples import SAMPLE_STATEMENTS
from outreach.flows.state import (
    AddTag,
    Button,
    Contact,
    EndSession,
    Handoff,
    Offer,
    Outcome,
    Propose,
    ReminderDue,
    Reply,
    Rsvp,
    SaveAnswer,
    Schedule,
    SendMessage,
    Session,
    SetField,
    Start,
    TimeoutDue,
    Trigger,
    Vote,
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a transcript: a message out, a reply in, or a note of what happened."""

    at: datetime
    who: str  # "outreach", "person" or "system"
    text: str
    kind: str = "message"

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "who": self.who, "kind": self.kind, "text": self.text}


@dataclass
class Simulation:
    """One simulated person talking to the engine."""

    engine: Engine
    contact: Contact
    now: datetime
    event: Mapping[str, Any] | None = None
    session: Session | None = None
    transcript: list[Entry] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    due: list[Schedule] = field(default_factory=list)
    phone: SmsRenderer = field(default_factory=SmsRenderer)
    # Approved statements a statements step offers (numbered from 1), and the votes given.
    statements: tuple[str, ...] = SAMPLE_STATEMENTS
    votes: dict[int, str] = field(default_factory=dict)

    def start(self, flow: str) -> Outcome:
        return self._feed(Start(flow=flow, **self._common()))

    def reply(self, text: str) -> Outcome:
        self.transcript.append(Entry(self.now, "person", text))
        return self._feed(Reply(text=text, **self._common()))

    def press(self, value: str) -> Outcome:
        self.transcript.append(Entry(self.now, "person", value, "button"))
        return self._feed(Button(value=value, **self._common()))

    def advance(self, delta: timedelta) -> None:
        """Move the clock on, firing every reminder and timeout that falls due on the way."""
        until = self.now + delta
        while self.due and min(d.due_at for d in self.due) <= until:
            item = min(self.due, key=lambda d: d.due_at)
            self.due.remove(item)
            self.now = max(self.now, item.due_at)
            self.transcript.append(Entry(self.now, "system", f"{item.kind} due", item.kind))
            kind = ReminderDue if item.kind == "reminder" else TimeoutDue
            self._feed(kind(seq=item.seq, **self._common()))
        self.now = until

    def run_script(self, lines: Iterable[str]) -> None:
        """Play a script: each line a reply, or ``/wait 48h``, or ``/press <option>``."""
        for raw in lines:
            line = raw.rstrip("\n")
            if line.startswith(("/wait ", "/advance ")):
                self.advance(parse_duration(line.split(" ", 1)[1]))
            elif line.startswith("/press "):
                self.press(line.split(" ", 1)[1].strip())
            else:
                self.reply(line)

    def result(self) -> dict[str, Any]:
        """The transcript and end state, as plain data (the ``--json`` output)."""
        session = self.session
        return {
            "transcript": [e.as_dict() for e in self.transcript],
            "answers": self.answers,
            "fields": dict(self.contact.fields),
            "tags": sorted(self.contact.tags),
            "language": self.contact.language,
            "flow": session.flow if session else None,
            "status": session.status if session else "none",
            "step": session.step if session else None,
            "end_reason": session.end_reason if session else None,
        }

    def _common(self) -> dict[str, Any]:
        # A rehearsal offers the same statements in every conversation any flow shows.
        keys = self.engine.conversations(self.engine.flows, (self.event or {}).get("id"))
        left = tuple(
            Offer(n, text) for n, text in enumerate(self.statements, start=1) if n not in self.votes
        )
        return {
            "at": self.now,
            "contact": self.contact,
            "event": self.event,
            "offers": dict.fromkeys(keys, left),
        }

    def _feed(self, trigger: Trigger) -> Outcome:
        outcome = self.engine.handle(self.session, trigger)
        stored = outcome.session.to_json() if outcome.session else None
        self.session = Session.from_json(stored) if stored else None
        if any(isinstance(a, Schedule) for a in outcome.actions) or not (
            self.session and self.session.active
        ):
            self.due.clear()
        for action in outcome.actions:
            self._apply(action)
        if not outcome.handled:
            self.transcript.append(
                Entry(self.now, "system", "no flow is waiting for this reply", "unhandled")
            )
        return outcome

    def _apply(self, action: object) -> None:
        note = None
        if isinstance(action, SendMessage):
            text = self.phone.render(action.content, self.contact.language).text
            self.transcript.append(Entry(self.now, "outreach", text, action.content.kind))
        elif isinstance(action, SaveAnswer):
            self.answers[action.name] = action.value
        elif isinstance(action, SetField):
            if action.name == "language":
                self.contact = replace(self.contact, language=str(action.value))
            else:
                self.contact = replace(
                    self.contact, fields={**self.contact.fields, action.name: action.value}
                )
            note = f"set {action.name} = {action.value}"
        elif isinstance(action, AddTag):
            self.contact = replace(self.contact, tags=self.contact.tags | {action.tag})
            note = f"tagged {action.tag}"
        elif isinstance(action, Schedule):
            self.due.append(action)
        elif isinstance(action, Handoff):
            note = f"handed to a person: {action.note}"
        elif isinstance(action, Rsvp):
            note = f"rsvp {action.status}"
        elif isinstance(action, Vote):
            self.votes[action.statement] = action.vote
            note = f"{action.vote} with statement {action.statement}"
        elif isinstance(action, Propose):
            note = f"own statement waiting for a coordinator: {action.text}"
        elif isinstance(action, EndSession):
            detail = f" ({action.detail})" if action.detail else ""
            note = f"ended {action.flow}: {action.reason}{detail}"
        if note:
            self.transcript.append(Entry(self.now, "system", note, "note"))
