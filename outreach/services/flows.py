"""Checking and rehearsing flows: the coordinator's side of the flow engine."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from outreach.channels.sms import SmsRenderer
from outreach.clock import utcnow
from outreach.contacts.keywords import Keywords
from outreach.conversations.simulation import Simulation
from outreach.decisions.library import DecisionDefinition, check_decisions
from outreach.decisions.library import load_decisions as load_decision_files
from outreach.errors import FlowLoadError, SettingsError
from outreach.events.library import EventDefinition, check_events
from outreach.events.library import load_events as load_event_files
from outreach.flows.engine import Engine
from outreach.flows.library import Report, check
from outreach.flows.loader import FlowDefinition
from outreach.flows.samples import demo_event
from outreach.flows.state import Contact
from outreach.i18n.catalogs import Catalogs
from outreach.i18n.vocabulary import Vocabulary
from outreach.partners.library import PartnerDefinition, check_partners
from outreach.partners.library import load_partners as load_partner_files
from outreach.settings import Settings


def check_flows(settings: Settings, paths: Iterable[Path]) -> Report:
    """Every problem in the flow and event files under ``paths``."""
    paths = list(paths)
    report = check(
        paths,
        max_bytes=settings.max_flow_bytes,
        max_segments=settings.max_segments,
        measure=SmsRenderer().measure,
        reserved=reserved_words(settings),
        can_receive_replies=not settings.alphanumeric_sender,
    )
    events, problems = load_event_files(paths, max_bytes=settings.max_flow_bytes)
    flows = {d.id: d for d in report.flows}
    if not any(p.is_dir() for p in paths):  # single files: check against the whole library
        flows = {**_library(settings), **flows}
    quiet = (settings.quiet_hours_start, settings.quiet_hours_end)
    problems += check_events(events, flows, now=utcnow(), quiet_hours=quiet)
    partners, partner_problems = load_partner_files(paths, max_bytes=settings.max_flow_bytes)
    problems += partner_problems
    known_events = {e.id for e in events}
    if not any(p.is_dir() for p in paths):
        shipped, _ = load_event_files([settings.flows_dir], max_bytes=settings.max_flow_bytes)
        known_events |= {e.id for e in shipped}
    problems += check_partners(partners, flows=flows, events=known_events)
    decisions, decision_problems = load_decision_files(paths, max_bytes=settings.max_flow_bytes)
    problems += decision_problems
    problems += check_decisions(decisions, flows=flows, events=known_events)
    report.events = len(events)
    report.partners = len(partners)
    report.decisions = len(decisions)
    report.problems = sorted([*report.problems, *problems], key=lambda p: (p.file, p.line))
    return report


def _library(settings: Settings) -> dict[str, FlowDefinition]:
    report = check(
        [settings.flows_dir], max_bytes=settings.max_flow_bytes, reserved=reserved_words(settings)
    )
    return {d.id: d for d in report.flows}


def reserved_words(settings: Settings) -> frozenset[str]:
    """The words that always work (STOP and the rest, in every language): no flow may claim
    them as its keywords."""
    return Keywords(Vocabulary(Catalogs(settings.locales_dir))).all_words()


def load_events(
    settings: Settings, flows: Mapping[str, FlowDefinition]
) -> dict[str, EventDefinition]:
    """The coordinator's events; refuses to load any if one has an error."""
    events, problems = load_event_files([settings.flows_dir], max_bytes=settings.max_flow_bytes)
    problems += check_events(events, flows)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise FlowLoadError(errors)
    return {e.id: e for e in events}


def load_partners(
    settings: Settings, flows: Mapping[str, FlowDefinition], events: Mapping[str, EventDefinition]
) -> dict[str, PartnerDefinition]:
    """The partners; refuses to load any if one has an error."""
    partners, problems = load_partner_files([settings.flows_dir], max_bytes=settings.max_flow_bytes)
    problems += check_partners(partners, flows=flows, events=events)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise FlowLoadError(errors)
    return {p.id: p for p in partners}


def load_decisions(
    settings: Settings, flows: Mapping[str, FlowDefinition], events: Collection[str]
) -> dict[str, DecisionDefinition]:
    """The decisions in the flows folder; refuses to load any if one has an error."""
    decisions, problems = load_decision_files(
        [settings.flows_dir], max_bytes=settings.max_flow_bytes
    )
    problems += check_decisions(decisions, flows=flows, events=events)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise FlowLoadError(errors)
    return {d.id: d for d in decisions}


def load_flows(settings: Settings) -> dict[str, FlowDefinition]:
    """The coordinator's flows; refuses to load any if one has an error."""
    report = check_flows(settings, [settings.flows_dir])
    if not report.ok:
        raise FlowLoadError(report.errors)
    return {d.id: d for d in report.flows}


def build_engine(settings: Settings, flows: Mapping[str, FlowDefinition] | None = None) -> Engine:
    """An engine over the configured flows, translating with the configured catalogs."""
    if not settings.locales_dir.is_dir():  # without them, everyone would be written to in English
        raise SettingsError(
            f"OUTREACH_LOCALES_DIR: there is no folder {settings.locales_dir.absolute()}, so "
            "nobody would get messages in their own language: run outreach in the folder "
            "that holds flows/ and locales/, or set OUTREACH_LOCALES_DIR to your locales folder"
        )
    catalogs = Catalogs(settings.locales_dir)
    return Engine(
        flows if flows is not None else load_flows(settings),
        translate=catalogs.gettext,
        vocabulary=Vocabulary(catalogs),
        max_steps=settings.max_steps_per_event,
    )


def rehearse(
    settings: Settings,
    *,
    now: datetime,
    language: str | None = None,
    fields: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
) -> Simulation:
    """A simulated person, with a made-up event, ready to talk to the configured flows."""
    contact = Contact(
        language=language or settings.default_language,
        timezone=settings.default_timezone,
        fields=dict(fields or {}),
        tags=frozenset(tags),
    )
    return Simulation(build_engine(settings), contact, now, event=demo_event(now))
