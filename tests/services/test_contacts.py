"""Importing contacts, and a person's rights over their data: export and erasure."""

from __future__ import annotations

import csv
import json
import re
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from sqlalchemy import String, Text, func, select, text
from typer.testing import CliRunner

from outreach.cli import app
from outreach.clock import ManualClock
from outreach.conversations.service import Conversations
from outreach.errors import ContactNotFound, ImportFileError
from outreach.services.contact_import import ImportReport, import_contacts
from outreach.services.privacy import erase_contact, export_contact, purge_message_bodies
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.migrate import head_revision
from outreach.store.models import AuditEntry, Base, ConsentEvent, Contact, ContactTag, Message
from tests.conftest import mobile
from tests.services.conftest import Phone, add_contact, contact_at, count


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


MIXED = [
    ["Mobile", "First name", "Surname", "Language", "Tags", "Ward", "Postcode"],
    [mobile(1), "Siân", "Evans", "cy", "carer; welsh-speaker", "Arboretum", "wr1 3ab"],
    ["07400 123458", "Tomasz", "Nowak", "pl", "", "Cathedral", "WR2"],
    ["+44 7400 123459", "Aisha", "Khan", "ur", "carer", "", ""],
    ["07700 900123", "Drama", "Number", "en", "", "", ""],  # Ofcom drama range
    ["not a number", "Nobody", "", "en", "", "", ""],
    [mobile(1), "Siân", "Again", "cy", "", "", ""],  # same number twice
    [mobile(5), "Bad", "Language", "xx-nonsense", "", "", ""],
]


def test_import_counts_rows_and_writes_rejects(db: Database, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "people.csv", MIXED, encoding="utf-8-sig")
    report = import_contacts(
        db,
        source,
        consent_source="Big Conversation sign-up sheet, May",
        mapping={"Ward": "fields.ward"},
        tags=["march-2026"],
    )
    assert (report.created, report.updated, report.unchanged, report.rejected) == (3, 0, 0, 4)
    assert report.encoding == "utf-8-sig"
    with report.rejects_path.open(encoding="utf-8") as fh:  # type: ignore[union-attr]
        rejects = list(csv.DictReader(fh))
    assert [(r["row"], r["reason"]) for r in rejects] == [
        ("5", "not a valid number in GB"),
        ("6", "not a phone number"),
        ("7", "the same number as row 2"),
        ("8", "unknown language 'xx-nonsense': use a code like en, cy, pl or pt_BR"),
    ]
    with db.transaction() as tx:
        sian = contact_at(tx, mobile(1))
        assert sian is not None
        assert (sian.first_name, sian.language, sian.postcode_district) == ("Siân", "cy", "WR1")
        assert sian.fields == {"ward": "Arboretum"}
        tags = set(tx.scalars(select(ContactTag.tag).where(ContactTag.contact_id == sian.id)))
        assert tags == {"carer", "welsh-speaker", "march-2026"}
        basis = tx.scalars(select(ConsentEvent.words)).all()
        assert basis == ["Big Conversation sign-up sheet, May"] * 3
        audit = tx.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
        assert audit is not None and audit.detail["created"] == 3


def test_reimport_is_idempotent_and_updates_changes(db: Database, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "people.csv", MIXED)
    import_contacts(db, source, consent_source="sheet")
    again = import_contacts(db, source, consent_source="sheet")
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 4)
    changed = [row[:] for row in MIXED[:3]]
    changed[1][1] = "Sian"
    changed[2][4] = "volunteer"
    report = import_contacts(
        db, write_csv(tmp_path / "changed.csv", changed), consent_source="sheet"
    )
    assert (report.created, report.updated, report.unchanged) == (0, 2, 0)
    assert count(db, Contact) == 3
    assert count(db, ConsentEvent) == 3  # the consent basis is recorded once, at creation


