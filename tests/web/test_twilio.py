"""SMS through Twilio, end to end over real HTTP: webhooks, sending, delivery reports."""

from __future__ import annotations

import shutil
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.channels.fake_twilio import FakeTwilio
from outreach.clock import ManualClock
from outreach.services import simulator
from outreach.services.contact_import import import_contacts
from outreach.services.flows import check_flows
from outreach.services.webhooks import Refusals, purge_refusals
from outreach.settings import Settings
from outreach.store import consent
from outreach.store.database import Database
from outreach.store.models import (
    ConsentEvent,
    Contact,
    ContactAddress,
    Message,
    OutboxItem,
    WebhookRefusalCount,
    WebhookRejection,
)
from tests.conftest import ROOT, mobile
from tests.services.conftest import add_contact, contact_at, count
from tests.web.conftest import OUR_NUMBER, Site, make_site

PERSON = mobile(11)


def undeliverable(tx: Session, contact_id: int) -> list[str | None]:
    """Why each of a contact's addresses cannot get messages (None: it can)."""
    return list(
        tx.scalars(
            select(ContactAddress.undeliverable).where(ContactAddress.contact_id == contact_id)
        )
    )


def messages_to(db: Database, number: str) -> list[Message]:
    with db.transaction() as tx:
        found = contact_at(tx, number)
        contact_id = found.id if found is not None else None
        return list(
            tx.scalars(
                select(Message)
                .where(Message.contact_id == contact_id, Message.direction == "out")
                .order_by(Message.id)
            )
        )


def test_join_by_sms_goes_out_through_twilio_and_is_delivered(site: Site) -> None:
    answer = site.text_in(PERSON, "JOIN", sid="SM" + "a" * 32)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.text.endswith("<Response />")

    assert str(site.runtime.dispatcher.flush()) == "1 sent"
    sent = site.fake.sent_to(PERSON)
    assert len(sent) == 1 and sent[0]["from"] == OUR_NUMBER
    assert sent[0]["body"].startswith("Welcome to the Big Conversation!")

    site.fake.wait_for_callbacks()
    assert [(status, code) for status, _, code in site.fake.callbacks] == [
        ("sent", 204),
        ("delivered", 204),
    ]
    [message] = messages_to(site.runtime.db, PERSON)
    assert message.status == "delivered"
    assert message.provider_id == sent[0]["sid"]
    assert [h["status"] for h in message.status_history] == [
        "queued",
        "sending",
        "accepted",  # Twilio's "queued": in Twilio's hands, no longer in our outbox
        "sent",
        "delivered",
    ]


def test_unsigned_wrongly_signed_and_replayed_requests_are_refused(site: Site) -> None:
    params = {"MessageSid": "SM" + "b" * 32, "From": PERSON, "To": OUR_NUMBER, "Body": "JOIN"}
    assert site.post("/twilio/sms", params, signature=None).status_code == 403
    assert site.post("/twilio/sms", params, token="not-the-token").status_code == 403
    replayed = site.sign("/twilio/status", params)  # signed for another endpoint
    assert site.post("/twilio/sms", params, signature=replayed).status_code == 403
    other_host = site.sign("/twilio/sms", params, url="https://elsewhere.example/twilio/sms")
    assert site.post("/twilio/sms", params, signature=other_host).status_code == 403
    tampered = dict(params, Body="STOP")
    assert (
        site.post("/twilio/sms", tampered, signature=site.sign("/twilio/sms", params)).status_code
        == 403
    )

    assert count(site.runtime.db, Message) == 0  # nothing was processed
    with site.runtime.db.transaction() as tx:
        reasons = sorted(tx.scalars(select(WebhookRejection.reason)))
    assert reasons == ["bad-signature"] * 4 + ["missing-signature"]
    metrics = httpx.get(f"{site.url}/metrics").text
    assert 'endpoint="/twilio/sms",reason="bad-signature"} 4' in metrics


def test_a_retried_webhook_is_processed_once(site: Site) -> None:
    for _ in range(3):
        assert site.text_in(PERSON, "JOIN", sid="SM" + "c" * 32).status_code == 200
    assert count(site.runtime.db, Message, Message.direction == "in") == 1
    assert count(site.runtime.db, OutboxItem) == 1


