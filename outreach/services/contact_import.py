"""Contacts as a coordinator handles them: import from CSV, subject access export, erasure.

Imports stream the file in batches (memory stays flat however long the file) and each batch
commits on its own; a row is taken whole or rejected whole, with its row number and reason
written to a rejects file. No contact is imported without a recorded consent basis, and an
import never opts back in someone who opted out.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from sqlalchemy.orm import Session

from outreach.clock import Clock, utcnow
from outreach.contacts.addresses import SIM, SLACK, SLACK_USER_ID, TEL
from outreach.contacts.phones import normalize_phone
from outreach.errors import ImportFileError, InvalidPhoneNumber
from outreach.store import audit, consent, contacts
from outreach.store.database import Database

BATCH = 2000
PARALLEL_FROM_BYTES = 1 << 20
MAX_FIELD = 500  # characters in any one CSV cell
MAX_TAGS = 20

# Columns a file may have, and the words coordinators use for them.
FIELDS = (
    "phone",
    "first_name",
    "last_name",
    "language",
    "timezone",
    "tags",
    "slack_user_id",
    "age_band",
    "ethnicity",
    "disability",
    "postcode_district",
    "consent_source",
)
ALIASES = {
    "mobile": "phone",
    "mobile_number": "phone",
    "phone_number": "phone",
    "number": "phone",
    "telephone": "phone",
    "tel": "phone",
    "first": "first_name",
    "forename": "first_name",
    "given_name": "first_name",
    "last": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "lang": "language",
    "preferred_language": "language",
    "time_zone": "timezone",
    "tag": "tags",
    "segments": "tags",
    "postcode": "postcode_district",
    "consent": "consent_source",
    "consent_basis": "consent_source",
}
_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "language": 16,
    "timezone": 64,
    "slack_user_id": 32,
    "age_band": 16,
    "ethnicity": 64,
    "disability": 64,
}
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?:[0-9][A-Z]{2})?$")
_UPDATABLE = (
    "first_name",
    "last_name",
    "language",
    "timezone",
    "age_band",
    "ethnicity",
    "disability",
    "postcode_district",
    "fields",
)


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        text = (
            f"{self.created} {verb}created, {self.updated} {verb}updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )
        if self.rejected and self.rejects_path:
            text += f" (see {self.rejects_path})"
        if self.ignored_columns:
            text += f"; ignored columns: {', '.join(self.ignored_columns)}"
        return text


@dataclass
class _Row:
    number: int
    raw: dict[str, str]
    values: dict[str, Any]
    tags: set[str]
    consent: str


def import_contacts(
    db: Database,
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    tags: Sequence[str] = (),
    consent_source: str | None = None,
    dry_run: bool = False,
    region: str = "GB",
    default_language: str = "en",
    default_timezone: str = "Europe/London",
    rejects_path: Path | None = None,
    workers: int | None = None,
    actor: str = "coordinator",
    clock: Clock = utcnow,
) -> ImportReport:
    """Create or update contacts from a CSV file, keyed by phone number.

    Checking phone numbers is most of the work; files over a megabyte are checked by
    ``workers`` processes (default: one per core) while this one writes to the database.
    """
    encoding = detect_encoding(path)
    report = ImportReport(encoding=encoding, dry_run=dry_run)
    report.rejects_path = rejects_path or path.with_name(path.stem + ".rejects.csv")
    seen: dict[str, int] = {}  # number -> first row: the one thing that grows with the file
    with path.open(encoding=encoding, newline="") as source:
        reader = csv.DictReader(source)
        columns = _resolve_columns(reader.fieldnames or [], mapping or {})
        if "phone" not in columns.values():
            raise ImportFileError("the file has no phone column: name one with --map COLUMN=phone")
        report.ignored_columns = [c for c in reader.fieldnames or [] if c not in columns]
        options = _Options(
            columns, tuple(tags), consent_source, region, default_language, default_timezone
        )
        if workers is None:
            workers = os.cpu_count() or 1 if path.stat().st_size > PARALLEL_FROM_BYTES else 1
        with _Rejects(report.rejects_path, reader.fieldnames or []) as rejects:
            batch: list[_Row] = []
            for number, raw, problem, row in _checked_rows(reader, options, workers):
                if row is not None and row.values["phone"] in seen:
                    problem = f"the same number as row {seen[row.values['phone']]}"
                if problem or row is None:
                    rejects.write(number, problem or "unreadable row", raw)
                    report.rejected += 1
                    continue
                seen[row.values["phone"]] = number
                batch.append(row)
                if len(batch) >= BATCH:
                    _store_batch(db, batch, report, dry_run=dry_run, now=clock())
                    batch = []
            if batch:
                _store_batch(db, batch, report, dry_run=dry_run, now=clock())
    if not report.rejected:
        report.rejects_path.unlink(missing_ok=True)
    if not dry_run:
        with db.transaction() as tx:
            audit.record(
                tx,
                "import",
                actor=actor,
                at=clock(),
                detail={
                    "file": path.name,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "rejected": report.rejected,
                    "consent_source": consent_source,
                    "tags": list(tags),
                },
            )
    return report


@dataclass(frozen=True)
class _Options:
    """How to read each row (sent to the checking processes, so plain and picklable)."""

    columns: Mapping[str, str]
    tags: tuple[str, ...]
    consent_source: str | None
    region: str
    default_language: str
    default_timezone: str


Checked = tuple[int, dict[str, Any], str | None, "_Row | None"]


def _checked_rows(
    reader: Iterator[dict[str, Any]], options: _Options, workers: int
) -> Iterator[Checked]:
    """Each row with its problem or parsed values, in file order."""
    numbered = enumerate(reader, start=2)  # row 1 is the header
    if workers <= 1:
        for number, raw in numbered:
            yield (number, raw, *_parse(number, raw, options))
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[list[Checked]]] = deque()
        # A few chunks in flight per process: enough to keep them busy, few enough that
        # memory does not grow with the file.
        while True:
            while len(pending) < workers * 2:
                chunk = list(islice(numbered, BATCH))
                if not chunk:
                    break
                pending.append(pool.submit(_check_chunk, chunk, options))
            if not pending:
                return
            yield from pending.popleft().result()


def _check_chunk(chunk: list[tuple[int, dict[str, Any]]], options: _Options) -> list[Checked]:
    return [(number, raw, *_parse(number, raw, options)) for number, raw in chunk]


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark) if the whole file decodes as it, else
    Windows-1252, which is what spreadsheet programs on Windows write."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        head = fh.read(3)
        fh.seek(0)
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"


def _resolve_columns(headers: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Which file column feeds which field: --map first, then names and their aliases."""
    out: dict[str, str] = {}
    for header in headers:
        if header in mapping:
            out[header] = mapping[header]
            continue
        key = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
        key = ALIASES.get(key, key)
        if key in FIELDS:
            out[header] = key
        elif key.startswith("fields_"):
            out[header] = "fields." + key.removeprefix("fields_")
    return out


