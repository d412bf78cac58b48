"""The engine, one behaviour at a time, on small flows written inline."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from outreach.channels.sms import SmsRenderer
from outreach.conversations.simulation import Simulation
from outreach.errors import FlowNotFound
from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition, load_text
from outreach.flows.state import (
    AddTag,
    Contact,
    EndSession,
    FlowChanged,
    Handoff,
    ReminderDue,
    Reply,
    Rsvp,
    Schedule,
    SetField,
    Start,
    TimeoutDue,
)


def flow(text: str) -> FlowDefinition:
    return load_text(textwrap.dedent(text), path="inline.yaml")


def engine_of(*texts: str, **kwargs: object) -> Engine:
    defs = [flow(t) for t in texts]
    return Engine({d.id: d for d in defs}, **kwargs)  # type: ignore[arg-type]


def sim(engine: Engine, t0: datetime, **contact: object) -> Simulation:
    return Simulation(engine, Contact(**contact), t0)  # type: ignore[arg-type]


def sent(s: Simulation) -> list[str]:
    return [e.text for e in s.transcript if e.who == "outreach"]


ASK = """
version: 1
flow: ask
description: One question of each kind, chosen by the test.
steps:
  - id: q
    send: Question?
    ask: {kind}
    save_as: a
    next: done
  - id: done
    send: "Got {{answers.a}}"
"""


@pytest.mark.parametrize(
    ("kind", "reply", "saved"),
    [
        ("yesno", "Yeah", "yes"),
        ("yesno", "NO.", "no"),
        ("text", "  step-free   access ", "step-free access"),
        ("{number: {min: 0, max: 10}}", "about 3", 3),
        ("{number: {min: 0, max: 10}}", "2.5", 2.5),
        ("{rating: {min: 1, max: 5}}", "4/5", 4),
        ("date", "12/4/2026", "2026-04-12"),
        ("date", "tomorrow", "2026-03-03"),
        ("{choice: {tea: Tea, coffee: {label: Coffee, match: [latte]}}}", "LATTE", "coffee"),
        ("{choice: {tea: Tea, coffee: Coffee}}", "2", "coffee"),
        ("{choice: {cafe: Café, tea: Tea}}", "  cafe! ", "cafe"),
    ],
)
def test_ask_understands_answer_kind(kind: str, reply: str, saved: object, t0: datetime) -> None:
    s = sim(engine_of(ASK.format(kind=kind)), t0)
    s.start("ask")
    s.reply(reply)
    assert s.answers == {"a": saved}
    assert sent(s)[-1] == f"Got {saved}"
    assert s.session is not None and s.session.end_reason == "completed"


@pytest.mark.parametrize(
    ("kind", "reply", "hint"),
    [
        ("yesno", "perhaps", "Please reply YES or NO"),
        ("{number: {min: 0, max: 10}}", "11", "number from 0 to 10"),
        ("{rating: {min: 1, max: 5}}", "6", "number from 1 to 5"),
        ("date", "whenever", "like 25/12"),
        ("{choice: {tea: Tea, coffee: Coffee}}", "juice", "number from 1 to 2"),
        ("{text: {max_length: 5}}", "far too long", "under 5 characters"),
    ],
)
def test_invalid_answer_is_reasked_with_hint(
    kind: str, reply: str, hint: str, t0: datetime
) -> None:
    s = sim(engine_of(ASK.format(kind=kind)), t0)
    s.start("ask")
    s.reply(reply)
    assert hint in sent(s)[-1]
    assert s.answers == {}
    assert s.session is not None and s.session.active


def test_invalid_answers_take_fallback_after_retries(t0: datetime) -> None:
    e = engine_of("""
        version: 1
        flow: f
        description: d
        steps:
          - id: q
            send: Yes or no?
            ask: yesno
            retries: 1
            hint: Just YES or NO please.
            next: {"yes": y, "no": y, invalid: human}
          - id: y
            send: ok
          - id: human
            handoff: {note: needs a call, team: partners}
            send: Someone will call you.
    """)
    s = sim(e, t0)
    s.start("f")
    s.reply("hmm")
    assert sent(s)[-1] == "Just YES or NO please."
    outcome = s.reply("what?")
    assert sent(s)[-1] == "Someone will call you."
    assert Handoff("f", "human", "needs a call", "partners") in outcome.actions


def test_invalid_answers_without_fallback_end_the_flow(t0: datetime) -> None:
    s = sim(engine_of(ASK.format(kind="yesno")), t0)
    s.start("ask")
    for _ in range(3):
        s.reply("hmm")
    assert s.session is not None and s.session.end_reason == "no-valid-answer"
    assert len(sent(s)) == 3  # the question and two re-asks: retries default to 2


BRANCHES = """
version: 1
flow: b
description: Branch on answers, fields and tags.
uses_fields: [borough]
steps:
  - id: rate
    send: Rate it
    ask: rating
    next: route
  - id: route
    branch:
      - if: {field: answers.rate, at_most: 2}
        next: low
      - if: {tag: carer}
        next: carer
      - if: {field: fields.borough, in: [Worcester, Redditch]}
        next: local
      - if: {field: language, is: cy}
        next: welsh
    otherwise: other
  - {id: low, send: low}
  - {id: carer, send: carer}
  - {id: local, send: local}
  - {id: welsh, send: welsh}
  - {id: other, send: other}
