"""`outreach contacts import` with Slack member ids: a person reachable by SMS and Slack."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from outreach.services.contact_import import import_contacts
from outreach.store import contacts
from outreach.store.database import Database
from outreach.store.models import ConsentEvent, Contact, ContactAddress
from tests.services.test_contacts import write_csv


def test_slack_ids_become_slack_addresses_and_bad_ones_are_rejected(
    db: Database, tmp_path: Path
) -> None:
    rows = [
        ["phone", "first_name", "slack_user_id"],
        ["07400 100001", "Ade", "U024BE7LH"],
        ["07400 100002", "Bea", "not an id"],
        ["07400 100003", "Cai", ""],
    ]
    report = import_contacts(db, write_csv(tmp_path / "people.csv", rows), consent_source="form")
    assert (report.created, report.rejected) == (2, 1)
    assert report.rejects_path is not None
    rejects = report.rejects_path.read_text(encoding="utf-8")
    assert "slack_user_id must be a Slack member id like U024BE7LH" in rejects
    with db.transaction() as tx:
        addresses = sorted(tx.execute(select(ContactAddress.scheme, ContactAddress.address)))
    assert addresses == [("slack", "U024BE7LH"), ("tel", "+447400100001"), ("tel", "+447400100003")]


def test_people_on_slack_only_are_imported_found_again_and_reached_on_slack(
    db: Database, tmp_path: Path
) -> None:
    """A partner's list has members with a Slack id and no number: each becomes a contact
    reached on Slack; a second import finds them by that id; the same id twice is one row."""
    rows = [
        ["phone", "first_name", "slack_user_id", "tags"],
        ["", "Dee", "U0SLACK001", "partners"],
        ["07400 100004", "Eli", "U0SLACK002", "partners"],
        ["", "Fay", "U0SLACK001", ""],
        ["", "Gus", "", ""],
    ]
    source = write_csv(tmp_path / "people.csv", rows)
    report = import_contacts(db, source, consent_source="partner list")
    assert (report.created, report.rejected) == (2, 2)
    assert report.rejects_path is not None
    rejects = report.rejects_path.read_text(encoding="utf-8")
    assert "the same Slack id as row 2" in rejects
    with db.transaction() as tx:
        dee = contacts.find_address(tx, "slack", "U0SLACK001")
        assert dee is not None
        schemes = sorted(
            tx.scalars(
                select(ContactAddress.scheme).where(ContactAddress.contact_id == dee.contact_id)
            )
        )
        assert schemes == ["slack"]
        consent = tx.scalar(
            select(ConsentEvent.source).where(ConsentEvent.contact_id == dee.contact_id)
        )
        assert consent == "import"

    rows[1][1] = "Deirdre"
    again = import_contacts(db, write_csv(tmp_path / "again.csv", rows[:3]), consent_source="x")
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    with db.transaction() as tx:
        assert (
            tx.scalar(select(Contact.first_name).where(Contact.id == dee.contact_id)) == "Deirdre"
        )


def test_a_file_with_slack_ids_and_no_phone_column_is_read(db: Database, tmp_path: Path) -> None:
    rows = [["slack_user_id", "first_name"], ["U0SLACK009", "Hal"]]
    report = import_contacts(db, write_csv(tmp_path / "p.csv", rows), consent_source="x")
    assert report.created == 1