def _parse(number: int, raw: dict[str, Any], options: _Options) -> tuple[str | None, _Row | None]:
    if None in raw:
        return "more cells than the header has columns", None
    values: dict[str, Any] = {"fields": {}}
    row_tags = {t for t in options.tags if t}
    consent = options.consent_source
    for column, target in options.columns.items():
        cell = (raw.get(column) or "").strip()
        if len(cell) > MAX_FIELD:
            return f"{column} is longer than {MAX_FIELD} characters", None
        if not cell:
            continue
        if target == "tags":
            row_tags |= {t.strip().lower() for t in re.split(r"[;,|]", cell) if t.strip()}
        elif target == "consent_source":
            consent = cell
        elif target.startswith("fields."):
            values["fields"][target.removeprefix("fields.")] = cell
        else:
            values[target] = cell
    try:
        values["phone"] = normalize_phone(values.get("phone", ""), options.region)
    except InvalidPhoneNumber as exc:
        return exc.reason, None
    if not consent:
        return "no consent basis: give --consent-source or a consent_source column", None
    problem = _check_values(values, options.default_language, options.default_timezone)
    if problem:
        return problem, None
    if len(row_tags) > MAX_TAGS or any(len(t) > 64 for t in row_tags):
        return f"at most {MAX_TAGS} tags of up to 64 characters", None
    return None, _Row(number, raw, values, row_tags, consent)


def _check_values(values: dict[str, Any], default_language: str, default_timezone: str) -> str:
    for name, limit in _LIMITS.items():
        if len(str(values.get(name, ""))) > limit:
            return f"{name} is longer than {limit} characters"
    language = values.setdefault("language", default_language)
    known = _language_tag(language)
    if known is None:
        return f"unknown language {language!r}: use a code like en, cy, pl or pt_BR"
    values["language"] = known
    timezone = values.setdefault("timezone", default_timezone)
    if not _known_timezone(timezone):
        return f"unknown time zone {timezone!r}: use a name like Europe/London"
    slack_id = values.get("slack_user_id")
    if slack_id is not None and not SLACK_USER_ID.match(slack_id):
        return "slack_user_id must be a Slack member id like U024BE7LH (Copy member ID)"
    if "postcode_district" in values:
        # Keep only the district (data minimisation): "WR1 3AB" is stored as "WR1".
        match = _POSTCODE.match(values["postcode_district"].upper().replace(" ", ""))
        if not match:
            return "postcode_district must be a UK postcode or its first half, like WR1"
        values["postcode_district"] = match.group(1)
    return ""


