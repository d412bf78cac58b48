"""Checks a coordinator's flows before anything is sent: every problem, with where and a hint.

The schema (types, required and unknown fields) is checked by the loader; this module checks
what only makes sense across steps and flows: where ``next`` leads, what can never be reached,
loops that would text someone without end, placeholders that would come out empty, keywords
that two flows both claim, and messages that would cost several SMS segments each.

What is specific to a channel or to the service comes in as arguments: ``measure`` (how long a
message is as the channel sends it, e.g. SMS segments) and ``reserved`` (the keywords that
always work, such as STOP), so the flow package depends on neither.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from outreach.content import Choice, Content
from outreach.errors import Problem, TemplateSyntaxError
from outreach.flows.loader import FlowDefinition, duplicate_ids
from outreach.flows.schema import Step
from outreach.flows.templates import (
    CONTACT_FIELDS,
    EVENT_FIELDS,
    Placeholder,
    placeholders,
)
from outreach.i18n.text import normalize

_SPECIAL_NEXT = ("default", "timeout", "invalid")

Measure = Callable[[Content], tuple[int, str]]
"""How long a message is as it will be sent: (segments, the same in words)."""

# Typical values, to judge how long a message will be once filled in.
_SAMPLES = {
    "first_name": "Alexandra",
    "last_name": "Richardson",
    "name": "Alexandra Richardson",
    "language": "en",
    "title": "Big Conversation on mental health services",
    "topic": "community mental health services",
    "venue": "Riverside Community Centre",
    "address": "12 High Street, Worcester WR1 2AB",
    "access": "step-free, hearing loop",
}
_FORMAT_SAMPLES = {
    "date": "Wednesday 30 September",
    "time": "18:30",
    "datetime": "Wednesday 30 September, 18:30",
    "day": "Wednesday",
    "short_date": "30/09/2026",
    "number": "1,234",
}


@dataclass(frozen=True, slots=True)
class _Text:
    """One piece of text a step can send, and where it is in the file."""

    path: tuple[str | int, ...]
    template: str
    kind: str


def validate(
    flows: Sequence[FlowDefinition],
    *,
    max_segments: int = 3,
    measure: Measure | None = None,
    reserved: frozenset[str] = frozenset(),
    can_receive_replies: bool = True,
) -> list[Problem]:
    """Every problem in ``flows`` taken together, errors and warnings, in file order.

    Messages longer than ``max_segments`` as ``measure`` counts them are warned about (no
    ``measure``: lengths are not checked). ``reserved`` holds the normalised keywords no flow
    may claim. ``can_receive_replies`` is False when messages come from an alphanumeric sender
    ID, which nobody can reply to: then a flow that asks a question cannot work.
    """
    library = {d.id: d for d in flows}
    fields_set = {name for d in flows for s in d.flow.steps for name in (s.set or {})}
    problems: list[Problem] = list(duplicate_ids(flows))
    limit = (measure, max_segments) if measure is not None else None
    for definition in flows:
        problems.extend(_check_flow(definition, library, fields_set, limit))
    problems.extend(_check_keywords(flows, reserved))
    if not can_receive_replies:
        problems.extend(
            d.problem(
                ("steps", i, "ask"),
                "asks-without-replies",
                f"step {step.id!r} asks a question, but messages come from a sender ID "
                "that cannot receive replies",
                "send from a phone number or a Messaging Service to ask questions",
            )
            for d in flows
            for i, step in enumerate(d.flow.steps)
            if step.ask is not None
        )
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))


def _check_flow(
    definition: FlowDefinition,
    library: dict[str, FlowDefinition],
    fields_set: set[str],
    limit: tuple[Measure, int] | None,
) -> Iterator[Problem]:
    steps = definition.flow.steps
    ids = set()
    for i, step in enumerate(steps):
        if step.id in ids:
            yield definition.problem(
                ("steps", i, "id"),
                "duplicate-step",
                f"step id {step.id!r} is used twice",
                "rename one of them",
            )
        ids.add(step.id)
    for i, step in enumerate(steps):
        yield from _check_step(definition, i, step, ids, library)
    yield from _check_reachable(definition)
    yield from _check_loops(definition)
    yield from _check_texts(definition, fields_set, library, limit)


def _check_step(
    definition: FlowDefinition,
    i: int,
    step: Step,
    ids: set[str],
    library: dict[str, FlowDefinition],
) -> Iterator[Problem]:
    at = ("steps", i)
    does = [
        step.send,
        step.ask,
        step.statements,
        step.branch,
        step.set,
        step.tag,
        step.start_flow,
        step.handoff,
        step.rsvp,
        step.end or None,
    ]
    if all(x is None for x in does):
        yield definition.problem(
            at,
            "empty-step",
            f"step {step.id!r} does nothing",
            "give it send, ask, statements, branch, set, tag, start_flow, handoff, rsvp or end",
        )
    for label, target in step.targets():
        if target not in ids:
            path = (
                (*at, "next", label)
                if isinstance(step.next, dict) and label in step.next
                else (*at, label if label in ("next", "otherwise") else "branch")
            )
            yield definition.problem(
                path,
                "unknown-step",
                f"{label} goes to {target!r}, which is not a step here",
                _did_you_mean(target, ids),
            )
    if step.statements is not None:
        for name in ("ask", "branch", "start_flow", "end", "save_as", "reminder"):
            if getattr(step, name) not in (None, False):
                yield definition.problem(
                    (*at, name),
                    "statements-conflict",
                    f"a statements step cannot also have {name.replace('_', ' ')}",
                    "put it in a step of its own before or after the statements",
                )
    if step.ask is None:
        # A statements step waits for votes too: its conflicts are reported above.
        needs = ("save_as", "remind_after", "reminder", "timeout_after", "hint")
        for name in () if step.statements else needs:
            if getattr(step, name) is not None:
                yield definition.problem(
                    (*at, name),
                    "needs-ask",
                    f"{name} only works on a step that asks a question",
                    "add ask: to this step, or remove " + name,
                )
        if isinstance(step.next, dict):
            yield definition.problem(
                (*at, "next"),
                "next-mapping-without-ask",
                "only a question can choose its next step by the answer",
                "use branch: with conditions, or give next one step id",
            )
    else:
        for name in ("branch", "start_flow", "end"):
            if getattr(step, name) not in (None, False):
                yield definition.problem(
                    (*at, name),
                    "ask-conflict",
                    f"a question step cannot also {name.replace('_', ' ')}",
                    "put it in a step of its own after the question",
                )
        if step.reminder and step.remind_after is None:
            yield definition.problem(
                (*at, "reminder"),
                "reminder-without-time",
                "a reminder needs remind_after",
                "add `remind_after: 48h`",
            )
        if (
            step.remind_after
            and step.timeout_after is None
            and step.remind_after >= definition.flow.expire_after
        ):
            yield definition.problem(
                (*at, "remind_after"),
                "reminder-after-expiry",
                "the reminder would come after the flow has expired",
                "shorten remind_after or lengthen expire_after",
                warning=True,
            )
        yield from _check_answer_branches(definition, at, step)
    if step.branch and step.next:
        yield definition.problem(
            (*at, "next"),
            "branch-and-next",
            "a branch step goes where its cases say; next is ignored",
            "use otherwise: for where to go when no case holds",
        )
    if step.start_flow is not None and step.start_flow.flow not in library:
        yield definition.problem(
            (*at, "start_flow"),
            "unknown-flow",
            f"no flow called {step.start_flow.flow!r}",
            _did_you_mean(step.start_flow.flow, library),
        )


def _check_answer_branches(
    definition: FlowDefinition, at: tuple[str | int, ...], step: Step
) -> Iterator[Problem]:
    assert step.ask is not None
    if not isinstance(step.next, dict):
        return
    answers = step.ask.branch_keys()
    for key in step.next:
        if key not in answers and key not in _SPECIAL_NEXT:
            allowed = [*answers, *_SPECIAL_NEXT]
            yield definition.problem(
                (*at, "next", key),
                "unknown-answer",
                f"next names {key!r}, which is not an answer to this question",
                _did_you_mean(key, allowed) or "answers: " + ", ".join(allowed),
                key=True,
            )
    if "default" not in step.next:
        for key in answers:
            if key not in step.next:
                what = "option" if step.ask.choice is not None else "answer"
                yield definition.problem(
                    (*at, "next"),
                    "unbranched-option",
                    f"{what} {key!r} has no branch in next",
                    f"add `{key}: <step>` or `default: <step>` to next",
                    key=True,
                )


def _check_reachable(definition: FlowDefinition) -> Iterator[Problem]:
    steps = definition.steps
    seen = {definition.first_step.id}
    todo = [definition.first_step.id]
    while todo:
        for _, target in steps[todo.pop()].targets():
            if target in steps and target not in seen:
                seen.add(target)
                todo.append(target)
    for i, step in enumerate(definition.flow.steps):
        if step.id not in seen:
            yield definition.problem(
                ("steps", i, "id"),
                "unreachable",
                f"step {step.id!r} can never be reached",
                "point a next, branch or otherwise at it, or remove it",
            )


def _check_loops(definition: FlowDefinition) -> Iterator[Problem]:
    """A cycle of steps none of which waits would message a person without end."""
    steps = definition.steps
    graph = {
        sid: [t for _, t in s.targets() if t in steps and steps[t].ask is None]
        for sid, s in steps.items()
        if s.ask is None
    }
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> Iterator[list[str]]:
        state[node] = 1
        trail.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                yield trail[trail.index(nxt) :]
            elif nxt not in state:
                yield from visit(nxt, trail)
        trail.pop()
        state[node] = 2

    for start in graph:
        if start in state:
            continue
        for cycle in visit(start, []):
            key = frozenset(cycle)
            if key in reported:
                continue
            reported.add(key)
            route = " -> ".join([*cycle, cycle[0]])
            yield definition.problem(
                definition.step_path(cycle[0], "id"),
                "loop-without-wait",
                f"steps {route} loop without waiting for a reply "
                "(the person would be texted without end)",
                "put a question in the loop, or leave it",
            )


def _texts(step: Step, at: tuple[str | int, ...]) -> Iterator[_Text]:
    if step.send:
        yield _Text((*at, "send"), step.send, "question" if step.ask else "message")
    if step.reminder:
        yield _Text((*at, "reminder"), step.reminder, "reminder")
    if step.hint:
        yield _Text((*at, "hint"), step.hint, "hint")
    if step.handoff is not None:
        yield _Text((*at, "handoff"), step.handoff.note, "note")
    if step.ask is not None and step.ask.choice:
        for key, option in step.ask.choice.items():
            yield _Text((*at, "ask", "choice", key), option.label, "label")
    for name, value in (step.set or {}).items():
        if isinstance(value, str):
            yield _Text((*at, "set", name), value, "value")


def _saved_before(
    definition: FlowDefinition, library: dict[str, FlowDefinition]
) -> dict[str, set[str]]:
    """For each step, the answers saved on every path that reaches it (a forward data flow)."""
    steps = definition.steps
    everything = {_saved_name(s) for s in steps.values() if s.ask} | {"*"}
    before: dict[str, set[str]] = {sid: set(everything) for sid in steps}
    before[definition.first_step.id] = set()
    changed = True
    while changed:
        changed = False
        incoming: dict[str, set[str]] = {}
        for sid, step in steps.items():
            for label, target in step.targets():
                if target not in steps:
                    continue
                out = set(before[sid])
                if step.ask is not None and label not in ("timeout", "invalid"):
                    out.add(_saved_name(step))
                if step.start_flow is not None and step.start_flow.flow in library:
                    sub = library[step.start_flow.flow]
                    out |= {_saved_name(s) for s in sub.flow.steps if s.ask}
                incoming[target] = out if target not in incoming else incoming[target] & out
        for sid in steps:
            if sid == definition.first_step.id:
                continue
            new = incoming.get(sid, set(everything))
            if new != before[sid]:
                before[sid] = new
                changed = True
    return before


def _saved_name(step: Step) -> str:
    return step.save_as or step.id


def _check_texts(
    definition: FlowDefinition,
    fields_set: set[str],
    library: dict[str, FlowDefinition],
    limit: tuple[Measure, int] | None,
) -> Iterator[Problem]:
    saved_anywhere = {_saved_name(s) for s in definition.flow.steps if s.ask}
    before = _saved_before(definition, library)
    custom = set(definition.flow.uses_fields) | fields_set
    for i, step in enumerate(definition.flow.steps):
        at = ("steps", i)
        known_answers = before.get(step.id, set())
        for text in _texts(step, at):
            try:
                found = placeholders(text.template)
            except TemplateSyntaxError as exc:
                yield definition.problem(text.path, "bad-placeholder", str(exc))
                continue
            for p in found:
                message = _placeholder_problem(p, custom, known_answers, saved_anywhere)
                if message:
                    yield definition.problem(text.path, "unknown-placeholder", *message)
            if limit is not None and text.kind in ("message", "question", "reminder", "hint"):
                yield from _check_length(definition, text, step, *limit)
        for j, case in enumerate(step.branch or ()):
            if case.if_.field:
                p = Placeholder(case.if_.field)
                message = _placeholder_problem(p, custom, known_answers, saved_anywhere)
                if message:
                    yield definition.problem(
                        (*at, "branch", j, "if", "field"), "unknown-field", *message
                    )


def _placeholder_problem(
    p: Placeholder, custom: set[str], known_answers: set[str], saved_anywhere: set[str]
) -> tuple[str, str] | None:
    if p.fallback is not None:
        return None  # the coordinator said what to show when it is missing
    if p.scope == "answers":
        if p.key in known_answers:
            return None
        if p.key in saved_anywhere:
            return (
                f"{{{p.name}}} may be used before the answer {p.key!r} is saved",
                "move the question earlier, or give a fallback like {answers.x|...}",
            )
        return (
            f"{{{p.name}}}: no step saves an answer called {p.key!r}",
            _did_you_mean(p.key, saved_anywhere) or "check save_as on the question",
        )
    if p.scope == "event":
        if p.key in EVENT_FIELDS:
            return None
        return (
            f"{{{p.name}}}: events have no field {p.key!r}",
            _did_you_mean(p.key, EVENT_FIELDS) or "event fields: " + ", ".join(EVENT_FIELDS),
        )
    if p.scope == "fields":
        if p.key in custom:
            return None
        return (
            f"{{{p.name}}}: no flow sets the contact field {p.key!r}",
            "list it under uses_fields: if contacts are imported with it",
        )
    if p.key in CONTACT_FIELDS or p.key in custom:
        return None
    return (
        f"{{{p.name}}} is not a contact field",
        _did_you_mean(p.key, [*CONTACT_FIELDS, *custom])
        or "use fields.<name> for custom fields, answers.<name> for answers",
    )


def _check_length(
    definition: FlowDefinition, text: _Text, step: Step, measure: Measure, max_segments: int
) -> Iterator[Problem]:
    choices: tuple[Choice, ...] = ()
    if text.kind == "question" and step.ask is not None and step.ask.choice:
        choices = tuple(Choice(key, o.label) for key, o in step.ask.choice.items())
    segments, described = measure(Content(fill_samples(text.template), choices=choices))
    if segments > max_segments:
        yield definition.problem(
            text.path,
            "too-long",
            f"this message is about {described} with typical values, "
            f"over the limit of {max_segments}",
            "shorten it, or split it over two steps",
            warning=True,
        )


def sample_for(name: str) -> str:
    """A typical value for a placeholder or an answer called ``name`` (a long one, to judge
    lengths by).

    >>> sample_for("first_name"), sample_for("rsvp")
    ('Alexandra', 'xxxxxxxxxxxx')
    """
    return _SAMPLES.get(name) or "x" * 12


def fill_samples(template: str) -> str:
    try:
        found = placeholders(template)
    except TemplateSyntaxError:
        return template
    out = template
    for p in reversed(found):
        sample = _FORMAT_SAMPLES.get(p.format or "") or sample_for(p.key)
        end = template.index("}", p.offset) + 1
        out = out[: p.offset] + sample + out[end:]
    return out.replace("{{", "{").replace("}}", "}")


def _check_keywords(flows: Iterable[FlowDefinition], reserved: frozenset[str]) -> Iterator[Problem]:
    owner: dict[str, FlowDefinition] = {}
    for definition in flows:
        for j, word in enumerate(definition.flow.keywords):
            norm = normalize(word)
            path = ("keywords", j)
            if not norm or " " in norm:
                yield definition.problem(
                    path,
                    "bad-keyword",
                    f"keyword {word!r} must be one word",
                    "people text a single word, like JOIN",
                )
            elif norm in reserved:
                yield definition.problem(
                    path,
                    "reserved-keyword",
                    f"{word!r} is kept for opting out, in and for help",
                    "choose another word",
                )
            elif norm in owner and owner[norm] is not definition:
                yield definition.problem(
                    path,
                    "keyword-clash",
                    f"keyword {word!r} also starts flow {owner[norm].id!r} ({owner[norm].path})",
                    "give each flow its own keywords",
                )
            else:
                owner.setdefault(norm, definition)


def _did_you_mean(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
