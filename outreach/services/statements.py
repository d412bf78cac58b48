"""Statements for coordinators: moderate what people sent, seed your own, and read the common
ground and the divisions between groups (counted in the database, analysed in
``services.consensus``, small counts suppressed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from outreach.clock import Clock, utcnow
from outreach.errors import StatementError
from outreach.flows.loader import files_of_kind
from outreach.services import consensus
from outreach.services.results import Shown, shown, suppress
from outreach.store import audit, opinions
from outreach.store.database import Database
from outreach.store.opinions import StatementRow, Status

DEFAULT_GROUPS = "role"
"""The contact field people are grouped by unless a coordinator names another."""
_UNDECLARED = "\x00none"  # people who declared no group: in no group's tests


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """One group's votes on a statement, as they may be shown, and its agreement."""

    group: str
    agree: Shown
    disagree: Shown
    passed: Shown
    seen: Shown
    agreement: int | None  # percent (the estimate), None when the counts are hidden


@dataclass(frozen=True, slots=True)
class StatementResult:
    """One approved statement and how each group voted."""

    id: int
    text: str
    groups: tuple[GroupCounts, ...]

    def cell(self, group: str) -> GroupCounts | None:
        """The group's votes on this statement, if it has any."""
        return next((g for g in self.groups if g.group == group), None)


@dataclass(frozen=True, slots=True)
class Listed:
    """A statement singled out: its id, words and direction (agree or disagree)."""

    id: int
    text: str
    direction: str


@dataclass(frozen=True, slots=True)
class CommonGround:
    """What a conversation's statements show: where every group agrees, where groups pull
    apart and what each group says more than the others."""

    conversation: str
    grouped_by: str
    consensus: tuple[Listed, ...]
    divisive: tuple[Listed, ...]
    distinctive: dict[str, tuple[Listed, ...]]
    statements: tuple[StatementResult, ...]
    groups: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        def listed(items: tuple[Listed, ...]) -> list[dict[str, Any]]:
            return [{"id": i.id, "text": i.text, "direction": i.direction} for i in items]

        return {
            "conversation": self.conversation,
            "grouped_by": self.grouped_by,
            "groups": list(self.groups),
            "consensus": listed(self.consensus),
            "divisive": listed(self.divisive),
            "distinctive": {g: listed(items) for g, items in self.distinctive.items()},
            "statements": [
                {
                    "id": s.id,
                    "text": s.text,
                    "groups": {
                        g.group: {
                            "agree": g.agree,
                            "disagree": g.disagree,
                            "pass": g.passed,
                            "seen": g.seen,
                            "agreement": g.agreement,
                        }
                        for g in s.groups
                    },
                }
                for s in self.statements
            ],
        }