@lru_cache(maxsize=512)
def _language_tag(language: str) -> str | None:
    """The canonical tag (``pt_BR``) for a language a person gave, or None if unknown."""
    try:
        return str(Locale.parse(language.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return None


@lru_cache(maxsize=512)
def _known_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _store_batch(
    db: Database, batch: list[_Row], report: ImportReport, *, dry_run: bool, now: datetime
) -> None:
    phones = [row.values["phone"] for row in batch]
    with db.transaction() as tx:
        c = tx.connection()
        real = contacts.by_addresses(c, TEL, phones)
        # Made up in the phone simulator, now imported as a real person: their number becomes
        # real, and what they are sent goes out as real SMS from now on.
        made_up = contacts.by_addresses(c, SIM, phones)
        existing = {**made_up, **real}
        tags_of = contacts.tags_of(c, [found.row.id for found in existing.values()])
        new_rows, changed = [], []
        for row in batch:
            phone = row.values["phone"]
            current = existing.get(phone)
            if current is None:
                new_rows.append(row)
                continue
            merged = _merge(current.row, row.values)
            new_tags = row.tags - tags_of.get(current.row.id, set())
            if merged or new_tags or phone in made_up or _new_slack_id(current, row):
                changed.append((current, row, merged, new_tags))
            else:
                report.unchanged += 1
        report.created += len(new_rows)
        report.updated += len(changed)
        if dry_run:
            return
        made = contacts.insert_many(
            c,
            TEL,
            [(r.values["phone"], _columns(r.values), r.consent, r.tags) for r in new_rows],
            now,
        )
        for row in new_rows:
            _add_slack_address(tx, made[row.values["phone"]], row, now)
        real_again = [found.address_id for found in existing.values() if found.scheme == SIM]
        contacts.change_scheme(tx, real_again, TEL)
        for current, row, merged, new_tags in changed:
            contact_id = current.row.id
            if merged:
                contacts.update_contact(c, contact_id, {**merged, "updated_at": now})
            contacts.add_tags(c, contact_id, new_tags)
            if current.scheme == SIM and not current.row.opted_out:
                consent.record(
                    c,
                    contact_id,
                    "opted_in",
                    source="import",
                    words=row.consent,
                    at=now,
                    opted_out=False,
                )
            _add_slack_address(tx, contact_id, row, now)


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """A new contact's own columns from an imported row."""
    return {name: values.get(name) for name in _UPDATABLE if name != "fields"} | {
        "fields": values["fields"]
    }


def _merge(contact: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns an imported row changes (cells left empty change nothing)."""
    changes: dict[str, Any] = {}
    for name in _UPDATABLE:
        if name not in values:
            continue
        if name == "fields":
            merged = {**contact.fields, **values["fields"]}
            if merged != contact.fields:
                changes["fields"] = merged
        elif getattr(contact, name) != values[name]:
            changes[name] = values[name]
    return changes


def _new_slack_id(current: contacts.Found, row: _Row) -> bool:
    slack_id = row.values.get("slack_user_id")
    return bool(slack_id) and slack_id not in current.slack_ids


def _add_slack_address(tx: Session, contact_id: int, row: _Row, now: datetime) -> None:
    """The person's Slack id, if the file gives one nobody else has."""
    slack_id = row.values.get("slack_user_id")
    if slack_id and contacts.find_address(tx, SLACK, slack_id) is None:
        contacts.add_address(tx, contact_id, SLACK, slack_id, now)


class _Rejects:
    """The rejects file: each refused row with its number and reason, then its own cells."""

    def __init__(self, path: Path, headers: Sequence[str]) -> None:
        self.path = path
        self.headers = list(headers)
        self._fh: TextIO | None = None
        self._writer: Any = None

    def __enter__(self) -> _Rejects:
        return self

    def write(self, number: int, reason: str, raw: Mapping[str, Any]) -> None:
        if self._writer is None:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh)
            self._writer.writerow(["row", "reason", *self.headers])
        self._writer.writerow([number, reason, *(raw.get(h, "") for h in self.headers)])

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