def test_windows_1252_names_are_read(db: Database, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "excel.csv",
        [["phone", "first_name", "last_name"], [mobile(2), "Zoë", "O’Brien"]],
        encoding="cp1252",
    )
    report = import_contacts(db, source, consent_source="clinic leaflet")
    assert (report.encoding, report.created) == ("cp1252", 1)
    with db.transaction() as tx:
        assert tx.scalar(select(Contact.last_name)) == "O’Brien"
        assert tx.scalar(select(Contact.first_name)) == "Zoë"


def test_rows_without_a_consent_basis_are_rejected(db: Database, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "c.csv", [["phone", "consent_source"], [mobile(1), "stall"], [mobile(2), ""]]
    )
    report = import_contacts(db, source)
    assert (report.created, report.rejected) == (1, 1)
    assert count(db, Contact) == 1


def test_import_never_opts_back_in_someone_who_opted_out(
    db: Database, service: Conversations, clock: ManualClock, tmp_path: Path
) -> None:
    add_contact(db, 1, at=clock.now)
    Phone(service, 1).text("STOP")
    import_contacts(
        db,
        write_csv(tmp_path / "c.csv", [["phone", "first_name"], [mobile(1), "Ann"]]),
        consent_source="x",
    )
    with db.transaction() as tx:
        contact = tx.scalar(select(Contact))
        assert contact is not None and contact.opted_out and contact.first_name == "Ann"


def test_dry_run_changes_nothing(db: Database, tmp_path: Path) -> None:
    report = import_contacts(
        db, write_csv(tmp_path / "p.csv", MIXED), consent_source="sheet", dry_run=True
    )
    assert (report.created, report.rejected) == (3, 4)
    assert count(db, Contact) == 0 and count(db, AuditEntry) == 0


def test_file_without_phone_column_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no phone column"):
        import_contacts(db, write_csv(tmp_path / "p.csv", [["name"], ["Ann"]]), consent_source="x")


def test_export_shows_everything_held(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, 3, at=clock.now, first_name="Priya", ethnicity="Indian")
    service.start(cid, "post-event-survey")
    Phone(service, 3).text("5")
    data = export_contact(db, mobile(3))
    assert data["contact"]["first_name"] == "Priya" and data["contact"]["ethnicity"] == "Indian"
    assert [c["source"] for c in data["consent"]] == ["import"]
    assert [a["name"] for a in data["answers"]] == ["rating"]
    assert {m["direction"] for m in data["messages"]} == {"in", "out"}
    assert data["conversations"][0]["flow"] == "post-event-survey"
    json.dumps(data)  # plain data throughout
    with pytest.raises(ContactNotFound):
        export_contact(db, mobile(99))


