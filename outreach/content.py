"""What a message says, as data, before any channel renders it.

The engine and the services speak in ``Content``; a channel turns it into what it sends: numbered
options in a text message, buttons in Slack, a ``<Gather>`` on a voice call. It is stored with
the message, so a message can be rendered again for another channel (a person who moves from
the phone simulator to a real number) and reports can read the question that was asked.

>>> question = Content("Can you come?", kind="question", answer="choice",
...                    choices=(Choice("yes", "Yes"), Choice("no", "No")))
>>> Content.from_json(question.to_json()) == question
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["message", "question", "hint", "reminder", "system"]
Answer = Literal["choice", "yesno", "rating", "number", "date", "text"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a question: the key the flow branches on and the label a person reads."""

    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Content:
    """A message as data.

    ``text`` is the words (translated and filled in, not yet cleaned for any channel).
    ``choices`` are the options of a choice question; ``options_in_text`` says the words already
    list them (a coordinator's own reminder does), so a text channel must not list them again,
    while a channel with buttons still shows them. ``answer`` is the kind of answer a question
    expects and ``scale`` a rating's range, for channels that offer buttons for those too.
    ``thread`` is a channel's conversation thread, where a channel has threads.
    """

    text: str
    kind: Kind = "message"
    choices: tuple[Choice, ...] = ()
    answer: Answer | None = None
    scale: tuple[int, int] | None = None
    options_in_text: bool = False
    thread: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict, leaving out what is empty (most messages are plain text)."""
        data: dict[str, Any] = {"text": self.text, "kind": self.kind}
        if self.choices:
            data["choices"] = [[c.key, c.label] for c in self.choices]
        if self.answer is not None:
            data["answer"] = self.answer
        if self.scale is not None:
            data["scale"] = list(self.scale)
        if self.options_in_text:
            data["options_in_text"] = True
        if self.thread is not None:
            data["thread"] = self.thread
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Content:
        scale = data.get("scale")
        return cls(
            text=data["text"],
            kind=data.get("kind", "message"),
            choices=tuple(Choice(key, label) for key, label in data.get("choices", ())),
            answer=data.get("answer"),
            scale=(int(scale[0]), int(scale[1])) if scale else None,
            options_in_text=bool(data.get("options_in_text", False)),
            thread=data.get("thread"),
        )
