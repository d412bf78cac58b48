"""Answers leave Outreach under pseudonyms: as CSV (through ``csvfiles``, so no cell runs as a
spreadsheet formula), as JSON, and as FLOIP results (the Flow Interoperability Project's
open format: a Data Package whose one resource lists every response).

A pseudonym is a keyed hash of the contact's id: the same person has the same pseudonym in
every export made with the same key (``OUTREACH_SECRET_KEY``), so answers can be linked across
exports without naming anyone. Without a key each export draws a random one, and pseudonyms
link only within that export.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from outreach.csvfiles import writer

CSV_COLUMNS = (
    "answer_id",
    "person",
    "session",
    "flow",
    "step",
    "question",
    "kind",
    "value",
    "language",
    "at",
)
FLOIP_PROFILE = "flow-results-package"
FLOIP_VERSION = "1.0.0-rc1"


class Pseudonyms:
    """Stable, unguessable stand-ins for contact (and session) ids."""

    def __init__(self, key: str | None) -> None:
        self._key = (key or secrets.token_urlsafe(32)).encode()

    def __call__(self, kind: str, number: int | None) -> str | None:
        """
        >>> p = Pseudonyms("k")
        >>> p("person", 1) == p("person", 1) != p("person", 2)
        True
        >>> len(p("person", 1)), p("person", None)
        (16, None)
        """
        if number is None:
            return None
        digest = hmac.new(self._key, f"{kind}:{number}".encode(), hashlib.sha256)
        return digest.hexdigest()[:16]


def pseudonymise(rows: Sequence[dict[str, Any]], names: Pseudonyms) -> list[dict[str, Any]]:
    """Answers (from ``Results.answers``) with ids replaced by pseudonyms."""
    return [
        {
            "answer_id": row["answer_id"],
            "person": names("person", row["contact_id"]),
            "session": names("session", row["session_id"]),
            "flow": row["flow"],
            "step": row["step"],
            "question": row["question"],
            "kind": row["kind"],
            "value": row["value"],
            "language": row["language"],
            "at": _iso(row["at"]),
        }
        for row in rows
    ]


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Pseudonymised answers as CSV a spreadsheet opens safely.

    >>> print(to_csv([dict.fromkeys(CSV_COLUMNS, "=1+1")]).splitlines()[1].split(",")[0])
    '=1+1
    """
    out = io.StringIO()
    sheet = writer(out)
    sheet.writerow(CSV_COLUMNS)
    for row in rows:
        sheet.writerow(_cell(row[column]) for column in CSV_COLUMNS)
    return out.getvalue()


def floip(
    flow: str,
    questions: dict[str, dict[str, Any]],
    rows: Sequence[dict[str, Any]],
    *,
    now: datetime,
) -> dict[str, Any]:
    """A FLOIP results package for one flow: its questions, and each response as
    ``[timestamp, row_id, contact_id, session_id, question_id, response, metadata]``."""
    data = [
        [
            row["at"],
            str(row["answer_id"]),
            row["person"],
            row["session"],
            row["question"],
            row["value"],
            {"language": row["language"], "step": row["step"]},
        ]
        for row in rows
        if row["flow"] == flow
    ]
    return {
        "profile": FLOIP_PROFILE,
        "flow_results_specification_version": FLOIP_VERSION,
        "name": flow.replace("_", "-").lower(),
        "title": flow,
        "id": flow,
        "created": _iso(now),
        "modified": _iso(now),
        "resources": [
            {
                "name": f"{flow}-responses",
                "path": None,
                "api-data-url": None,
                "mediatype": "application/json",
                "encoding": "utf-8",
                "schema": {
                    "language": "eng",
                    "fields": [
                        {"name": "timestamp", "type": "datetime"},
                        {"name": "row_id", "type": "string"},
                        {"name": "contact_id", "type": "string"},
                        {"name": "session_id", "type": "string"},
                        {"name": "question_id", "type": "string"},
                        {"name": "response", "type": "any"},
                        {"name": "response_metadata", "type": "object"},
                    ],
                    "questions": questions,
                },
                "data": data,
            }
        ],
    }


def floip_questions(rows: Sequence[dict[str, Any]], flow: str) -> dict[str, dict[str, Any]]:
    """The questions of ``flow`` seen in the answers, typed as FLOIP names them."""
    types = {
        "choice": "select_one",
        "yesno": "select_one",
        "rating": "numeric",
        "number": "numeric",
        "date": "date",
        "text": "text",
    }
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["flow"] == flow and row["question"] not in found:
            found[row["question"]] = {
                "type": types.get(row["kind"], "text"),
                "label": row["question"],
                "type_options": {},
            }
    return found


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