def test_erase_leaves_no_personal_data_anywhere(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(
        db,
        4,
        at=clock.now,
        first_name="Zebedee",
        last_name="Quimby",
        slack_user_id="UZEBEDEE",
        postcode_district="WR9",
    )
    other = add_contact(db, 5, at=clock.now, first_name="Kept")
    service.start(cid, "post-event-survey")
    phone = Phone(service, 4)
    for reply in ("2", "1", "Zebedee here: the room was too far from the bus stop"):
        phone.text(reply)
    service.start(other, "post-event-survey")

    erase_contact(db, mobile(4))

    needles = [mobile(4), mobile(4)[1:], "Zebedee", "Quimby", "UZEBEDEE", "bus stop", "WR9"]
    with db.transaction() as tx:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if (
                    not isinstance(column.type, String | Text)
                    and column.type.__class__.__name__ != "JSON"
                ):
                    continue
                for value in tx.execute(select(column)).scalars():
                    text = json.dumps(value) if not isinstance(value, str) else value
                    for needle in needles:
                        assert needle not in (text or ""), (
                            f"{needle!r} left in {table.name}.{column.name}"
                        )
        assert (
            tx.scalar(select(func.count()).select_from(Message).where(Message.contact_id == cid))
            == 8
        )  # 5 messages out and 3 in: the counts remain
        audit = tx.scalar(select(AuditEntry).where(AuditEntry.action == "erase"))
        assert audit is not None and audit.contact_id == cid
        kept = tx.get(Contact, other)
        assert kept is not None and kept.first_name == "Kept"


def test_retention_purges_old_bodies_and_keeps_rows(
    db: Database, service: Conversations, clock: ManualClock
) -> None:
    cid = add_contact(db, at=clock.now)
    service.start(cid, "big-conversation-invite")
    clock.advance(timedelta(days=30))
    Phone(service).text("yes")
    purged = purge_message_bodies(db, older_than_days=10, clock=clock)
    assert purged == 2  # the invitation and its question
    with db.transaction() as tx:
        bodies = [m.body for m in tx.scalars(select(Message).order_by(Message.id))]
    assert bodies[:2] == [None, None] and all(bodies[2:])
    assert count(db, Message) == 4


runner = CliRunner()


def test_cli_db_upgrade_import_export_erase(settings: Settings, tmp_path: Path) -> None:
    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), obj=settings)
        return result.exit_code, result.stdout + result.stderr

    head = head_revision()
    assert run("db", "upgrade") == (0, f"database upgraded from empty to revision {head}\n")
    assert run("db", "upgrade") == (0, f"database already up to date (revision {head})\n")
    source = write_csv(tmp_path / "p.csv", MIXED)
    code, out = run(
        "contacts",
        "import",
        str(source),
        "--consent-source",
        "sheet",
        "--map",
        "Ward=fields.ward",
        "--tag",
        "spring",
    )
    assert code == 0, out
    assert out.startswith("3 created, 0 updated, 0 unchanged, 4 rejected (see ")
    assert "ignored columns" not in out
    code, out = run("contacts", "export", "07400 123459")
    assert code == 0 and json.loads(out)["contact"]["first_name"] == "Aisha"
    code, out = run("contacts", "erase", "07400123459", "--yes")
    assert code == 0 and out.startswith("erased contact #")
    code, out = run("contacts", "export", "07400123459")
    assert code == 1 and "no contact with that phone number" in out
    code, out = run("retention", "run")
    assert code == 0 and out == "purged 0 message bodies older than 365 days\n"


def test_cli_erase_says_whom_before_asking_and_keeps_them_on_no(
    settings: Settings, tmp_path: Path
) -> None:
    def run(*args: str, answer: str | None = None) -> tuple[int, str]:
        result = runner.invoke(app, list(args), input=answer, obj=settings)
        return result.exit_code, result.stdout + result.stderr

    assert run("db", "upgrade")[0] == 0
    assert (
        run(
            "contacts", "import", str(write_csv(tmp_path / "p.csv", MIXED)), "--consent-source", "x"
        )[0]
        == 0
    )
    code, out = run("contacts", "erase", "07400 123459", answer="n\n")
    assert "Erase everything held on Aisha (07400 123459) for good?" in out
    assert code == 1 and "nothing erased" in out
    assert run("contacts", "export", "07400123459")[0] == 0  # still there
    code, out = run("contacts", "erase", "07400 123459", answer="y\n")
    assert code == 0 and "erased contact #" in out
    code, out = run("contacts", "erase", "07400 123459", answer="y\n")
    assert code == 1 and "no contact with that phone number" in out and "Erase" not in out


# -- what a real spreadsheet holds --------------------------------------------------------------


def example(kind: PhoneNumberType, region: str = "GB") -> str:
    number = phonenumbers.example_number_for_type(region, kind)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def rejects_of(report: ImportReport) -> dict[str, dict[str, str]]:
    assert report.rejects_path is not None
    with report.rejects_path.open(encoding="utf-8", newline="") as fh:
        return {row["row"]: row for row in csv.DictReader(fh)}


