"""Consensus and division between declared groups, from votes on statements.

Reimplemented from the method Pol.is published (no code of theirs): for each statement and
group, the agreement estimate is ``(agree + 1) / (seen + 2)``, where ``seen`` counts agree,
disagree and pass (the +1 and +2 keep a handful of votes from looking certain), and so is the
disagreement estimate. A one-proportion z-test says whether a group agrees (or disagrees) more
than half the time beyond chance; a two-proportion z-test says whether a group agrees more
than everyone else does.

- **Common ground**: every group (at least two, each with ``SMALL`` votes or more) agrees
  significantly, or every group disagrees significantly.
- **Divisive**: at least one group agrees significantly while another disagrees
  significantly; ranked by how far apart the groups' agreement is.
- **What a group says more than others**: statements a group agrees (or disagrees) with
  significantly, and significantly more than the rest do.

Nothing here touches the database: it takes counts and returns findings, so it is tested on
its own. A group with fewer than ``SMALL`` votes on a statement is left out of every test and
its counts are shown as ``"<5"``.

>>> votes = {1: {"patients": Tally(40, 5, 5), "carers": Tally(45, 3, 2)}}
>>> [s.statement for s in common_ground(analyse(votes))]
[1]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

SMALL = 5
"""Fewer votes than this in a group are not tested, and shown as ``"<5"``."""
Z_CRITICAL = 1.6449
"""One-sided 95%: a z-score at least this large is significant."""

Direction = Literal["agree", "disagree"]


@dataclass(frozen=True, slots=True)
class Tally:
    """One group's votes on one statement."""

    agree: int = 0
    disagree: int = 0
    passed: int = 0

    @property
    def seen(self) -> int:
        return self.agree + self.disagree + self.passed

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.agree + other.agree, self.disagree + other.disagree, self.passed + other.passed
        )


def estimate(votes: int, seen: int) -> float:
    """The smoothed share: ``(votes + 1) / (seen + 2)``.

    >>> estimate(0, 0), estimate(8, 8)
    (0.5, 0.9)
    """
    return (votes + 1) / (seen + 2)


def z_one(votes: int, seen: int) -> float:
    """How far the smoothed share is above one half, in standard errors.

    >>> round(z_one(40, 50), 2), round(z_one(25, 50), 2)
    (4.16, 0.0)
    """
    n = seen + 2
    return (estimate(votes, seen) - 0.5) / math.sqrt(0.25 / n)


def z_two(votes: int, seen: int, other_votes: int, other_seen: int) -> float:
    """How far one smoothed share is above another, in standard errors (pooled).

    >>> round(z_two(40, 50, 10, 50), 2)
    5.88
    """
    p1, p2 = estimate(votes, seen), estimate(other_votes, other_seen)
    n1, n2 = seen + 2, other_seen + 2
    pooled = (votes + other_votes + 2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return (p1 - p2) / spread if spread > 0 else 0.0


@dataclass(frozen=True, slots=True)
class GroupView:
    """What one group thinks of one statement."""

    group: str
    tally: Tally
    agree: float  # agreement estimate
    disagree: float  # disagreement estimate
    z_agree: float
    z_disagree: float
    z_agree_vs_rest: float
    z_disagree_vs_rest: float

    @property
    def tested(self) -> bool:
        return self.tally.seen >= SMALL

    @property
    def agrees(self) -> bool:
        return self.tested and self.z_agree >= Z_CRITICAL

    @property
    def disagrees(self) -> bool:
        return self.tested and self.z_disagree >= Z_CRITICAL


@dataclass(frozen=True, slots=True)
class StatementView:
    """Every group's view of one statement."""

    statement: int
    groups: tuple[GroupView, ...]

    @property
    def tested(self) -> tuple[GroupView, ...]:
        return tuple(g for g in self.groups if g.tested)

    @property
    def spread(self) -> float:
        """How far apart the tested groups' agreement is (0 to 1)."""
        shares = [g.agree for g in self.tested]
        return max(shares) - min(shares) if len(shares) > 1 else 0.0


def analyse(votes: Mapping[int, Mapping[str, Tally]]) -> list[StatementView]:
    """Each statement's view by group, from ``{statement: {group: Tally}}``."""
    views = []
    for statement, by_group in sorted(votes.items()):
        total = sum(by_group.values(), Tally())
        groups = []
        for group, tally in sorted(by_group.items()):
            rest = Tally(
                total.agree - tally.agree,
                total.disagree - tally.disagree,
                total.passed - tally.passed,
            )
            groups.append(
                GroupView(
                    group=group,
                    tally=tally,
                    agree=estimate(tally.agree, tally.seen),
                    disagree=estimate(tally.disagree, tally.seen),
                    z_agree=z_one(tally.agree, tally.seen),
                    z_disagree=z_one(tally.disagree, tally.seen),
                    z_agree_vs_rest=z_two(tally.agree, tally.seen, rest.agree, rest.seen),
                    z_disagree_vs_rest=z_two(tally.disagree, tally.seen, rest.disagree, rest.seen),
                )
            )
        views.append(StatementView(statement, tuple(groups)))
    return views


@dataclass(frozen=True, slots=True)
class Finding:
    """A statement singled out, and why."""

    statement: int
    direction: Direction
    strength: float  # for ordering: the weakest group's z, or the spread
    group: str | None = None  # for what one group says more than others


def common_ground(views: Sequence[StatementView]) -> list[Finding]:
    """Statements every group agrees with (or every group rejects), significantly; the
    most certain first."""
    found = []
    for view in views:
        tested = view.tested
        if len(tested) < 2:
            continue
        if all(g.agrees for g in tested):
            found.append(Finding(view.statement, "agree", min(g.z_agree for g in tested)))
        elif all(g.disagrees for g in tested):
            found.append(Finding(view.statement, "disagree", min(g.z_disagree for g in tested)))
    return sorted(found, key=lambda f: (-f.strength, f.statement))


def divisive(views: Sequence[StatementView]) -> list[Finding]:
    """Statements one group agrees with and another rejects, significantly; the furthest
    apart first."""
    found = [
        Finding(view.statement, "agree", view.spread)
        for view in views
        if any(g.agrees for g in view.tested) and any(g.disagrees for g in view.tested)
    ]
    return sorted(found, key=lambda f: (-f.strength, f.statement))


def distinctive(views: Sequence[StatementView], *, per_group: int = 5) -> dict[str, list[Finding]]:
    """For each group, what it says more than the others do: statements it agrees (or
    disagrees) with significantly, and significantly more than the rest."""
    found: dict[str, list[Finding]] = {}
    for view in views:
        if len(view.tested) < 2:
            continue
        for g in view.tested:
            if g.agrees and g.z_agree_vs_rest >= Z_CRITICAL:
                found.setdefault(g.group, []).append(
                    Finding(view.statement, "agree", g.z_agree_vs_rest, g.group)
                )
            elif g.disagrees and g.z_disagree_vs_rest >= Z_CRITICAL:
                found.setdefault(g.group, []).append(
                    Finding(view.statement, "disagree", g.z_disagree_vs_rest, g.group)
                )
    return {
        group: sorted(items, key=lambda f: (-f.strength, f.statement))[:per_group]
        for group, items in sorted(found.items())
    }
