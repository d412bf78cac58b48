"""Contacts as a coordinator handles them: import from CSV, subject access export, erasure.

Imports stream the file in batches (memory stays flat however long the file) and each batch
commits on its own; a row is taken whole or rejected whole, with its row number and reason
written to a rejects file. No contact is imported without a recorded consent basis, and an
import never opts back in someone who opted out.

A spreadsheet's export holds surprises: Windows-1252 rows in a UTF-8 file, bytes neither can
read, NUL characters, a cell longer than the csv module takes, numbers that cannot get a
text. Each is one rejected row (or, for a row in the other encoding, a row read in its own
and named in the summary); the rest of the file is imported. What is printed or logged names
rows by number, never by what they hold.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import unicodedata
from collections import Counter, deque
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

from outreach import csvfiles
from outreach.clock import Clock, utcnow
from outreach.contacts.addresses import SIM, SLACK, SLACK_USER_ID, TEL
from outreach.contacts.names import split_full_name
from outreach.contacts.phones import textable_phone
from outreach.errors import ImportFileError, InvalidPhoneNumber
from outreach.store import audit, consent, contacts
from outreach.store.database import Database

BATCH = 2000
PARALLEL_FROM_BYTES = 1 << 20
MAX_FIELD = 500  # characters in any one CSV cell
MAX_TAGS = 20
MAX_COLUMNS = 200  # a contacts file has a few dozen at most; more is the wrong file
MAX_LINE = 256 * 1024  # characters in one line of the file, read before the csv module sees it

# Columns a file may have, and the words coordinators use for them.
FIELDS = (
    "phone",
    "name",
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
    "full_name": "name",
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
_SURROGATES = re.compile("[\udc80-\udcff]")  # bytes UTF-8 could not read (surrogateescape)
_ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252"}
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
    # In a file mixing encodings: the other one, and the rows written in it (the first few).
    other_encoding: tuple[str, list[int]] | None = None
    other_encoding_rows: int = 0
    dry_run: bool = False

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    @property
    def nothing_imported(self) -> bool:
        """The file had rows, and every one was rejected."""
        return self.rejected > 0 and self.rejected == self.rows

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
        if self.other_encoding is not None:
            text += "; " + self._mixed_encodings(*self.other_encoding)
        return text

    def _mixed_encodings(self, other: str, rows: list[int]) -> str:
        count = self.other_encoding_rows
        listed = ", ".join(map(str, rows)) + (
            f" and {count - len(rows)} more" if count > len(rows) else ""
        )
        which = f"row {listed} is" if count == 1 else f"rows {listed} are"
        main = "UTF-8" if self.encoding.startswith("utf-8") else _ENCODING_NAMES[self.encoding]
        return (
            f"the file mixes encodings: {which} in {_ENCODING_NAMES[other]}, the rest of the "
            f"file in {main} (each row was read in its own; check those rows' names, and "
            "save the file as CSV UTF-8 next time)"
        )


@dataclass
class _Row:
    number: int
    raw: dict[str, str]
    values: dict[str, Any]
    tags: set[str]
    consent: str

    @property
    def scheme(self) -> str:
        """How the row's person is found: by number, or by Slack id for someone without one."""
        return TEL if self.values.get("phone") else SLACK

    @property
    def address(self) -> str:
        return str(self.values["phone"] if self.scheme == TEL else self.values["slack_user_id"])

    @property
    def key(self) -> tuple[str, str]:
        return self.scheme, self.address


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
    """Create or update contacts from a CSV file, keyed by phone number (or, for someone on
    Slack with no number, by Slack member id).

    Checking phone numbers is most of the work; files over a megabyte are checked by
    ``workers`` processes (default: one per core) while this one writes to the database.
    """
    encoding = _text_encoding(path)
    report = ImportReport(encoding=encoding, dry_run=dry_run)
    report.rejects_path = rejects_path or path.with_name(path.stem + ".rejects.csv")
    seen: dict[tuple[str, str], int] = {}  # address -> first row: what grows with the file
    rows_in: Counter[str] = Counter()
    first_rows: dict[str, list[int]] = {"utf-8": [], "cp1252": []}
    # Bytes UTF-8 cannot read stay in the text as lone surrogates, so each row can be read
    # in its own encoding (and a byte neither reads is that row's problem, not the file's).
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as source:
        reader = csv.reader(_BoundedLines(source))
        headers = _header(reader)
        columns = _resolve_columns(headers, _checked_mapping(mapping or {}, headers))
        if not {"phone", "slack_user_id"} & set(columns.values()):
            raise ImportFileError(
                "the file has no phone column: name one with --map COLUMN=phone "
                "(or give a slack_user_id column for people reached on Slack)"
            )
        report.ignored_columns = [c for c in headers if c not in columns]
        options = _Options(
            headers,
            columns,
            tuple(tags),
            consent_source,
            region,
            default_language,
            default_timezone,
        )
        if workers is None:
            workers = os.cpu_count() or 1 if path.stat().st_size > PARALLEL_FROM_BYTES else 1
        with _Rejects(report.rejects_path, headers) as rejects:
            batch: list[_Row] = []
            for number, raw, problem, row, row_encoding in _checked_rows(
                _records(reader), options, workers
            ):
                if row_encoding:
                    rows_in[row_encoding] += 1
                    if len(first_rows[row_encoding]) < 10:
                        first_rows[row_encoding].append(number)
                if row is not None and row.key in seen:
                    what = "number" if row.scheme == TEL else "Slack id"
                    problem = f"the same {what} as row {seen[row.key]}"
                if problem or row is None:
                    rejects.write(number, problem or "unreadable row", raw)
                    report.rejected += 1
                    continue
                seen[row.key] = number
                batch.append(row)
                if len(batch) >= BATCH:
                    _store_batch(db, batch, report, dry_run=dry_run, now=clock())
                    batch = []
            if batch:
                _store_batch(db, batch, report, dry_run=dry_run, now=clock())
    _note_encodings(report, rows_in, first_rows)
    if not report.rejected:
        report.rejects_path.unlink(missing_ok=True)
    if not dry_run:
        with db.transaction() as tx:
            if report.created or report.updated:
                contacts.refresh_statistics(tx.connection())
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

    headers: Sequence[str]
    columns: Mapping[str, str]
    tags: tuple[str, ...]
    consent_source: str | None
    region: str
    default_language: str
    default_timezone: str