"""


@pytest.mark.parametrize(
    ("reply", "contact", "expected"),
    [
        ("1", {}, "low"),
        ("5", {"tags": frozenset({"carer"})}, "carer"),
        ("5", {"fields": {"borough": "worcester"}}, "local"),
        ("5", {"language": "cy"}, "welsh"),
        ("5", {}, "other"),
    ],
)
def test_branch_on_answer_field_tag_and_language(
    reply: str, contact: dict[str, object], expected: str, t0: datetime
) -> None:
    s = sim(engine_of(BRANCHES), t0, **contact)
    s.start("b")
    s.reply(reply)
    assert sent(s)[-1] == expected


def test_set_field_and_tag_are_actions_and_visible_to_later_steps(t0: datetime) -> None:
    e = engine_of("""
        version: 1
        flow: f
        description: d
        steps:
          - id: name
            send: Name?
            ask: text
            save_as: name
            next: keep
          - id: keep
            set: {first_name: "{answers.name}", pay: voucher}
            tag: [registered, registered]
            next: hi
          - id: hi
            send: Hi {first_name}, paid by {fields.pay}
    """)
    s = sim(e, t0)
    s.start("f")
    outcome = s.reply("Ffion")
    assert SetField("first_name", "Ffion") in outcome.actions
    assert SetField("pay", "voucher") in outcome.actions
    assert [a for a in outcome.actions if isinstance(a, AddTag)] == [AddTag("registered")]
    assert sent(s)[-1] == "Hi Ffion, paid by voucher"


SUB = """
version: 1
flow: main
description: Calls a sub-flow.
steps:
  - id: hello
    send: Hello
    start_flow: {{flow: consent, return: {ret}}}
    next: after
  - id: after
    send: Back in main, consent {{answers.ok}}
"""
CONSENT = """
version: 1
flow: consent
description: Asks for consent.
steps:
  - id: ok
    send: OK to text you?
    ask: yesno
