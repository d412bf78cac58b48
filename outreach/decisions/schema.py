"""The decision file format: what changed because of what people said, in each language,
and which questions (and statements) it answers. Documented for coordinators in
docs/decisions.md.

A decision file lives among the flows (``flows/decisions/``) and says so on its first line of
substance (``decision: <id>``). The web form builds the same value.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from outreach.flows.schema import Identifier

MAX_TEXT = 1000
"""Characters of one language's text (the one-off message's limit: a few SMS at most)."""
MAX_QUESTIONS = 50
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})?$")
FOLLOW_UP_FLOW = "you-said-we-did"
"""The flow started for each person told, asking whether the decision feels right."""


def _texts(value: Any) -> Any:
    """``{en: ..., cy: ...}``: every key a language code, every text non-empty and short."""
    if not isinstance(value, dict):
        return value
    for language, text in value.items():
        if not isinstance(language, str) or not LANGUAGE_TAG.match(language):
            raise ValueError(f"{language!r} is not a language code: write en, cy, pl, pt_BR")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the {language} text is empty: write it, or leave the language out")
        if len(text.strip()) > MAX_TEXT:
            raise ValueError(
                f"the {language} text is {len(text.strip())} characters, over {MAX_TEXT}: "
                "say it more briefly"
            )
    return {language: text.strip() for language, text in value.items()}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Model):
    """A question the decision answers: a flow's step, or the name its answers are saved
    as (``save_as``), optionally only the answers given about one event."""

    flow: Identifier
    step: Identifier | None = None
    answer: Identifier | None = None
    event: Identifier | None = None

    @model_validator(mode="after")
    def _step_or_answer(self) -> Question:
        if (self.step is None) == (self.answer is None):
            raise ValueError(
                "name the question by its step (step: ...) or by the answer it saves "
                "(answer: ...), one of the two"
            )
        return self

    def describe(self) -> str:
        """``flow/step`` or ``flow:answer``, and the event if any.

        >>> Question(flow="post-event-survey", answer="change", event="mh-2027").describe()
        'post-event-survey:change (event mh-2027)'
        """
        where = f"{self.flow}/{self.step}" if self.step else f"{self.flow}:{self.answer}"
        return f"{where} (event {self.event})" if self.event else where


StatementRef = Annotated[int | Identifier, Field(union_mode="left_to_right")]


class DecisionSpec(_Model):
    """One decision."""

    version: Literal[1] = 1
    decision: Identifier
    title: str = Field(min_length=1, max_length=200)
    text: Annotated[dict[str, str], BeforeValidator(_texts)] = Field(min_length=1)
    questions: list[Question] = Field(default=[], max_length=MAX_QUESTIONS)
    statements: list[StatementRef] = Field(default=[], max_length=MAX_QUESTIONS)
    follow_up: bool = False

    @model_validator(mode="after")
    def _answers_something(self) -> DecisionSpec:
        if not self.questions and not self.statements:
            raise ValueError(
                "say which questions it answers (questions:) or which statements "
                "(statements:): they choose who is told"
            )
        return self

    @property
    def events(self) -> set[str]:
        """The events whose answers this decision answers (it shows in their report)."""
        return {q.event for q in self.questions if q.event is not None}
