"""Every exception Outreach raises on purpose, in one tree.

    OutreachError
    ├── FlowError
    │   ├── FlowLoadError (ValueError)      a flow file has problems; carries them all
    │   ├── UnsafeYAML (ValueError)         a file uses a YAML feature flow files may not
    │   ├── TemplateSyntaxError (ValueError) a {placeholder} is malformed
    │   ├── FlowNotFound (LookupError)      no flow with that id
    │   ├── EventNotFound (LookupError)     no event with that id
    │   └── EventClosed (ValueError)        an event no longer takes replies: nobody is invited
    ├── ContactError (ValueError)
    │   ├── InvalidPhoneNumber              the number cannot be an E.164 phone number
    │   └── ImportFileError                 a contacts file cannot be imported at all
    ├── StoreError
    │   ├── ContactNotFound (LookupError)
    │   ├── DatabaseUnavailable (ConnectionError)  the database address is wrong or out of reach
    │   ├── BatchRefused                     the database refused a batch of rows (no row shown)
    │   └── DatabaseNotReady                 the schema is missing, behind or ahead of the code
    ├── SettingsError (ValueError)          a setting from the environment cannot be used
    ├── DemoRefused                         ``outreach demo`` cannot start without harm
    ├── SimulatorError (ValueError)         a phone-simulator request that cannot be done
    ├── HandoffError (LookupError)          a handoff that is not there or not open, a bad reply
    ├── StatementError (ValueError)         no such statement, or a statement that cannot be kept
    ├── PartnerError (LookupError)          no such partner, or nowhere to post its digest
    ├── DecisionError (ValueError)          a decision that cannot be sent or recorded as asked
    └── RequestRefused                      a provider's request is unsigned or malformed

Errors a coordinator sees carry a stable ``code`` and a ``hint`` saying what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


class OutreachError(Exception):
    """Base of every error Outreach raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a flow file, pointing at where it is."""

    file: str
    line: int
    column: int
    code: str
    message: str
    hint: str = ""
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        tag = "warning: " if self.severity == "warning" else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}: {tag}{self.message}{hint} [{self.code}]"


class FlowError(OutreachError):
    """Something is wrong with a flow or with how it is used."""


class FlowLoadError(FlowError, ValueError):
    """A flow file could not be loaded; ``problems`` lists everything found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnsafeYAML(FlowError, ValueError):
    """The document uses something flow files may not: a foreign tag, or endless aliases."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class TemplateSyntaxError(FlowError, ValueError):
    """A placeholder is malformed; ``offset`` is where, in the template."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class FlowNotFound(FlowError, LookupError):
    """No flow has the id asked for."""

    def __init__(self, flow_id: str, known: Sequence[str] = ()) -> None:
        self.flow_id = flow_id
        listing = ", ".join(sorted(known)) or "none"
        super().__init__(f"no flow called {flow_id!r} (known flows: {listing})")


class EventNotFound(FlowError, LookupError):
    """No event file has the id asked for."""

    def __init__(
        self, event_id: str, known: Sequence[str] = (), *, only_stored: bool = False
    ) -> None:
        self.event_id = event_id
        if only_stored:
            super().__init__(
                f"{event_id!r} has no event file here, only a record in the database (the "
                "demo's event, or one whose file was removed): sending needs its file in the "
                "flows folder"
            )
            return
        listing = ", ".join(sorted(known)) or "none"
        super().__init__(f"no event called {event_id!r} (known events: {listing})")


class EventClosed(FlowError, ValueError):
    """An event's replies have closed (its ``rsvp_until``, else its start): inviting people
    now would only count them as invited."""

    def __init__(self, event_id: str, closed: str) -> None:
        self.event_id = event_id
        super().__init__(
            f"nobody was invited to {event_id!r}: replies closed on {closed} "
            "(the event's rsvp_until, else its start)"
        )


class ContactError(OutreachError, ValueError):
    """A contact's details are not acceptable."""


class InvalidPhoneNumber(ContactError):
    """The text is not a phone number we can send to."""

    def __init__(self, raw: str, reason: str) -> None:
        self.reason = reason
        # The number itself is personal data: keep it out of the message (it ends up in logs).
        super().__init__(f"invalid phone number: {reason}")
        self.raw = raw


class ImportFileError(ContactError):
    """A contacts file cannot be imported at all (as opposed to a row being rejected)."""


class StoreError(OutreachError):
    """The store refused an operation."""


class ContactNotFound(StoreError, LookupError):
    """No contact matches the number or id given."""

    def __init__(self) -> None:
        super().__init__("no contact with that phone number")


class BatchRefused(StoreError):
    """The database refused a batch of rows copied in. The message says which table and
    why, never the rows (the database's own error quotes them: names, numbers, words)."""

    def __init__(self, table: str, sqlstate: str | None, why: str | None) -> None:
        super().__init__(f"the database refused a batch of {table} rows ({sqlstate}): {why}")
        self.table = table
        self.sqlstate = sqlstate


class DatabaseUnavailable(StoreError, ConnectionError):
    """The database cannot be opened: its address is not one Outreach can use, or it does
    not answer. The message names it without its password."""


class DatabaseNotReady(StoreError):
    """The database's schema is not the one this version of Outreach needs."""

    def __init__(
        self,
        where: str,
        current: str | None,
        head: str | None,
        *,
        newer: bool = False,
        missing: bool = False,
    ) -> None:
        self.current = current
        self.head = head
        if missing:
            message = (
                f"there is no database at {where} yet: run `outreach db upgrade` to create "
                "it (or point OUTREACH_DATABASE_URL at your database)"
            )
        elif newer:
            message = (
                f"the database at {where} is at revision {current}, made by a newer version "
                f"of Outreach than this one (which knows up to {head}): install that version"
            )
        elif current is None:
            message = (
                f"the database at {where} has no tables yet: run `outreach db upgrade` to "
                "create them (or point OUTREACH_DATABASE_URL at your database)"
            )
        else:
            message = (
                f"the database at {where} is at revision {current} and this version of "
                f"Outreach needs {head}: run `outreach db upgrade` (the release step does it "
                "on every deploy)"
            )
        super().__init__(message)


class SettingsError(OutreachError, ValueError):
    """A setting read from the environment cannot be used; the message names the variable."""


class DemoRefused(OutreachError):
    """``outreach demo`` would harm something if it started (another demo, a real database)."""


class SimulatorError(OutreachError, ValueError):
    """A phone-simulator request that cannot be done (shown to the coordinator as is)."""


class HandoffError(OutreachError, LookupError):
    """A handoff that is not there or not open, or a reply that cannot be sent."""


class StatementError(OutreachError, ValueError):
    """No statement with that id, or a statement a coordinator cannot add or moderate as asked."""


class PartnerError(OutreachError, LookupError):
    """No partner with that id, or a digest with no Slack channel to go to."""


class RequestRefused(OutreachError):
    """A provider's request that is not acted on: ``reason`` is a short stable code (recorded
    with the refusal), ``status`` the HTTP status to answer with."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(f"refused ({status}): {reason}")
        self.reason = reason
        self.status = status


class DecisionError(OutreachError, ValueError):
    """A decision cannot be recorded or sent as asked: no such decision, an id taken, or
    statements named where there are none."""
