"""Themes coordinators tag answers with: this module is the only writer of ``answer_themes``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from outreach.store.models import AnswerTheme


def tag(tx: Session, answer_id: int, theme: str, now: datetime) -> None:
    """Tag an answer with a theme (tagging it again changes nothing)."""
    if tx.get(AnswerTheme, (answer_id, theme)) is None:
        tx.add(AnswerTheme(answer_id=answer_id, theme=theme, tagged_at=now))


def untag(tx: Session, answer_id: int, theme: str) -> None:
    tx.execute(
        delete(AnswerTheme).where(AnswerTheme.answer_id == answer_id, AnswerTheme.theme == theme)
    )


def of(tx: Session, answer_ids: Sequence[int]) -> dict[int, list[str]]:
    """The themes of each answer, alphabetically."""
    found: dict[int, list[str]] = defaultdict(list)
    if answer_ids:
        for answer_id, theme in tx.execute(
            select(AnswerTheme.answer_id, AnswerTheme.theme)
            .where(AnswerTheme.answer_id.in_(list(answer_ids)))
            .order_by(AnswerTheme.theme)
        ):
            found[answer_id].append(theme)
    return found
