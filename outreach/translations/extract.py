"""A Babel extraction method for flow YAML, so ``pybabel extract`` reads flows as it reads code.

Registered as the ``outreach_flows`` extractor (entry point group ``babel.extractors``) and
named in ``babel.cfg``. Every text a person may receive is extracted: messages, questions,
option labels, reminders, hints and handover notes. Each comes with its line in the file, and
a translator comment naming the flow and step and carrying the step's (or option's) ``note:``.
An option's ``match`` words are extracted too, as one entry whose context names the option
(``words: <flow>/<step>/<option>``), so translators can give the words people use for it in
their language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, Any

from outreach.errors import UnsafeYAML
from outreach.flows.yamlnodes import Document, load
from outreach.i18n.vocabulary import join_words, option_context

# (lineno, funcname, message, comments): what Babel expects of an extraction method. A
# message with a context is (context, text) under Babel's own ``pgettext`` keyword.
Extracted = tuple[int, str | None, str | tuple[str, str], list[str]]
_STEP_TEXTS = ("send", "reminder", "hint")


def extract_flows(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: Mapping[str, Any]
) -> Iterator[Extracted]:
    """Babel's entry point: the translatable texts of one flow file."""
    try:
        doc = load(fileobj.read().decode("utf-8"))
    except (UnicodeDecodeError, UnsafeYAML, ValueError):
        return  # `outreach flows validate` reports broken files; nothing to extract here
    data = doc.data
    if not isinstance(data, dict) or "flow" not in data or not isinstance(data.get("steps"), list):
        return  # events and digests have texts of their own kind
    flow = str(data["flow"])
    for index, step in enumerate(data["steps"]):
        if isinstance(step, dict):
            yield from _step_texts(doc, flow, index, step)


def _step_texts(doc: Document, flow: str, index: int, step: dict[str, Any]) -> Iterator[Extracted]:
    step_id = str(step.get("id", index))
    where = f"flow {flow}, step {step_id}"
    note = [str(step["note"])] if isinstance(step.get("note"), str) else []
    for field in _STEP_TEXTS:
        text = step.get(field)
        if isinstance(text, str) and text.strip():
            yield _item(doc, ("steps", index, field), text, [f"{where} ({field})", *note])
    handoff = step.get("handoff")
    if isinstance(handoff, str):
        yield _item(doc, ("steps", index, "handoff"), handoff, [f"{where} (note for staff)"])
    elif isinstance(handoff, dict) and isinstance(handoff.get("note"), str):
        yield _item(
            doc, ("steps", index, "handoff", "note"), handoff["note"], [f"{where} (note for staff)"]
        )
    ask = step.get("ask")
    choice = ask.get("choice") if isinstance(ask, dict) else None
    if isinstance(choice, dict):
        for key, option in choice.items():
            label = (
                option
                if isinstance(option, str)
                else (option.get("label") if isinstance(option, dict) else None)
            )
            if not isinstance(label, str):
                continue
            comments = [f"{where} (option {key!r}: keep it short, it is one line of a list)"]
            if isinstance(option, dict) and isinstance(option.get("note"), str):
                comments.append(option["note"])
            path: tuple[str | int, ...] = ("steps", index, "ask", "choice", key)
            if isinstance(option, dict):
                path = (*path, "label")
            yield _item(doc, path, label, comments)
            match = option.get("match") if isinstance(option, dict) else None
            words = [match] if isinstance(match, str) else match
            if isinstance(words, list) and words and all(isinstance(w, str) for w in words):
                yield (
                    doc.where(("steps", index, "ask", "choice", key, "match")).line,
                    "pgettext",
                    (option_context(flow, step_id, str(key)), join_words(words)),
                    [
                        f"{where} (words people text to choose {label!r}, separated by |: "
                        "add the ones people use in your language, keep the numbers)"
                    ],
                )


def _item(doc: Document, path: tuple[str | int, ...], text: str, comments: list[str]) -> Extracted:
    return (doc.where(path).line, None, text, comments)