# A record as read: its row number, its cells (None if the csv module could not read it) and
# the problem that stopped it being read.
Record = tuple[int, list[str] | None, str | None]
# A record checked: row number, cells by column, problem, parsed row, the row's encoding.
Checked = tuple[int, dict[str, str], str | None, "_Row | None", str]


def _header(reader: Iterator[list[str]]) -> list[str]:
    try:
        cells = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"the first row cannot be read as CSV: {exc}") from None
    except LineTooLong:
        raise ImportFileError(
            f"the first row is longer than {MAX_LINE:,} characters: is this a contacts file?"
        ) from None
    if cells is None:
        raise ImportFileError("the file is empty: the first row names the columns")
    if len(cells) > MAX_COLUMNS:
        raise ImportFileError(
            f"the first row has {len(cells):,} columns and a contacts file has at most "
            f"{MAX_COLUMNS}: is this a contacts file?"
        )
    try:
        headers, _ = _decoded(cells)
    except UnicodeDecodeError:
        raise ImportFileError(
            "the first row is neither UTF-8 nor Windows-1252 text: save the file as CSV UTF-8"
        ) from None
    return [csvfiles.restore(h).strip() for h in headers]


def _records(reader: Iterator[list[str]]) -> Iterator[Record]:
    """Each data row, numbered as a spreadsheet numbers them (the header is row 1); a row the
    csv module cannot read (a cell over its limit) is one row with a problem, and reading goes
    on after it."""
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, None, _csv_problem(exc)
            continue
        except LineTooLong:
            yield number, None, f"the row is longer than {MAX_LINE:,} characters"
            continue
        if len(cells) > MAX_COLUMNS:
            yield number, None, f"the row has more than {MAX_COLUMNS} cells"
            continue
        if cells:  # a blank line counts as a row, but is no one
            yield number, cells, None


class LineTooLong(Exception):
    """A line of the file over ``MAX_LINE`` characters (skipped without holding it)."""