def test_only_numbers_that_can_receive_a_text_are_imported(db: Database, tmp_path: Path) -> None:
    rows = [
        ["phone", "first_name"],
        [mobile(1), "Mobile"],
        ["+1 201 555 0123", "United States: fixed line or mobile, no way to tell"],
        [example(PhoneNumberType.FIXED_LINE), "Landline"],
        [example(PhoneNumberType.PREMIUM_RATE), "Premium"],
        [example(PhoneNumberType.TOLL_FREE), "Freephone"],
        ["0300 123 4567", "Non-geographic 03"],
        [example(PhoneNumberType.PERSONAL_NUMBER), "Personal 070"],
        [example(PhoneNumberType.PAGER), "Pager"],
        [example(PhoneNumberType.VOIP), "VoIP"],
        [example(PhoneNumberType.SHARED_COST, "FR"), "Shared cost"],
    ]
    report = import_contacts(db, write_csv(tmp_path / "p.csv", rows), consent_source="x")
    assert (report.created, report.rejected) == (2, 8)
    reasons = {r["first_name"]: r["reason"] for r in rejects_of(report).values()}
    assert reasons == {
        "Landline": "a landline number, which cannot receive texts",
        "Premium": "a premium-rate number, which cannot receive texts",
        "Freephone": "a freephone number, which cannot receive texts",
        "Non-geographic 03": "a non-geographic (UAN) number, which cannot receive texts",
        "Personal 070": "a personal (follow-me) number, which cannot receive texts",
        "Pager": "a pager number, which cannot receive texts",
        "VoIP": "an internet (VoIP) number, which cannot receive texts",
        "Shared cost": "a shared-cost number, which cannot receive texts",
    }


@pytest.mark.parametrize("dry_run", [False, True])
def test_characters_that_look_like_digits_are_a_rejected_row(
    db: Database, tmp_path: Path, dry_run: bool
) -> None:
    rows = [
        ["phone", "first_name"],
        ["07400 12345²", "Superscript"],
        ["07400 12345①", "Circled"],
        ["07400 1234５６", "Fullwidth digits are digits"],
        [mobile(1), "Fine"],
    ]
    report = import_contacts(
        db, write_csv(tmp_path / "p.csv", rows), consent_source="x", dry_run=dry_run
    )
    assert (report.created, report.rejected) == (2, 2)
    assert {r["reason"] for r in rejects_of(report).values()} == {"not a phone number"}


FULL_NAMES = [
    ("Siân Evans", "Siân", "Evans"),
    ("  Mary   Anne de la Cruz ", "Mary", "Anne de la Cruz"),
    ("Evans, Siân", "Siân", "Evans"),
    ("Mrs Jane Smith", "Jane", "Smith"),
    ("Dr. Oluwaseun Adeyemi", "Oluwaseun", "Adeyemi"),
    ("Mrs Smith", "Mrs Smith", None),
    ("Cher", "Cher", None),
    ("王小明", "王小明", None),
    ("山田 太郎", "山田 太郎", None),
    ("김민준", "김민준", None),
    ("محمد بن سلمان", "محمد", "بن سلمان"),
]


def test_a_full_name_column_is_split_as_a_person_would(db: Database, tmp_path: Path) -> None:
    rows = [["Mobile", "Name"]] + [[mobile(i), name] for i, (name, _, _) in enumerate(FULL_NAMES)]
    report = import_contacts(db, write_csv(tmp_path / "p.csv", rows), consent_source="x")
    assert report.created == len(FULL_NAMES) and not report.ignored_columns
    with db.transaction() as tx:
        for i, (_, first, last) in enumerate(FULL_NAMES):
            contact = contact_at(tx, mobile(i))
            assert contact is not None
            assert (contact.first_name, contact.last_name) == (first, last)


def test_first_and_last_name_columns_win_over_a_full_name(db: Database, tmp_path: Path) -> None:
    rows = [
        ["phone", "full name", "first name", "surname"],
        [mobile(1), "Elizabeth Jones", "Beth", ""],
        [mobile(2), "Tomasz Nowak", "", ""],
    ]
    import_contacts(db, write_csv(tmp_path / "p.csv", rows), consent_source="x")
    with db.transaction() as tx:
        beth, tomasz = contact_at(tx, mobile(1)), contact_at(tx, mobile(2))
        assert beth is not None and (beth.first_name, beth.last_name) == ("Beth", "Jones")
        assert tomasz is not None and (tomasz.first_name, tomasz.last_name) == ("Tomasz", "Nowak")