"""


def test_sub_flow_returns_to_caller(t0: datetime) -> None:
    s = sim(engine_of(SUB.format(ret="true"), CONSENT), t0)
    s.start("main")
    s.reply("yes")
    assert sent(s) == ["Hello", "OK to text you?", "Back in main, consent yes"]
    assert s.session is not None and s.session.end_reason == "completed"


def test_sub_flow_without_return_replaces_caller(t0: datetime) -> None:
    s = sim(engine_of(SUB.format(ret="false"), CONSENT), t0)
    s.start("main")
    s.reply("yes")
    assert sent(s) == ["Hello", "OK to text you?"]
    assert s.session is not None and s.session.flow == "consent"


def test_rsvp_and_end_actions(engine: Engine, t0: datetime) -> None:
    s = Simulation(engine, Contact(), t0, event={"topic": "x", "starts_at": t0, "venue": "v"})
    s.start("big-conversation-invite")
    outcome = s.reply("3")
    assert Rsvp("no") in outcome.actions
    assert outcome.actions[-1] == EndSession("big-conversation-invite", "completed")


def test_wait_schedules_reminder_then_timeout(engine: Engine, t0: datetime) -> None:
    outcome = engine.handle(None, Start(flow="big-conversation-invite", at=t0, contact=Contact()))
    schedules = [a for a in outcome.actions if isinstance(a, Schedule)]
    assert schedules == [
        Schedule("reminder", t0 + timedelta(hours=48), 1),
        Schedule("timeout", t0 + timedelta(hours=48 + 72), 1),
    ]


def test_stale_reminder_and_timeout_are_ignored(engine: Engine, t0: datetime) -> None:
    started = engine.handle(None, Start(flow="big-conversation-invite", at=t0, contact=Contact()))
    moved = engine.handle(started.session, Reply(text="4", at=t0, contact=Contact()))
    assert moved.session is not None and moved.session.seq == 2
    for late in (
        ReminderDue(seq=1, at=t0, contact=Contact()),
        TimeoutDue(seq=1, at=t0, contact=Contact()),
    ):
        outcome = engine.handle(moved.session, late)
        assert outcome.actions == ()
        assert outcome.session == moved.session


def test_timeout_without_branch_expires_session(t0: datetime) -> None:
    s = sim(engine_of(ASK.format(kind="text")), t0)
    s.start("ask")
    s.advance(timedelta(days=7))
    assert s.session is not None and s.session.end_reason == "expired"


def test_engine_is_pure_same_input_same_output(engine: Engine, t0: datetime) -> None:
    start = Start(flow="join", at=t0, contact=Contact(fields={"first_name": "A"}))
    assert engine.handle(None, start) == engine.handle(None, start)


def test_runaway_flow_is_stopped_at_step_limit(t0: datetime) -> None:
    loader = flow("""
        version: 1
        flow: loop
        description: Validation would refuse this; the engine must survive it anyway.
        steps:
          - {id: a, send: ping, next: b}
          - {id: b, send: pong, next: a}
    """)
    e = Engine({"loop": loader}, max_steps=10)
    outcome = e.handle(None, Start(flow="loop", at=t0, contact=Contact()))
    assert len(outcome.messages()) == 10
    end = outcome.actions[-1]
    assert isinstance(end, EndSession) and end.reason == "runaway"
    assert "loop" in end.detail


def test_flow_change_keeps_session_when_step_still_exists(t0: datetime) -> None:
    old = flow(ASK.format(kind="yesno"))
    session = Engine({"ask": old}).handle(None, Start(flow="ask", at=t0, contact=Contact())).session
    new = flow(ASK.format(kind="yesno").replace("Got", "Thanks, got"))
    engine = Engine({"ask": new})
    kept = engine.handle(session, FlowChanged(at=t0, contact=Contact()))
    assert kept.session is not None and kept.session.active
    assert kept.session.version == new.digest
    done = engine.handle(kept.session, Reply(text="yes", at=t0, contact=Contact()))
    assert done.messages()[-1].content.text == "Thanks, got yes"


def test_flow_change_ends_session_when_step_is_gone(t0: datetime) -> None:
    old = flow(ASK.format(kind="yesno"))
    session = Engine({"ask": old}).handle(None, Start(flow="ask", at=t0, contact=Contact())).session
    new = flow(ASK.format(kind="yesno").replace("id: q", "id: question"))
    outcome = Engine({"ask": new}).handle(session, Reply(text="yes", at=t0, contact=Contact()))
    assert outcome.session is not None and outcome.session.end_reason == "flow-changed"
    assert "'q' no longer exists" in outcome.actions[-1].detail  # type: ignore[union-attr]
    assert outcome.messages() == []


def test_keyword_starts_flow_and_interrupts_only_when_flow_allows(
    engine: Engine, t0: datetime
) -> None:
    idle = engine.handle(None, Reply(text="join", at=t0, contact=Contact()))
    assert idle.session is not None and idle.session.flow == "join"
    invite = engine.handle(None, Start(flow="big-conversation-invite", at=t0, contact=Contact()))
    joined = engine.handle(invite.session, Reply(text="JOIN!", at=t0, contact=Contact()))
    assert joined.session is not None and joined.session.flow == "join"
    assert EndSession("big-conversation-invite", "interrupted", "started join") in joined.actions


def test_reply_with_no_session_and_no_keyword_is_unhandled(engine: Engine, t0: datetime) -> None:
    outcome = engine.handle(None, Reply(text="hello?", at=t0, contact=Contact()))
    assert not outcome.handled and outcome.session is None


def test_unknown_flow_is_an_error(engine: Engine, t0: datetime) -> None:
    with pytest.raises(FlowNotFound, match="no flow called 'nope'"):
        engine.handle(None, Start(flow="nope", at=t0, contact=Contact()))


def test_every_message_goes_through_translation(t0: datetime) -> None:
    catalog = {"Question?": "Cwestiwn?", "Got {answers.a}": "Cefais {answers.a}"}

    def translate(language: str, message: str) -> str:
        return catalog.get(message, message) if language == "cy" else message

    e = engine_of(ASK.format(kind="text"), translate=translate)
    s = sim(e, t0, language="cy")
    s.start("ask")
    s.reply("iawn")
    assert sent(s) == ["Cwestiwn?", "Cefais iawn"]


def test_outgoing_text_is_cleaned_for_sms_but_keeps_letters(t0: datetime) -> None:
    e = engine_of("""
        version: 1
        flow: f
        description: d
        steps:
          - id: a
            send: "We\u2019ll see you \u2013 bring a friend\u2026 Diolch o\u2019r galon, ŵyl"
    """)
    outcome = e.handle(None, Start(flow="f", at=t0, contact=Contact()))
    content = outcome.messages()[0].content
    assert content.text.startswith("We\u2019ll")  # the engine's content is channel-neutral
    sms = SmsRenderer().render(content, "en").text
    assert sms == "We'll see you - bring a friend... Diolch o'r galon, ŵyl"


def test_dates_are_shown_in_the_contacts_time_zone(engine: Engine, t0: datetime) -> None:
    late = t0.replace(hour=23, minute=30)  # 23:30 UTC is already tomorrow in Auckland
    event = {"topic": "t", "starts_at": late, "venue": "v", "paid": "p"}
    start = Start(
        flow="big-conversation-invite",
        at=t0,
        event=event,
        contact=Contact(timezone="Pacific/Auckland"),
    )
    text = engine.handle(None, start).messages()[0].content.text
    assert "Tuesday, 3 March at 12:30" in text


def test_session_round_trips_through_json(engine: Engine, t0: datetime) -> None:
    s = Simulation(engine, Contact(), t0)
    s.start("join")
    s.reply("Ana")
    assert s.session is not None
    again = type(s.session).from_json(s.session.to_json())
    assert again == s.session
    assert replace(again, seq=99) != s.session