class _BoundedLines:
    """The file's lines for the csv module, none longer than ``MAX_LINE``.

    The csv module holds a whole line, and a row's cells, in memory: a header of a million
    commas costs hundreds of megabytes before a column count could refuse it. A longer line
    is read past in pieces and raises ``LineTooLong``; reading goes on at the next line.
    """

    def __init__(self, source: TextIO) -> None:
        self._source = source

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._source.readline(MAX_LINE + 1)
        if not line:
            raise StopIteration
        if len(line) <= MAX_LINE:
            return line
        while line and not line.endswith("\n"):
            line = self._source.readline(MAX_LINE)
        raise LineTooLong


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than the CSV limit of {csv.field_size_limit()} characters"
    return f"the row cannot be read as CSV: {exc}"


def _checked_rows(records: Iterator[Record], options: _Options, workers: int) -> Iterator[Checked]:
    """Each row with its problem or parsed values, in file order."""
    if workers <= 1:
        for record in records:
            yield _check(record, options)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[list[Checked]]] = deque()
        # A few chunks in flight per process: enough to keep them busy, few enough that
        # memory does not grow with the file.
        while True:
            while len(pending) < workers * 2:
                chunk = list(islice(records, BATCH))
                if not chunk:
                    break
                pending.append(pool.submit(_check_chunk, chunk, options))
            if not pending:
                return
            yield from pending.popleft().result()


def _check_chunk(chunk: list[Record], options: _Options) -> list[Checked]:
    return [_check(record, options) for record in chunk]


def _check(record: Record, options: _Options) -> Checked:
    number, cells, problem = record
    if cells is None:
        return number, {}, problem, None, ""
    try:
        text, encoding = _decoded(cells)
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex()
        readable = [_SURROGATES.sub("\ufffd", cell) for cell in cells]
        return (
            number,
            dict(zip(options.headers, readable, strict=False)),
            f"a byte (0x{byte}) that is neither UTF-8 nor Windows-1252 text: save the file "
            "as CSV UTF-8 and import it again",
            None,
            "",
        )
    text = [csvfiles.restore(cell) for cell in text]
    raw = dict(zip(options.headers, text, strict=False))
    if len(text) > len(options.headers):
        return number, raw, "more cells than the header has columns", None, encoding
    return (number, raw, *_parse(number, raw, options), encoding)


def _decoded(cells: list[str]) -> tuple[list[str], str]:
    """A row's cells as text, and the encoding it was in ("" for plain ASCII): UTF-8 if it
    reads as UTF-8, else Windows-1252 (what spreadsheet programs on Windows write). Raises
    ``UnicodeDecodeError`` for a byte neither reads."""
    if not any(_SURROGATES.search(cell) for cell in cells):
        return cells, ("" if all(cell.isascii() for cell in cells) else "utf-8")
    raw = [cell.encode("utf-8", "surrogateescape") for cell in cells]
    return [b.decode("cp1252") for b in raw], "cp1252"


def _text_encoding(path: Path) -> str:
    """UTF-8, with or without a byte-order mark; the rows say if they are something else.
    Files a spreadsheet saves in other forms are refused, saying how to save them."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # .xlsx/.ods, or old .xls
        raise ImportFileError(
            f"{path.name} is a spreadsheet workbook, not CSV: save it as CSV UTF-8 (in Excel, "
            "File > Save As > CSV UTF-8) and import that file"
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            f"{path.name} is UTF-16 text (Excel's 'Unicode Text'): save it as CSV UTF-8 and "
            "import that file"
        )
    return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"


def _note_encodings(
    report: ImportReport, rows_in: Mapping[str, int], first_rows: Mapping[str, list[int]]
) -> None:
    """Name the file's encoding for the report, and the rows in another one, if any."""
    utf8, cp1252 = rows_in.get("utf-8", 0), rows_in.get("cp1252", 0)
    if cp1252 and not utf8:
        report.encoding = "cp1252"
    elif utf8 and cp1252:
        other = "utf-8" if cp1252 > utf8 else "cp1252"
        if other == "utf-8":
            report.encoding = "cp1252"
        report.other_encoding = (other, first_rows[other])
        report.other_encoding_rows = rows_in[other]


def _checked_mapping(mapping: Mapping[str, str], headers: Sequence[str]) -> Mapping[str, str]:
    """``--map`` as given, once each column is one the file has and each field one we know."""
    unknown = [column for column in mapping if column not in headers]
    if unknown:
        raise ImportFileError(
            f"--map names a column the file does not have: {', '.join(unknown)} (its columns: "
            f"{', '.join(headers)})"
        )
    for column, target in mapping.items():
        if target not in FIELDS and not (target.startswith("fields.") and len(target) > 7):
            raise ImportFileError(
                f"--map {column}={target}: there is no field {target!r}; the fields are "
                f"{', '.join(FIELDS)}, or fields.NAME for one of your own"
            )
    return mapping


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


