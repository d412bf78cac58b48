"""Whatever people text, in whatever order, the shipped flows never crash and never get stuck."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.conversations.simulation import Simulation
from outreach.flows.engine import Engine
from outreach.flows.samples import demo_event
from outreach.flows.state import Contact

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

likely_words = st.sampled_from(
    [
        "1",
        "2",
        "3",
        "4",
        "5",
        "9",
        "0",
        "yes",
        "no",
        "YES!",
        "nope",
        "maybe",
        "more",
        "none",
        "join",
        "JOIN",
        "tomorrow",
        "12/4",
        "3 out of 5",
        "Cymraeg",
        "voucher",
        "",
        " ",
        "🙂",
        "ŵ",
        "stop thinking",
        "a" * 1200,
    ]
)
steps = st.one_of(
    likely_words.map(lambda t: ("reply", t)),
    st.text(max_size=40).map(lambda t: ("reply", t)),
    st.sampled_from(["yes", "no", "maybe", "more", "bank", "nonsense"]).map(lambda v: ("press", v)),
    st.integers(min_value=1, max_value=8 * 24).map(lambda h: ("wait", timedelta(hours=h))),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    flow_index=st.integers(min_value=0, max_value=50),
    script=st.lists(steps, max_size=15),
    language=st.sampled_from(["en", "cy", "pl", "ur", "pt-BR"]),
)
def test_any_replies_leave_session_waiting_or_ended(
    engine: Engine, flow_index: int, script: list[tuple[str, object]], language: str
) -> None:
    flows = sorted(engine.flows)
    sim = Simulation(engine, Contact(language=language), T0, event=demo_event(T0))
    sim.start(flows[flow_index % len(flows)])
    for kind, value in script:
        if kind == "reply":
            sim.reply(str(value))
        elif kind == "press":
            sim.press(str(value))
        else:
            assert isinstance(value, timedelta)
            sim.advance(value)
        session = sim.session
        assert session is not None
        assert session.status in ("waiting", "ended")
        if session.active:
            assert session.wait is not None
            assert session.wait.step in engine.flows[session.flow].steps
            assert sim.due, "a waiting session always has a timeout to come"
        else:
            assert session.end_reason
    typed_braces = any("{" in str(value) for _, value in script)  # a reply may be echoed back
    for entry in sim.transcript:
        if entry.who == "outreach":
            assert entry.text.strip(), "never send an empty message"
            if not typed_braces:
                assert "{" not in entry.text, "never send an unfilled placeholder"
