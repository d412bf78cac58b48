"""The webhook benchmark's baseline: a bare FastAPI endpoint doing one INSERT per request.

It takes the same signed Twilio form the real webhook takes, checks nothing, and stores the
message in one row with one commit, on the same database as Outreach and with the same
connection set-up (WAL and synchronous=NORMAL on SQLite, one writer at a time there). What
``benchmarks/webhook.py`` prints is Outreach's rate as a share of this one's, measured in the
same run, so the figure means something on a machine shared with other work. Run by the
benchmark as ``uvicorn bare_endpoint:app`` with ``BARE_DATABASE_URL`` set.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from contextlib import nullcontext
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from outreach.store.dialect import dialect_of, make_engine

engine = make_engine(os.environ["BARE_DATABASE_URL"])
one_writer = threading.Lock() if dialect_of(engine).one_writer else nullcontext()
with engine.begin() as connection:
    connection.execute(
        text(
            "CREATE TABLE IF NOT EXISTS bare_inbound (id INTEGER PRIMARY KEY, "
            "sid VARCHAR(64) NOT NULL UNIQUE, sender VARCHAR(64) NOT NULL, body TEXT, "
            "at TIMESTAMP NOT NULL)"
            if engine.dialect.name == "sqlite"
            else "CREATE TABLE IF NOT EXISTS bare_inbound (id BIGSERIAL PRIMARY KEY, "
            "sid VARCHAR(64) NOT NULL UNIQUE, sender VARCHAR(64) NOT NULL, body TEXT, "
            "at TIMESTAMPTZ NOT NULL)"
        )
    )
INSERT = text("INSERT INTO bare_inbound (sid, sender, body, at) VALUES (:sid, :sender, :body, :at)")
app = FastAPI()


def store(form: dict[str, str]) -> None:
    with one_writer, engine.begin() as connection:
        connection.execute(
            INSERT,
            {
                "sid": form["MessageSid"],
                "sender": form["From"],
                "body": form.get("Body", ""),
                "at": datetime.now(UTC),
            },
        )


@app.post("/twilio/sms")
async def inbound(request: Request) -> Response:
    form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
    await run_in_threadpool(store, form)
    return Response("<Response />", media_type="application/xml")
