"""Event files, loaded and checked against the flows they start."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import ClassVar

from outreach.errors import Problem
from outreach.events.schema import FOLLOW_UP_LIFE, EventSpec, Send
from outreach.flows import yamlnodes
from outreach.flows.loader import (
    FlowDefinition,
    SourceFile,
    duplicate_ids,
    load_files,
    parse_document,
)


@dataclass(frozen=True, kw_only=True)
class EventDefinition(SourceFile):
    """A loaded, schema-valid event together with where it came from."""

    spec: EventSpec
    kind: ClassVar[str] = "event"

    @property
    def id(self) -> str:
        return self.spec.event


def load_event_text(text: str, *, path: str = "<event>") -> EventDefinition:
    spec, doc, digest = parse_document(text, path, EventSpec, kind="event")
    return EventDefinition(spec=spec, path=path, document=doc, digest=digest)


def load_events(
    paths: Iterable[Path], *, max_bytes: int
) -> tuple[list[EventDefinition], list[Problem]]:
    """Every event file under ``paths``, and the problems of those that would not load."""
    return load_files(paths, "event", load_event_text, max_bytes=max_bytes)


def check_events(
    events: Iterable[EventDefinition],
    flows: Mapping[str, FlowDefinition],
    *,
    now: datetime | None = None,
    quiet_hours: tuple[time, time] = (time(9, 0), time(20, 0)),
) -> list[Problem]:
    """What only makes sense with the flows: every flow an event starts exists, ids are
    unique, the invitation records an RSVP; and (as warnings) events already over, and
    reminders that quiet hours would hold until they are no use."""
    events = list(events)
    problems: list[Problem] = list(duplicate_ids(events))
    for event in events:
        problems.extend(_check_flows(event, flows))
        problems.extend(_check_quiet_hours(event, flows, quiet_hours))
        if now is not None and event.spec.ends_utc < now:
            problems.append(
                event.problem(
                    ("ends_at",),
                    "event-over",
                    "this event is over: nothing more will be sent for it",
                    "move the file to an archive folder when you no longer need it",
                    warning=True,
                )
            )
    return problems


def _check_flows(event: EventDefinition, flows: Mapping[str, FlowDefinition]) -> Iterator[Problem]:
    spec = event.spec
    uses: list[tuple[yamlnodes.Path, str]] = [
        (("invitation",), spec.invitation),
        (("place_offer",), spec.place_offer),
        (("changed",), spec.changed),
    ]
    uses += [(("reminders", i, "flow"), r.flow) for i, r in enumerate(spec.reminders)]
    if spec.follow_up is not None:
        uses.append((("follow_up", "flow"), spec.follow_up.flow))
    for where, flow in uses:
        if flow not in flows:
            close = difflib.get_close_matches(flow, list(flows), n=1, cutoff=0.6)
            yield event.problem(
                where,
                "unknown-flow",
                f"there is no flow {flow!r}",
                f"did you mean {close[0]!r}?" if close else "add the flow or correct the name",
            )
    for where, flow in ((("invitation",), spec.invitation), (("place_offer",), spec.place_offer)):
        definition = flows.get(flow)
        if definition is not None and not any(s.rsvp for s in definition.flow.steps):
            yield event.problem(
                where,
                "no-rsvp",
                f"flow {flow!r} never records an RSVP, so nobody could say yes",
                'add `rsvp: "yes"` (and "no", "maybe") to the steps that take the answer',
            )


def _check_quiet_hours(
    event: EventDefinition, flows: Mapping[str, FlowDefinition], default: tuple[time, time]
) -> Iterator[Problem]:
    """A send due outside quiet hours waits for the morning; if its useful life ends first,
    it is dropped: say so while it can still be fixed."""
    spec = event.spec
    sends: list[tuple[yamlnodes.Path, Send, datetime]] = [
        (("reminders", i), r, spec.starts_at) for i, r in enumerate(spec.reminders)
    ]
    if spec.follow_up is not None:
        due = spec.starts_at + spec.follow_up.at
        sends.append((("follow_up",), spec.follow_up, due + FOLLOW_UP_LIFE))
    for where, send, default_end in sends:
        definition = flows.get(send.flow)
        if definition is None or definition.first_step.urgent:
            continue
        window = definition.flow.quiet_hours or spec.quiet_hours
        start, end = (window.start, window.end) if window else default
        due = spec.starts_at + send.at  # local time, as the file writes it
        if start <= due.time() < end:
            continue
        opens = datetime.combine(due.date(), start)
        if due.time() >= end:
            opens += timedelta(days=1)
        useful_until = due + send.useful_for if send.useful_for is not None else default_end
        if opens >= useful_until:
            yield event.problem(
                (*where, "at"),
                "quiet-hours",
                f"this is due at {due:%H:%M} local time, outside quiet hours "
                f"({start:%H:%M}-{end:%H:%M}); it would wait until {opens:%H:%M}, too late, "
                "and be dropped",
                "move it, give the event earlier quiet_hours, or make its flow's step urgent",
                warning=True,
            )
