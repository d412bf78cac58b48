"""A Babel extraction method for flow YAML, so ``pybabel extract`` reads flows as it reads code.

Registered as the ``outreach_flows`` extractor (entry point group ``babel.extractors``) and
named in ``babel.cfg``. Every text a person may receive is extracted: messages, questions,
option labels, reminders, hints and handover notes. Each comes with its line in the file, and
a translator comment naming the flow and step and carrying the step's (or option's) ``note:``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, Any

from outreach.errors import UnsafeYAML
from outreach.flows.yamlnodes import Document, load

# (lineno, funcname, message, comments): what Babel expects of an extraction method.
Extracted = tuple[int, str | None, str, list[str]]
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


def _item(doc: Document, path: tuple[str | int, ...], text: str, comments: list[str]) -> Extracted:
    return (doc.where(path).line, None, text, comments)
