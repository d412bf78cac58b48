"""Contacts as a coordinator handles them: import from CSV, subject access export, erasure.

Imports stream the file in batches (memory stays flat however long the file) and each batch
commits on its own; a row is taken whole or rejected whole, with its row number and reason
written to a rejects file. No contact is imported without a recorded consent basis, and an
import never opts back in someone who opted out.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from outreach.clock import Clock, utcnow
from outreach.contacts.phones import normalize_phone
from outreach.errors import ContactNotFound, ImportFileError, InvalidPhoneNumber
from outreach.store.database import Database
from outreach.store.models import (
    Answer,
    AuditEntry,
    ConsentEvent,
    Contact,
    ContactTag,
    ConversationSession,
    DueWork,
    Handoff,
    Message,
    OutboxItem,
    Rsvp,
)

BATCH = 2000
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
    "slack_user_id",
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
    actor: str = "coordinator",
    clock: Clock = utcnow,
) -> ImportReport:
    """Create or update contacts from a CSV file, keyed by phone number."""
    encoding = detect_encoding(path)
    report = ImportReport(encoding=encoding, dry_run=dry_run)
    report.rejects_path = rejects_path or path.with_name(path.stem + ".rejects.csv")
    seen: dict[str, int] = {}
    with path.open(encoding=encoding, newline="") as source:
        reader = csv.DictReader(source)
        columns = _resolve_columns(reader.fieldnames or [], mapping or {})
        if "phone" not in columns.values():
            raise ImportFileError("the file has no phone column: name one with --map COLUMN=phone")
        report.ignored_columns = [c for c in reader.fieldnames or [] if c not in columns]
        with _Rejects(report.rejects_path, reader.fieldnames or []) as rejects:
            batch: list[_Row] = []
            for number, raw in enumerate(reader, start=2):  # row 1 is the header
                problem, row = _parse(
                    number,
                    raw,
                    columns,
                    tags,
                    consent_source,
                    region,
                    default_language,
                    default_timezone,
                )
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
            tx.add(
                AuditEntry(
                    at=clock(),
                    actor=actor,
                    action="import",
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
            )
    return report


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


def _parse(
    number: int,
    raw: dict[str, Any],
    columns: Mapping[str, str],
    extra_tags: Sequence[str],
    consent_source: str | None,
    region: str,
    default_language: str,
    default_timezone: str,
) -> tuple[str | None, _Row | None]:
    if None in raw:
        return "more cells than the header has columns", None
    values: dict[str, Any] = {"fields": {}}
    row_tags = {t for t in extra_tags if t}
    consent = consent_source
    for column, target in columns.items():
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
        values["phone"] = normalize_phone(values.get("phone", ""), region)
    except InvalidPhoneNumber as exc:
        return exc.reason, None
    if not consent:
        return "no consent basis: give --consent-source or a consent_source column", None
    problem = _check_values(values, default_language, default_timezone)
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
    try:
        values["language"] = str(Locale.parse(language.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return f"unknown language {language!r}: use a code like en, cy, pl or pt_BR"
    timezone = values.setdefault("timezone", default_timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {timezone!r}: use a name like Europe/London"
    if "postcode_district" in values:
        # Keep only the district (data minimisation): "WR1 3AB" is stored as "WR1".
        match = _POSTCODE.match(values["postcode_district"].upper().replace(" ", ""))
        if not match:
            return "postcode_district must be a UK postcode or its first half, like WR1"
        values["postcode_district"] = match.group(1)
    return ""


def _store_batch(
    db: Database, batch: list[_Row], report: ImportReport, *, dry_run: bool, now: datetime
) -> None:
    phones = [row.values["phone"] for row in batch]
    with db.transaction() as tx:
        existing = {
            c.phone: c for c in tx.scalars(select(Contact).where(Contact.phone.in_(phones)))
        }
        tags_of: dict[int, set[str]] = {}
        if existing:
            for contact_id, tag in tx.execute(
                select(ContactTag.contact_id, ContactTag.tag).where(
                    ContactTag.contact_id.in_([c.id for c in existing.values()])
                )
            ):
                tags_of.setdefault(contact_id, set()).add(tag)
        new_rows, changed = [], []
        for row in batch:
            current = existing.get(row.values["phone"])
            if current is None:
                new_rows.append(row)
                continue
            merged = _merge(current, row.values)
            new_tags = row.tags - tags_of.get(current.id, set())
            if merged or new_tags:
                changed.append((current, merged, new_tags))
            else:
                report.unchanged += 1
        report.created += len(new_rows)
        report.updated += len(changed)
        if dry_run:
            return
        if new_rows:
            _insert_new(tx, new_rows, now)
        for contact, merged, new_tags in changed:
            if merged:
                tx.execute(
                    update(Contact).where(Contact.id == contact.id).values(**merged, updated_at=now)
                )
            if new_tags:
                tx.execute(
                    insert(ContactTag),
                    [{"contact_id": contact.id, "tag": t} for t in sorted(new_tags)],
                )


def _merge(contact: Contact, values: Mapping[str, Any]) -> dict[str, Any]:
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


def _insert_new(tx: Session, rows: list[_Row], now: datetime) -> None:
    records = [
        {
            "phone": row.values["phone"],
            **{name: row.values.get(name) for name in _UPDATABLE if name != "fields"},
            "fields": row.values["fields"],
            "opted_out": False,
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]
    returned = tx.execute(insert(Contact).returning(Contact.phone, Contact.id), records)
    ids = {phone: contact_id for phone, contact_id in returned}
    tx.execute(
        insert(ConsentEvent),
        [
            {
                "contact_id": ids[row.values["phone"]],
                "status": "opted_in",
                "source": "import",
                "words": row.consent,
                "at": now,
            }
            for row in rows
        ],
    )
    tag_rows = [
        {"contact_id": ids[row.values["phone"]], "tag": tag}
        for row in rows
        for tag in sorted(row.tags)
    ]
    if tag_rows:
        tx.execute(insert(ContactTag), tag_rows)


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


# -- a person's data: export and erasure -------------------------------------------------------


def export_contact(
    db: Database,
    phone: str,
    *,
    region: str = "GB",
    actor: str = "coordinator",
    clock: Clock = utcnow,
) -> dict[str, Any]:
    """Everything held on one person, as plain data (a subject access request)."""
    with db.transaction() as tx:
        contact = _by_phone(tx, phone, region)
        cid = contact.id
        data: dict[str, Any] = {
            "contact": _row_dict(contact),
            "tags": sorted(tx.scalars(select(ContactTag.tag).where(ContactTag.contact_id == cid))),
        }
        for name, model in (
            ("consent", ConsentEvent),
            ("rsvps", Rsvp),
            ("conversations", ConversationSession),
            ("answers", Answer),
            ("messages", Message),
            ("handoffs", Handoff),
        ):
            rows = tx.scalars(select(model).where(model.contact_id == cid).order_by(model.id))
            data[name] = [_row_dict(r) for r in rows]
        tx.add(AuditEntry(at=clock(), actor=actor, action="export", contact_id=cid, detail={}))
    return data


def erase_contact(
    db: Database,
    phone: str,
    *,
    region: str = "GB",
    actor: str = "coordinator",
    clock: Clock = utcnow,
) -> int:
    """Remove a person's personal data and message bodies; keep anonymous counts.

    What stays: the contact row's id, language and dates (so counts of people and of
    messages still add up), answers that are a choice, a number or a date (aggregates), and
    message rows without bodies. Returns the contact id (as recorded in the audit log).
    """
    now = clock()
    with db.transaction() as tx:
        contact = _by_phone(tx, phone, region)
        cid = contact.id
        for name in (
            "phone",
            "first_name",
            "last_name",
            "slack_user_id",
            "age_band",
            "ethnicity",
            "disability",
            "postcode_district",
            "undeliverable",
        ):
            setattr(contact, name, None)
        contact.fields = {}
        contact.opted_out = True  # nobody can be messaged at an erased record
        contact.erased_at = now
        contact.updated_at = now
        tx.execute(delete(ContactTag).where(ContactTag.contact_id == cid))
        tx.execute(delete(OutboxItem).where(OutboxItem.contact_id == cid))
        tx.execute(delete(DueWork).where(DueWork.contact_id == cid))
        tx.execute(
            update(Message)
            .where(Message.contact_id == cid)
            .values(body=None, provider_id=None, updated_at=now)
        )
        tx.execute(update(Answer).where(Answer.contact_id == cid).values(raw=None))
        tx.execute(
            update(Answer).where(Answer.contact_id == cid, Answer.kind == "text").values(value=None)
        )
        tx.execute(update(ConsentEvent).where(ConsentEvent.contact_id == cid).values(words=None))
        tx.execute(update(Handoff).where(Handoff.contact_id == cid).values(note=None))
        tx.execute(
            update(ConversationSession)
            .where(ConversationSession.contact_id == cid)
            .values(
                state=None,
                status="ended",
                step=None,
                end_detail=None,
                end_reason="erased",
                ended_at=now,
                updated_at=now,
            )
        )
        tx.add(AuditEntry(at=now, actor=actor, action="erase", contact_id=cid, detail={}))
    return cid


def _by_phone(tx: Session, phone: str, region: str) -> Contact:
    contact = tx.scalar(select(Contact).where(Contact.phone == normalize_phone(phone, region)))
    if contact is None:
        raise ContactNotFound()
    return contact


def _row_dict(row: Any) -> dict[str, Any]:
    out = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        out[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return out
