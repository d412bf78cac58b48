"""The spool keeps webhooks through an outage: in order, once, and a bad entry never blocks
the ones behind it."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.exc import OperationalError

from outreach.channels.base import DeliveryReport, Inbound
from outreach.services.spool import Spool, Spooled


def message(n: int) -> Spooled:
    return Spooled.message("sms", Inbound("tel", "+447400123456", f"text {n}", f"SM{n}"))


def test_a_replay_stopped_by_the_database_resumes_where_it_stopped(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    for n in range(5):
        spool.add(message(n))
    handled: list[str] = []

    def away_at_third(entry: Spooled) -> None:
        if len(handled) == 2:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError())
        handled.append(entry.inbound().provider_id)

    assert spool.replay(away_at_third) == 2
    spool.add(message(5))  # arrives meanwhile: queued behind the rest
    assert spool.waiting() == 4
    assert spool.replay(lambda entry: handled.append(entry.inbound().provider_id)) == 4
    assert handled == [f"SM{n}" for n in range(6)]
    assert spool.waiting() == 0 and not spool.has_waiting()


def test_an_entry_that_fails_for_another_reason_is_set_aside_and_the_rest_go_on(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.add(message(1))
    spool.add(Spooled.status("sms", DeliveryReport("SMx", "delivered")))
    spool.add(message(2))
    with (tmp_path / "spool" / "inbound.jsonl").open("a") as fh:
        fh.write("{not json\n")
    handled: list[str] = []

    def broken_on_reports(entry: Spooled) -> None:
        if entry.kind == "status":
            raise ValueError("a bug, not an outage")
        handled.append(entry.inbound().text)

    assert spool.replay(broken_on_reports) == 4
    assert handled == ["text 1", "text 2"]
    [failed] = (tmp_path / "spool").glob("failed-*.jsonl")
    reasons = [json.loads(line)["reason"] for line in failed.read_text().splitlines()]
    assert reasons == ["ValueError", "unreadable"]
    assert oct(failed.stat().st_mode & 0o777) == "0o600"
