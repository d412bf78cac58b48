"""All the flows in a folder, loaded and checked together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from outreach.errors import FlowLoadError, Problem
from outreach.flows.loader import FlowDefinition, flow_files, load_file
from outreach.flows.validate import Measure, validate


@dataclass
class Report:
    """The outcome of checking some flow files."""

    flows: list[FlowDefinition] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    events: int = 0  # event files checked alongside (by the events package)
    partners: int = 0  # partner files checked alongside (by the partners package)
    decisions: int = 0  # decision files checked alongside (by the decisions package)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def check(
    paths: Iterable[Path],
    *,
    max_bytes: int,
    max_segments: int = 3,
    measure: Measure | None = None,
    reserved: frozenset[str] = frozenset(),
    can_receive_replies: bool = True,
) -> Report:
    """Load and validate every flow file under ``paths``, collecting all problems (see
    ``validate`` for the keyword arguments)."""
    report = Report()
    for path in flow_files(paths):
        try:
            report.flows.append(load_file(path, max_bytes=max_bytes))
        except FlowLoadError as exc:
            report.problems.extend(exc.problems)
    report.problems.extend(
        validate(
            report.flows,
            max_segments=max_segments,
            measure=measure,
            reserved=reserved,
            can_receive_replies=can_receive_replies,
        )
    )
    report.problems.sort(key=lambda p: (p.file, p.line, p.column))
    return report