def test_malformed_form_gets_400_and_is_recorded(site: Site) -> None:
    answer = httpx.post(
        f"{site.url}/twilio/sms",
        content=b"From=%2B44&&&broken",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert answer.status_code == 400
    missing = site.post("/twilio/sms", {"From": PERSON, "To": OUR_NUMBER, "Body": "hi"})
    assert missing.status_code == 400  # signed, but no MessageSid
    with site.runtime.db.transaction() as tx:
        rows = tx.scalars(select(WebhookRejection)).all()
    assert [(r.reason, r.status_code) for r in rows] == [("malformed", 400), ("malformed", 400)]


def test_oversized_body_is_refused(site: Site) -> None:
    huge = {"MessageSid": "SM1", "From": PERSON, "To": OUR_NUMBER, "Body": "x" * 70_000}
    assert site.post("/twilio/sms", huge).status_code == 413
    assert count(site.runtime.db, Message) == 0


def test_sms_to_a_number_that_is_not_ours_is_refused(site: Site) -> None:
    params = {"MessageSid": "SM" + "d" * 32, "From": PERSON, "To": mobile(901), "Body": "JOIN"}
    assert site.post("/twilio/sms", params).status_code == 404
    assert count(site.runtime.db, Message) == 0


def test_signature_uses_the_public_url_behind_a_tls_proxy(
    settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock
) -> None:
    with make_site(settings, db, fake, clock, public_url="https://outreach.example.org") as site:
        # Twilio signed the https address; this process is reached over plain http.
        assert site.text_in(PERSON, "JOIN", sid="SM" + "e" * 32).status_code == 200
        plain = site.sign("/twilio/sms", {"x": "1"}, url=f"{site.url}/twilio/sms")
        assert site.post("/twilio/sms", {"x": "1"}, signature=plain).status_code == 403


def test_carrier_stop_and_dead_numbers_change_the_contact(site: Site) -> None:
    clock, db = site.clock, site.runtime.db
    stopped = add_contact(db, 21, at=clock.now)
    landline = add_contact(db, 22, at=clock.now)
    site.fake.undeliverable[mobile(21)] = 21610
    site.fake.undeliverable[mobile(22)] = 30006
    site.fake.hold_callbacks = True
    site.runtime.conversations.start(stopped, "event-changed")
    site.runtime.conversations.start(landline, "event-changed")
    assert str(site.runtime.dispatcher.flush()) == "2 sent"
    site.fake.release_callbacks()
    site.fake.wait_for_callbacks()
    with db.transaction() as tx:
        one, two = tx.get(Contact, stopped), tx.get(Contact, landline)
        assert one is not None and one.opted_out
        assert (
            tx.scalar(
                select(ConsentEvent.source)
                .where(ConsentEvent.contact_id == stopped)
                .order_by(ConsentEvent.id.desc())
            )
            == "carrier"
        )
        assert two is not None
        assert undeliverable(tx, landline) == ["landline or unreachable carrier"]
    assert [(m.status, m.error_code) for m in messages_to(db, mobile(22))] == [
        ("undelivered", "30006")
    ]
    site.runtime.conversations.start(landline, "event-changed")
    assert str(site.runtime.dispatcher.flush()) == "1 cancelled"  # the number is not tried again


def test_late_status_report_does_not_undo_delivered(site: Site) -> None:
    add_contact(site.runtime.db, 23, at=site.clock.now)
    site.runtime.conversations.start(1, "event-changed")
    site.runtime.dispatcher.flush()
    site.fake.wait_for_callbacks()
    [message] = messages_to(site.runtime.db, mobile(23))
    late = {"MessageSid": message.provider_id or "", "MessageStatus": "sent"}
    assert site.post("/twilio/status", late).status_code == 204
    [message] = messages_to(site.runtime.db, mobile(23))
    assert message.status == "delivered"
    assert message.status_history[-1]["status"] == "sent"  # the report is kept all the same


def test_rate_limits_and_outages_are_retried_until_delivered(site: Site) -> None:
    site.runtime.conversations.start(
        add_contact(site.runtime.db, 24, at=site.clock.now), "event-changed"
    )
    site.fake.fail_next(2, status=429, code=20429)
    site.fake.fail_next(1, status=500, code=20500, rfc9457=True)
    outcomes = []
    for _ in range(6):
        outcomes.append(str(site.runtime.dispatcher.flush()))
        site.clock.advance(timedelta(hours=1))
    assert outcomes[:4] == ["1 retrying", "1 retrying", "1 retrying", "1 sent"]
    [message] = messages_to(site.runtime.db, mobile(24))
    retries = [h for h in message.status_history if h["status"] == "retrying"]
    assert [h["code"] for h in retries] == ["20429", "20429", "20500"]
    assert len(site.fake.sent_to(mobile(24))) == 1


def test_permanent_error_fails_the_message_and_suppresses_the_number(site: Site) -> None:
    db = site.runtime.db
    cid = add_contact(db, 25, at=site.clock.now)
    site.fake.refuse[mobile(25)] = 21211
    site.runtime.conversations.start(cid, "event-changed")
    assert str(site.runtime.dispatcher.flush()) == "1 failed"
    [message] = messages_to(db, mobile(25))
    assert (message.status, message.error_code) == ("failed", "21211")
    site.runtime.conversations.start(cid, "event-changed")
    assert str(site.runtime.dispatcher.flush()) == "1 cancelled"  # not tried again
    assert site.fake.requests == 1


def test_newer_error_format_is_understood(site: Site) -> None:
    cid = add_contact(site.runtime.db, 26, at=site.clock.now)
    site.fake.fail_next(1, status=400, code=21614, rfc9457=True)
    site.runtime.conversations.start(cid, "event-changed")
    assert str(site.runtime.dispatcher.flush()) == "1 failed"
    with site.runtime.db.transaction() as tx:
        assert undeliverable(tx, cid) == ["not a mobile number"]


def test_no_answer_after_sending_is_unknown_and_never_resent(site: Site) -> None:
    cid = add_contact(site.runtime.db, 27, at=site.clock.now)
    site.fake.latency = 3.0  # longer than the 2 s send timeout
    site.runtime.conversations.start(cid, "event-changed")
    assert str(site.runtime.dispatcher.flush()) == "1 unknown"
    site.fake.latency = 0
    assert str(site.runtime.dispatcher.flush()) == "nothing to send"
    assert len(site.fake.sent_to(mobile(27))) == 1  # it did arrive, once


def test_consent_is_checked_again_just_before_sending(site: Site) -> None:
    db = site.runtime.db
    cid = add_contact(db, 28, at=site.clock.now)
    site.runtime.conversations.start(cid, "event-changed")
    with db.transaction() as tx:  # a coordinator records an opt-out given by phone
        contact = tx.get(Contact, cid)
        assert contact is not None
        consent.record(
            tx.connection(),
            cid,
            "opted_out",
            source="coordinator",
            words="phoned us",
            at=site.clock.now,
            opted_out=contact.opted_out,
        )
    assert str(site.runtime.dispatcher.flush()) == "1 cancelled"
    assert site.fake.requests == 0
    [message] = messages_to(db, mobile(28))
    assert message.status_history[-1] == {
        "status": "cancelled",
        "at": site.clock.now.isoformat(),
        "reason": "opted-out",
    }


def test_alphanumeric_sender_refuses_questions(settings: Settings) -> None:
    alphanumeric = settings.model_copy(update={"twilio_from_number": "NHSWorcs"})
    report = check_flows(alphanumeric, [ROOT / "flows"])
    assert report.errors and {p.code for p in report.errors} == {"asks-without-replies"}
    assert not [p for p in report.problems if p.file.endswith("event-changed.yaml")]


def test_alphanumeric_sender_says_how_else_to_stop(
    settings: Settings, db: Database, fake: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "flows" / "event-changed.yaml", tmp_path)
    with make_site(
        settings, db, fake, clock, twilio_from_number="NHSWorcs", flows_dir=tmp_path
    ) as site:
        cid = add_contact(db, 29, at=clock.now)
        site.runtime.conversations.start(cid, "event-changed")
        site.runtime.dispatcher.flush()
        [sent] = fake.sent_to(mobile(29))
        assert sent["from"] == "NHSWorcs"
        assert sent["body"].endswith(
            "To stop these messages: text STOP to our mobile number or call us"
        )


@pytest.mark.parametrize(
    ("how", "welsh"),
    [
        (None, "I atal y negeseuon hyn: anfonwch STOP i'n rhif ffôn symudol neu ffoniwch ni"),
        (
            {"en": "call 01905 123456", "cy": "ffoniwch 01905 123456"},
            "I atal y negeseuon hyn: ffoniwch 01905 123456",
        ),
    ],
)
def test_how_else_to_stop_is_said_in_the_persons_language(
    settings: Settings,
    db: Database,
    fake: FakeTwilio,
    clock: ManualClock,
    tmp_path: Path,
    how: dict[str, str] | None,
    welsh: str,
) -> None:
    # The default is translated by the catalogs; a team's own words can be given per language.
    shutil.copy(ROOT / "flows" / "event-changed.yaml", tmp_path)
    extra = {"alphanumeric_opt_out": how} if how else {}
    with make_site(
        settings, db, fake, clock, twilio_from_number="NHSWorcs", flows_dir=tmp_path, **extra
    ) as site:
        cid = add_contact(db, 30, at=clock.now, language="cy")
        site.runtime.conversations.start(cid, "event-changed")
        site.runtime.dispatcher.flush()
        [sent] = fake.sent_to(mobile(30))
    assert sent["body"].endswith(welsh), sent["body"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints(site: Site, path: str) -> None:
    assert httpx.get(f"{site.url}{path}").status_code == 200


def test_a_made_up_person_imported_with_their_real_number_gets_real_sms(
    site: Site, tmp_path: Path
) -> None:
    """The phone simulator made someone up; later the same number comes in a real import.
    The channel follows the address, so from then on their messages leave as real SMS."""
    rt = site.runtime
    person = simulator.add_contact(rt, phone=mobile(40), first_name="Ola", language="en")
    rt.conversations.start(person.id, "event-changed")
    assert str(rt.dispatcher.flush()) == "1 sent"
    assert site.fake.sent_to(mobile(40)) == []  # a rehearsal: nothing left the building

    people = tmp_path / "people.csv"
    people.write_text(f"phone,first_name,consent_source\n{mobile(40)},Ola,stall in May\n")
    report = import_contacts(rt.db, people)
    assert (report.created, report.updated) == (0, 1)

    rt.conversations.start(person.id, "event-changed")
    assert str(rt.dispatcher.flush()) == "1 sent"
    [sms] = site.fake.sent_to(mobile(40))
    assert sms["body"] == messages_to(rt.db, mobile(40))[-1].body
    with rt.db.transaction() as tx:
        schemes = tx.scalars(
            select(ContactAddress.scheme).where(ContactAddress.contact_id == person.id)
        ).all()
        sources = tx.scalars(
            select(ConsentEvent.words)
            .where(ConsentEvent.contact_id == person.id)
            .order_by(ConsentEvent.id)
        ).all()
    assert schemes == ["tel"]
    assert sources == ["made up in the phone simulator", "stall in May"]


def test_a_nul_byte_in_a_signed_message_is_kept_not_lost(site: Site) -> None:
    """PostgreSQL cannot store NUL in text: the message is kept with the byte replaced."""
    answer = site.text_in(PERSON, "JO\x00IN and more", sid="SM" + "d" * 32)
    assert answer.status_code == 200
    with site.runtime.db.transaction() as tx:
        [inbound] = tx.scalars(select(Message).where(Message.direction == "in")).all()
    assert inbound.body == "JO\ufffdIN and more"


def test_an_impossible_message_sid_is_refused_as_malformed(site: Site) -> None:
    answer = site.text_in(PERSON, "JOIN", sid="SM" + "e" * 70)
    assert answer.status_code == 400
    assert count(site.runtime.db, Message) == 0
    with site.runtime.db.transaction() as tx:
        assert tx.scalars(select(WebhookRejection.reason)).all() == ["malformed"]


@pytest.mark.parametrize("ours", ["²", "9" * 30, "-1", "１２"])
def test_a_status_callback_with_a_mangled_message_id_is_refused(site: Site, ours: str) -> None:
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"}
    path = f"/twilio/status?message={urllib.parse.quote(ours)}"  # as it goes on the wire
    answer = site.post(path, params)
    assert answer.status_code == 400, answer.text
    assert "malformed" in answer.text


@pytest.mark.parametrize(
    "extra",
    [{"ErrorCode": "3" * 40}, {"MessageStatus": "d" * 200}, {"MessageSid": "SM" + "1" * 80}],
)
def test_a_status_callback_with_impossible_values_is_refused(
    site: Site, extra: dict[str, str]
) -> None:
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "undelivered", **extra}
    assert site.post("/twilio/status", params).status_code == 400


def test_a_flood_of_forged_requests_is_counted_not_written_one_by_one(site: Site) -> None:
    params = {"MessageSid": "SM" + "9" * 32, "From": PERSON, "To": OUR_NUMBER, "Body": "JOIN"}
    with httpx.Client(base_url=site.url, timeout=30) as client:

        def forge(_: int) -> int:
            answer = client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": "x"})
            return answer.status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(forge, range(2000)))
    assert statuses == [403] * 2000
    assert site.text_in(PERSON, "JOIN", sid="SM" + "8" * 32).status_code == 200  # still served

    site.app.state.refusals.flush()
    detailed = count(site.runtime.db, WebhookRejection)
    with site.runtime.db.transaction() as tx:
        counted = tx.scalar(select(func.sum(WebhookRefusalCount.count)))
    assert 1 <= detailed <= 60  # a minute's budget
    assert counted == 2000  # but every one is counted
    assert count(site.runtime.db, Message, Message.direction == "in") == 1


def test_refusals_in_detail_are_purged_and_their_counts_kept(db: Database) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    refusals = Refusals(db, clock=clock)
    for _ in range(3):
        assert refusals.count("/twilio/sms", "bad-signature", 403)
        refusals.record("/twilio/sms", "bad-signature", 403, 120)
    clock.now += timedelta(days=29)
    assert purge_refusals(db, keep_days=30, clock=clock) == 0
    clock.now += timedelta(days=2)
    assert purge_refusals(db, keep_days=30, clock=clock) == 3
    assert count(db, WebhookRejection) == 0
    with db.transaction() as tx:
        assert tx.scalar(select(func.sum(WebhookRefusalCount.count))) == 3
