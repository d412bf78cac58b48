"""Asking us to stop, in any shipped language and in the words people use, over Twilio's real
webhook: signed requests to a real server, replies through the fake Twilio."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from outreach.store.models import ConsentEvent, Contact, Handoff
from tests.conftest import mobile
from tests.services.conftest import add_contact
from tests.web.conftest import Site

# (language, what they text): every one a clear request to stop.
STOP_FORMS = [
    ("en", "stop please"),
    ("en", "please stop"),
    ("en", "STOP STOP"),
    ("en", "Stop it"),
    ("en", "no more texts"),
    ("en", "remove me from your list"),
    ("en", "Not interested. Please stop texting me!"),
    ("cy", "Stopiwch os gwelwch yn dda"),
    ("cy", "dim mwy o negeseuon"),
    ("pl", "Proszę przestać pisać"),
    ("pl", "usuń mnie z listy"),
    ("ro", "Nu mai trimiteți mesaje, vă rog"),
    ("ur", "بند كريں"),  # Urdu typed with Arabic-keyboard letters
    ("ur", "براہ کرم بند کریں"),
    ("bn", "বন্ধ করো"),
    ("ar", "لا ترسلوا رسائل"),
    ("pa", "ਬੰਦ ਕਰੋ ਜੀ"),
    ("pt", "Não quero mais mensagens"),
    ("es", "No me envíen más mensajes, por favor"),
    ("it", "Non scrivetemi più"),
    ("gu", "બંધ કરો"),
]


def test_every_stop_form_opts_out_with_one_confirmation_and_nothing_after(site: Site) -> None:
    db, conversations, clock = site.runtime.db, site.runtime.conversations, site.clock
    people = []
    for n, (language, words) in enumerate(STOP_FORMS, start=100):
        cid = add_contact(db, n, at=clock.now, language=language)
        conversations.start(cid, "big-conversation-invite")  # invited, reminder scheduled
        people.append((n, cid, language, words))
    site.runtime.dispatcher.flush()
    before = {n: len(site.fake.sent_to(mobile(n))) for n, *_ in people}
    assert set(before.values()) == {2}  # the invitation and its question

    for n, _, _, words in people:
        assert site.text_in(mobile(n), words, sid=f"SM{n:032d}").status_code == 200
    site.runtime.dispatcher.flush()
    for n, cid, language, words in people:
        [receipt] = site.fake.sent_to(mobile(n))[before[n] :]
        assert "START" in receipt["body"], f"{language} {words!r}: {receipt['body']}"
        with db.transaction() as tx:
            contact = tx.get(Contact, cid)
            assert contact is not None and contact.opted_out, f"{language} {words!r}"
            said = tx.scalar(select(ConsentEvent.words).where(ConsentEvent.contact_id == cid))
            assert said is not None
    # Their words in their language came back in it: the Welsh receipt is Welsh.
    welsh = next(n for n, _, language, _ in people if language == "cy")
    assert site.fake.sent_to(mobile(welsh))[-1]["body"].startswith("Fyddwch chi ddim")

    # Later: the reminder falls due, a coordinator sends news, they text again. Nothing goes.
    clock.advance(timedelta(days=3))
    site.runtime.due.run()
    for n, cid, _, _ in people:
        conversations.start(cid, "you-said-we-did")
        site.text_in(mobile(n), "yes", sid=f"SM{n + 500:032d}")
    site.runtime.dispatcher.flush()
    for n, *_ in people:
        assert len(site.fake.sent_to(mobile(n))) == before[n] + 1


def test_a_stop_in_passing_is_an_answer_not_an_opt_out(site: Site) -> None:
    db = site.runtime.db
    cid = add_contact(db, 90, at=site.clock.now)
    site.runtime.conversations.start(cid, "big-conversation-invite")
    site.runtime.dispatcher.flush()
    assert site.text_in(mobile(90), "the bus stop is far", sid="SM" + "9" * 32).status_code == 200
    site.runtime.dispatcher.flush()
    *_, hint = site.fake.sent_to(mobile(90))
    assert hint["body"].startswith("Sorry, I didn't understand")  # asked again
    with db.transaction() as tx:
        contact = tx.get(Contact, cid)
        assert contact is not None and not contact.opted_out
        assert tx.scalars(select(Handoff.reason)).all() == []  # nothing for a person to check