FORMULAS = ['=HYPERLINK("http://x","click")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


def test_cells_that_a_spreadsheet_would_run_are_neutralised_in_the_rejects_file(
    db: Database, tmp_path: Path
) -> None:
    rows = [["phone", "first_name", "notes"]] + [["not a number", f, f] for f in FORMULAS]
    report = import_contacts(db, write_csv(tmp_path / "p.csv", rows), consent_source="x")
    assert report.rejected == len(FORMULAS)
    assert report.rejects_path is not None
    with report.rejects_path.open(encoding="utf-8", newline="") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://x","click")' in cells and "'+1+2" in cells
    # Imported again as it is, the rejects file reads back what was written.
    again = import_contacts(db, report.rejects_path, consent_source="x", dry_run=True)
    assert [r["first_name"] for r in rejects_of(again).values()] == [f"'{f}" for f in FORMULAS]


def test_a_nul_byte_a_bad_byte_and_an_endless_cell_are_each_one_rejected_row(
    db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "p.csv"
    source.write_bytes(
        b"phone,first_name\r\n"
        + f"{mobile(1)},Amina\r\n".encode()
        + f"{mobile(2)},Am\0ina\r\n".encode()
        + f"{mobile(3)},Jos\xe9\r\n".encode("cp1252")  # Windows-1252, as the rest is
        + f"{mobile(4)},Bad\x81byte\r\n".encode("latin-1")  # 0x81 is no character in it
        + f'{mobile(5)},"{"x" * 200_000}"\r\n'.encode()
        + f"{mobile(6)},Marek\r\n".encode()
    )
    report = import_contacts(db, source, consent_source="x")
    assert (report.created, report.rejected) == (3, 3)
    reasons = {number: row["reason"] for number, row in rejects_of(report).items()}
    assert reasons == {
        "3": "first_name contains a NUL character",
        "5": "a byte (0x81) that is neither UTF-8 nor Windows-1252 text: save the file as "
        "CSV UTF-8 and import it again",
        "6": "a cell is longer than the CSV limit of 131072 characters",
    }
    with db.transaction() as tx:
        names = set(tx.scalars(select(Contact.first_name)))
    assert names == {"Amina", "José", "Marek"}


def test_a_file_mixing_encodings_is_read_row_by_row_and_says_which_rows(
    db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "p.csv"
    source.write_bytes(
        b"phone,first_name\r\n"
        + f"{mobile(1)},Zoë\r\n".encode()
        + f"{mobile(2)},Siân\r\n".encode()
        + f"{mobile(3)},José\r\n".encode("cp1252")
        + f"{mobile(4)},Amina\r\n".encode()
    )
    report = import_contacts(db, source, consent_source="x")
    assert report.created == 4 and report.encoding == "utf-8"
    assert report.other_encoding == ("cp1252", [4])
    assert "row 4 is in Windows-1252, the rest of the file in UTF-8" in report.summary()
    with db.transaction() as tx:
        names = set(tx.scalars(select(Contact.first_name)))
    assert names == {"Zoë", "Siân", "José", "Amina"}


def test_cli_import_of_a_hostile_file_prints_nothing_personal(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "p.csv"
    source.write_bytes(
        b"phone,first_name\n"
        + f"{mobile(1)},Amina\n07400 12345\xc2\xb2,Superscript\n{mobile(2)},Nul\0name\n".encode()
    )
    assert runner.invoke(app, ["db", "upgrade"], obj=settings).exit_code == 0
    for dry_run in ([], ["--dry-run"]):
        result = runner.invoke(
            app,
            ["contacts", "import", str(source), "--consent-source", "x", *dry_run],
            obj=settings,
        )
        assert result.exit_code == 0, result.output
        assert "1 " in result.stdout and "2 rejected" in result.stdout
        for personal in ("Amina", "Superscript", "Nul", mobile(1)[3:], "12345"):
            assert personal not in result.output


def test_cli_import_exits_non_zero_when_nothing_was_imported(
    settings: Settings, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "p.csv", [["phone"], [mobile(1)], [mobile(2)]])
    assert runner.invoke(app, ["db", "upgrade"], obj=settings).exit_code == 0
    for dry_run in ([], ["--dry-run"]):
        result = runner.invoke(app, ["contacts", "import", str(source), *dry_run], obj=settings)
        assert result.exit_code == 1, result.output
        assert "0 unchanged, 2 rejected" in result.stdout
        assert "imported: all 2 rows were rejected" in result.stderr
    header_only = write_csv(tmp_path / "empty.csv", [["phone"]])
    result = runner.invoke(app, ["contacts", "import", str(header_only)], obj=settings)
    assert result.exit_code == 0, result.output


def test_files_that_are_not_csv_and_maps_that_do_not_fit_are_refused_saying_why(
    db: Database, tmp_path: Path
) -> None:
    workbook = tmp_path / "people.xlsx"
    with zipfile.ZipFile(workbook, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    utf16 = tmp_path / "unicode.csv"
    utf16.write_text("phone\n07400 100001\n", encoding="utf-16")
    people = write_csv(tmp_path / "p.csv", [["Mobile", "Ward"], [mobile(1), "Arboretum"]])
    for path, mapping, says in [
        (workbook, {}, "a spreadsheet workbook, not CSV"),
        (utf16, {}, "UTF-16"),
        (people, {"Mobil": "phone"}, "--map names a column the file does not have: Mobil"),
        (people, {"Mobile": "telephone"}, "--map Mobile=telephone: there is no field"),
    ]:
        with pytest.raises(ImportFileError, match=re.escape(says)):
            import_contacts(db, path, mapping=mapping, consent_source="x")
    assert count(db, Contact) == 0


def test_a_header_of_a_million_columns_is_refused_in_one_line_without_reading_it_whole(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "wide.csv"
    source.write_text("phone," + ",".join(f"c{i}" for i in range(1_000_000)) + "\n07400 100001\n")
    assert runner.invoke(app, ["db", "upgrade"], obj=settings).exit_code == 0
    tracemalloc.start()
    try:
        result = runner.invoke(
            app, ["contacts", "import", str(source), "--consent-source", "x"], obj=settings
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    assert "the first row is longer than 262,144 characters" in result.stderr
    assert len(result.output) < 300
    assert peak < 20 * 1024 * 1024


def test_too_many_columns_or_an_endless_line_is_refused_and_the_rest_imported(
    db: Database, tmp_path: Path
) -> None:
    many = write_csv(tmp_path / "many.csv", [["phone", *(f"c{i}" for i in range(300))]])
    with pytest.raises(ImportFileError, match="301 columns and a contacts file has at most 200"):
        import_contacts(db, many, consent_source="x")
    source = tmp_path / "p.csv"
    source.write_text(
        f"phone,first_name\n{mobile(1)},Amina\n{mobile(2)},{',' * 300}\n"
        f"{mobile(3)},{'y' * 300_000}\n{mobile(4)},Marek\n"
    )
    report = import_contacts(db, source, consent_source="x")
    assert (report.created, report.rejected) == (2, 2)
    reasons = {number: row["reason"] for number, row in rejects_of(report).items()}
    assert reasons == {
        "3": "the row has more than 200 cells",
        "4": "the row is longer than 262,144 characters",
    }


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_an_import_leaves_postgresql_planning_for_the_people_now_stored(
    db: Database, tmp_path: Path
) -> None:
    """An invitation straight after a big import is planned for the tables as they now are,
    not as they were before it (autovacuum would catch up only a minute or more later)."""
    rows = [["Mobile", "First name"]] + [[mobile(n), f"Person {n}"] for n in range(3000)]
    import_contacts(db, write_csv(tmp_path / "people.csv", rows), consent_source="sheet")
    with db.transaction() as tx:
        planned = tx.execute(
            text(
                "SELECT relname, reltuples FROM pg_class WHERE relnamespace = "
                "current_schema()::regnamespace AND relname IN ('contacts', 'contact_addresses')"
            )
        ).all()
    assert {name: round(tuples) for name, tuples in planned} == {
        "contacts": 3000,
        "contact_addresses": 3000,
    }
