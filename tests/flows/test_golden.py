"""Golden transcripts: every shipped flow, played through cases saved next to this file.

Each ``<flow>.<case>.yaml`` holds the contact, the replies and clock moves, and what must come
out: every message, the saved answers and the end state. The session goes through JSON between
every event. After a deliberate change, ``pytest --update-golden`` rewrites the expectations;
review the diff before committing it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from outreach.conversations.simulation import Simulation
from outreach.durations import format_duration, parse_duration
from outreach.flows.engine import Engine
from outreach.flows.samples import demo_event
from outreach.flows.state import Contact

HERE = Path(__file__).parent
CASES = sorted(HERE.glob("*.*.yaml"))


class _Dumper(yaml.SafeDumper):
    """Writes messages of several lines as literal blocks, so a diff reads like the SMS."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def play(engine: Engine, case: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(str(case["start"]))
    person = case.get("contact", {})
    contact = Contact(
        language=person.get("language", "en"),
        timezone=person.get("timezone", "Europe/London"),
        fields=person.get("fields", {}),
        tags=frozenset(person.get("tags", [])),
    )
    event = demo_event(start)
    for name, value in case.get("event", {}).items():
        event[name] = datetime.fromisoformat(str(value)) if name.endswith("_at") else value
    sim = Simulation(engine, contact, start, event=event)
    if "statements" in case:
        sim.statements = tuple(case["statements"])
    sim.start(case["flow"])
    for reply in case.get("replies", []):
        if isinstance(reply, dict) and "wait" in reply:
            sim.advance(parse_duration(str(reply["wait"])))
        elif isinstance(reply, dict) and "press" in reply:
            sim.press(str(reply["press"]))
        else:
            assert isinstance(reply, str | int) and not isinstance(reply, bool), (
                f"quote the reply {reply!r}: YAML reads bare yes/no as true/false"
            )
            sim.reply(str(reply))
    result = sim.result()
    transcript = []
    for entry in result["transcript"]:
        offset = datetime.fromisoformat(entry["at"]) - start
        line = {"at": "+" + format_duration(offset)} if offset else {}
        line[entry["who"]] = entry["text"]
        transcript.append(line)
    return {
        "transcript": transcript,
        "answers": result["answers"],
        "fields": result["fields"],
        "tags": result["tags"],
        "status": result["status"],
        "end_reason": result["end_reason"],
    }


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_transcript(path: Path, engine: Engine, request: pytest.FixtureRequest) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert path.name.startswith(case["flow"] + "."), "name the file <flow>.<case>.yaml"
    actual = play(engine, case)
    if request.config.getoption("--update-golden"):
        case["expect"] = actual
        path.write_text(
            yaml.dump(case, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100),
            encoding="utf-8",
        )
        pytest.skip("expectations rewritten")
    assert actual == case["expect"]


def test_every_shipped_flow_has_golden_cases(engine: Engine) -> None:
    covered = {p.name.split(".", 1)[0] for p in CASES}
    assert set(engine.flows) <= covered
