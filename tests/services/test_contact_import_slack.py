"""`outreach contacts import` with Slack member ids: a person reachable by SMS and Slack."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from outreach.services.contact_import import import_contacts
from outreach.store.database import Database
from outreach.store.models import ContactAddress
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
