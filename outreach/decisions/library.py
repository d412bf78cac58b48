"""Decision files, loaded and checked like flows: every mistake with its file and line."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from outreach.decisions.schema import FOLLOW_UP_FLOW, DecisionSpec
from outreach.errors import Problem
from outreach.flows.loader import (
    FlowDefinition,
    SourceFile,
    duplicate_ids,
    load_files,
    parse_document,
)


@dataclass(frozen=True, kw_only=True)
class DecisionDefinition(SourceFile):
    """A loaded, schema-valid decision together with where it came from."""

    spec: DecisionSpec
    kind: ClassVar[str] = "decision"

    @property
    def id(self) -> str:
        return self.spec.decision


def load_decision_text(text: str, *, path: str = "<decision>") -> DecisionDefinition:
    spec, doc, digest = parse_document(text, path, DecisionSpec, kind="decision")
    return DecisionDefinition(spec=spec, path=path, document=doc, digest=digest)


def load_decisions(
    paths: Iterable[Path], *, max_bytes: int
) -> tuple[list[DecisionDefinition], list[Problem]]:
    """Every decision file under ``paths``, and the problems of those that would not load."""
    return load_files(paths, "decision", load_decision_text, max_bytes=max_bytes)


def check_decisions(
    decisions: Iterable[DecisionDefinition],
    *,
    flows: Mapping[str, FlowDefinition],
    events: Collection[str],
) -> list[Problem]:
    """What only makes sense with the flows and events: the questions a decision answers
    exist and save answers, its events exist, ids are unique, and the follow-up flow is loaded
    (statements are checked against the store when the decision is sent)."""
    decisions = list(decisions)
    problems: list[Problem] = list(duplicate_ids(decisions))
    for decision in decisions:
        problems.extend(_questions(decision, flows, events))
        if decision.spec.follow_up and FOLLOW_UP_FLOW not in flows:
            problems.append(
                decision.problem(
                    ("follow_up",),
                    "no-follow-up-flow",
                    f"the follow-up is asked by the flow {FOLLOW_UP_FLOW!r}, which is not here",
                    f"restore flows/{FOLLOW_UP_FLOW}.yaml, or set follow_up: false",
                )
            )
    return problems


def _questions(
    decision: DecisionDefinition, flows: Mapping[str, FlowDefinition], events: Collection[str]
) -> Iterator[Problem]:
    for index, question in enumerate(decision.spec.questions):
        where = ("questions", index)
        flow = flows.get(question.flow)
        if flow is None:
            yield _unknown(decision, (*where, "flow"), "flow", question.flow, flows)
            continue
        saved = {s.save_as: s.id for s in flow.flow.steps if s.save_as}
        if question.step is not None:
            step = flow.steps.get(question.step)
            if step is None:
                yield _unknown(decision, (*where, "step"), "step", question.step, flow.steps)
            elif step.save_as is None:
                yield decision.problem(
                    (*where, "step"),
                    "not-a-question",
                    f"step {question.step!r} of {question.flow!r} saves no answer",
                    "name a step with save_as:, whose answers show who contributed",
                )
        if question.answer is not None and question.answer not in saved:
            yield _unknown(decision, (*where, "answer"), "answer", question.answer, saved)
        if question.event is not None and question.event not in events:
            yield _unknown(decision, (*where, "event"), "event", question.event, events)


def _unknown(
    decision: DecisionDefinition,
    where: tuple[str | int, ...],
    what: str,
    name: str,
    known: Collection[str],
) -> Problem:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return decision.problem(
        where,
        f"unknown-{what}",
        f"there is no {what} {name!r}",
        f"did you mean {close[0]!r}?" if close else "correct the name",
    )