class Statements:
    """Moderation, seeding and results of statements."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock

    def listing(
        self, *, conversation: str | None = None, status: str | None = None
    ) -> list[StatementRow]:
        if status is not None and status not in opinions.STATUSES:
            raise StatementError(f"status is pending, approved or rejected, not {status!r}")
        with self.db.transaction() as tx:
            return opinions.listing(tx.connection(), conversation=conversation, status=status)

    def moderate(self, statement_id: int, status: Status, *, by: str) -> None:
        """Approve or reject a statement, and record who did it."""
        now = self.clock()
        with self.db.transaction() as tx:
            opinions.moderate(tx.connection(), statement_id, status, by=by, now=now)
            audit.record(
                tx, f"statement-{status}", actor=by, at=now, detail={"statement": statement_id}
            )

    def add(self, conversation: str, text: str, *, language: str, by: str) -> int:
        """A coordinator's statement, approved at once (the same words again add nothing)."""
        _check_key(conversation)
        now = self.clock()
        with self.db.transaction() as tx:
            c = tx.connection()
            found = opinions.seeded(c, conversation, text, language)
            if found is not None:
                return found
            statement_id = opinions.add(
                c,
                conversation=conversation,
                text=text,
                language=language,
                now=now,
                approved_by=by,
            )
            audit.record(tx, "statement-add", actor=by, at=now, detail={"statement": statement_id})
            return statement_id

    def seed(self, paths: Sequence[Path], *, by: str) -> list[int]:
        """Add the statements of YAML files (a folder: its statements files): each gives a
        ``conversation:``, a default ``language:`` and a list of ``statements:``, each words
        or ``{text:, language:}``. Everything is checked before anything is added."""
        found = files_of_kind(paths, "statements")
        if not found:
            raise StatementError("no statements files there (they start with `statements:`)")
        todo = [item for path in found for item in _read(path)]
        return [self.add(key, text, language=language, by=by) for key, text, language in todo]

    def common_ground(self, conversation: str, *, groups: str = DEFAULT_GROUPS) -> CommonGround:
        """Consensus, division and what each group says more, for one conversation."""
        grouping = opinions.group_by(groups)
        with self.db.transaction() as tx:
            c = tx.connection()
            rows = opinions.tallies(c, conversation, grouping)
            counts: dict[int, dict[str, list[int]]] = defaultdict(
                lambda: defaultdict(lambda: [0, 0, 0])
            )
            for statement, group, vote, n in rows:
                counts[statement][group or _UNDECLARED][opinions.VOTES.index(vote)] += n
            texts = opinions.texts(c, sorted(counts))
        votes = {
            sid: {g: consensus.Tally(*v) for g, v in by_group.items()}
            for sid, by_group in counts.items()
        }
        declared = {
            sid: {g: t for g, t in by_group.items() if g != _UNDECLARED}
            for sid, by_group in votes.items()
        }
        views = consensus.analyse(declared)

        def listed(findings: list[consensus.Finding]) -> tuple[Listed, ...]:
            return tuple(
                Listed(f.statement, texts.get(f.statement, ""), f.direction) for f in findings
            )

        return CommonGround(
            conversation=conversation,
            grouped_by=groups,
            consensus=listed(consensus.common_ground(views)),
            divisive=listed(consensus.divisive(views)),
            distinctive={g: listed(f) for g, f in consensus.distinctive(views).items()},
            statements=tuple(
                StatementResult(
                    view.statement,
                    texts.get(view.statement, ""),
                    tuple(_counts(g) for g in view.groups),
                )
                for view in views
            ),
            groups=tuple(sorted({g for by_group in declared.values() for g in by_group})),
        )


def _read(path: Path) -> list[tuple[str, str, str]]:
    """(conversation, text, language) of each statement in one file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise StatementError(f"cannot read {path}: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("statements"), list):
        raise StatementError(f"{path}: give `conversation:` and a list of `statements:`")
    conversation = str(data.get("conversation", ""))
    _check_key(conversation)
    language = str(data.get("language", "en"))
    items = []
    for n, item in enumerate(data["statements"], start=1):
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            items.append((conversation, item["text"], str(item.get("language", language))))
        elif isinstance(item, str):
            items.append((conversation, item, language))
        else:
            raise StatementError(f"{path}: statement {n} is not words or {{text: ...}}")
        words = " ".join(items[-1][1].split())
        if not words or len(words) > opinions.MAX_LENGTH:
            raise StatementError(
                f"{path}: statement {n} must have words, at most {opinions.MAX_LENGTH} characters"
            )
    return items


def _counts(view: consensus.GroupView) -> GroupCounts:
    tally = view.tally
    cells = suppress({"agree": tally.agree, "disagree": tally.disagree, "pass": tally.passed})
    return GroupCounts(
        group=view.group,
        agree=cells["agree"],
        disagree=cells["disagree"],
        passed=cells["pass"],
        seen=shown(tally.seen),
        agreement=round(100 * view.agree) if view.tested else None,
    )


def _check_key(conversation: str) -> None:
    if (
        not conversation
        or len(conversation) > 64
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in conversation)
    ):
        raise StatementError(
            f"a conversation is an event id or a name like urgent-care-2027, not {conversation!r}"
        )
