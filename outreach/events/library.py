"""Event files, loaded and checked against the flows they start."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from outreach.errors import FlowLoadError, Problem
from outreach.events.schema import EventSpec
from outreach.flows import yamlnodes
from outreach.flows.loader import (
    FlowDefinition,
    SourceFile,
    files_of_kind,
    parse_document,
    read_text,
)


@dataclass(frozen=True, kw_only=True)
class EventDefinition(SourceFile):
    """A loaded, schema-valid event together with where it came from."""

    spec: EventSpec

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
    events: list[EventDefinition] = []
    problems: list[Problem] = []
    for path in files_of_kind(paths, "event"):
        try:
            events.append(load_event_text(read_text(path, max_bytes=max_bytes), path=str(path)))
        except FlowLoadError as exc:
            problems.extend(exc.problems)
    return events, problems


def check_events(
    events: Iterable[EventDefinition],
    flows: Mapping[str, FlowDefinition],
    *,
    now: datetime | None = None,
) -> list[Problem]:
    """What only makes sense with the flows: every flow an event starts exists, ids are
    unique, the invitation records an RSVP; and (as warnings) events already over."""
    problems: list[Problem] = []
    seen: dict[str, EventDefinition] = {}
    for event in events:
        other = seen.setdefault(event.id, event)
        if other is not event:
            problems.append(
                event.problem(
                    ("event",),
                    "duplicate-event",
                    f"event id {event.id!r} is also used by {other.path}",
                    "give each event its own id",
                )
            )
        problems.extend(_check_flows(event, flows))
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