def _parse(number: int, raw: dict[str, str], options: _Options) -> tuple[str | None, _Row | None]:
    values: dict[str, Any] = {"fields": {}}
    row_tags = {t for t in options.tags if t}
    consent = options.consent_source
    for column, target in options.columns.items():
        cell = (raw.get(column) or "").strip()
        if len(cell) > MAX_FIELD:
            return f"{column} is longer than {MAX_FIELD} characters", None
        if not cell:
            continue
        problem = _surprise(column, cell, multiline=target.startswith("fields."))
        if problem:
            return problem, None
        if target == "tags":
            row_tags |= {t.strip().lower() for t in re.split(r"[;,|]", cell) if t.strip()}
        elif target == "consent_source":
            consent = cell
        elif target.startswith("fields."):
            values["fields"][target.removeprefix("fields.")] = cell
        else:
            values[target] = cell
    _split_name(values)
    if values.get("phone") or not values.get("slack_user_id"):  # someone on Slack only: no number
        try:
            values["phone"] = textable_phone(values.get("phone", ""), options.region)
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


def _surprise(column: str, cell: str, *, multiline: bool) -> str:
    """What no cell of a contact should hold: a NUL, or another control character (line
    breaks and tabs are allowed in a custom field's text)."""
    if cell.isprintable():  # the common case, quickly
        return ""
    if "\0" in cell:
        return f"{column} contains a NUL character"
    allowed = "\t\n\r" if multiline else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in cell):
        return f"{column} contains a control character"
    return ""


def _split_name(values: dict[str, Any]) -> None:
    """A full-name column fills the first and last name its own columns leave empty."""
    full = values.pop("name", None)
    if full:
        first, last = split_full_name(full)
        values.setdefault("first_name", first)
        if values.get("last_name") is None and last is not None:
            values["last_name"] = last
        if values["first_name"] is None:
            del values["first_name"]


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
    phones = [row.address for row in batch if row.scheme == TEL]
    slack_only = [row.address for row in batch if row.scheme == SLACK]
    with db.transaction() as tx:
        c = tx.connection()
        real = contacts.by_addresses(c, TEL, phones)
        # Made up in the phone simulator, now imported as a real person: their number becomes
        # real, and what they are sent goes out as real SMS from now on.
        made_up = contacts.by_addresses(c, SIM, phones)
        existing = {
            **{(TEL, phone): found for phone, found in made_up.items()},
            **{(TEL, phone): found for phone, found in real.items()},
            **{
                (SLACK, user): found
                for user, found in contacts.by_addresses(c, SLACK, slack_only).items()
            },
        }
        tags_of = contacts.tags_of(c, [found.row.id for found in existing.values()])
        new_rows, changed = [], []
        for row in batch:
            current = existing.get(row.key)
            if current is None:
                new_rows.append(row)
                continue
            merged = _merge(current.row, row.values)
            new_tags = row.tags - tags_of.get(current.row.id, set())
            if merged or new_tags or current.scheme == SIM or _new_slack_id(current, row):
                changed.append((current, row, merged, new_tags))
            else:
                report.unchanged += 1
        report.created += len(new_rows)
        report.updated += len(changed)
        if dry_run:
            return
        for scheme in (TEL, SLACK):
            people = [r for r in new_rows if r.scheme == scheme]
            made = contacts.insert_many(
                c,
                scheme,
                [(r.address, _columns(r.values), r.consent, r.tags) for r in people],
                now,
            )
            if scheme == TEL:
                for row in people:
                    _add_slack_address(tx, made[row.address], row, now)
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
        self._writer: csvfiles.SafeWriter | None = None

    def __enter__(self) -> _Rejects:
        return self

    def write(self, number: int, reason: str, raw: Mapping[str, Any]) -> None:
        if self._writer is None:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csvfiles.writer(self._fh)
            self._writer.writerow(["row", "reason", *self.headers])
        self._writer.writerow([number, reason, *(raw.get(h, "") for h in self.headers)])

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
