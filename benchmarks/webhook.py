"""Inbound SMS webhook throughput and latency, as a share of a bare one-INSERT endpoint.

Starts one web process (``outreach web``, one uvicorn worker) and, beside it on the same
database, the baseline (``benchmarks/bare_endpoint.py``: a FastAPI endpoint doing one INSERT
and one commit per request). Then runs interleaved rounds (bare, outreach, bare, outreach, ...)
of signed inbound messages from many different people at once, each texting JOIN (so each
starts the registration flow: a contact, a consent record, a session, an answer-ready wait
and a queued reply, all in one transaction). Prints each round, the median ratio
outreach/bare, and Outreach's latency percentiles over all rounds. The machine may be busy
with other work: the ratio, measured in one run, is the figure to compare.

``--prefill-contacts`` / ``--prefill-messages`` first fill the store (set-based INSERT ...
SELECT: generate_series on PostgreSQL, a recursive CTE on SQLite) with that many people and
messages, to show the cost per message does not grow with the store. Run:

    python benchmarks/webhook.py [--rounds 5] [--requests 2000] [--concurrency 8]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--prefill-contacts 1000000 --prefill-messages 10000000]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT, TOKEN, OURS = "AC" + "b" * 32, "benchmark-token", "+447400999999"
WARM_UP = 300  # requests to each server before the rounds: imports, caches, connections


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


# -- filling the store ----------------------------------------------------------------------------

# Each statement is given the rows to make as :n and the people as :people; "g" numbers the rows.
PREFILL_PG = {
    "contacts": "INSERT INTO contacts (id, language, timezone, fields, opted_out, created_at, "
    "updated_at) SELECT g, 'en', 'Europe/London', '{}', false, now(), now() "
    "FROM generate_series(1, :n) g",
    "contact_addresses": "INSERT INTO contact_addresses (id, contact_id, scheme, address, "
    "created_at, last_inbound_at) SELECT g, g, 'tel', '+4475' || lpad(g::text, 8, '0'), "
    "now(), now() FROM generate_series(1, :n) g",
    "consent_events": "INSERT INTO consent_events (id, contact_id, status, source, words, at) "
    "SELECT g, g, 'opted_in', 'inbound', 'they texted us first', now() "
    "FROM generate_series(1, :n) g",
    "sessions": "INSERT INTO sessions (id, contact_id, flow, flow_version, status, step, "
    "started_at, updated_at, ended_at, end_reason) SELECT g, g, 'registration', '1', 'ended', "
    "'done', now(), now(), now(), 'completed' FROM generate_series(1, :n) g",
    "messages": "INSERT INTO messages (id, contact_id, channel, address_id, direction, "
    "provider_id, body, kind, status, status_history, session_id, created_at, updated_at) "
    "SELECT g, c, 'twilio', c, CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END, "
    "'PF' || g, 'a message already stored', 'reply', 'delivered', '[]', c, "
    "now() - interval '1 day', now() - interval '1 day' "
    "FROM (SELECT g, (g % :people) + 1 AS c FROM generate_series(1, :n) g) s",
}
SQLITE_ROWS = "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
SQLITE_NOW = "'2026-01-01 00:00:00.000000'"
PREFILL_SQLITE = {
    "contacts": f"{SQLITE_ROWS}INSERT INTO contacts (id, language, timezone, fields, opted_out, "
    f"created_at, updated_at) SELECT g, 'en', 'Europe/London', '{{}}', 0, {SQLITE_NOW}, "
    f"{SQLITE_NOW} FROM s",
    "contact_addresses": f"{SQLITE_ROWS}INSERT INTO contact_addresses (id, contact_id, scheme, "
    f"address, created_at, last_inbound_at) SELECT g, g, 'tel', "
    f"'+4475' || substr('00000000' || g, -8), {SQLITE_NOW}, {SQLITE_NOW} FROM s",
    "consent_events": f"{SQLITE_ROWS}INSERT INTO consent_events (id, contact_id, status, "
    f"source, words, at) SELECT g, g, 'opted_in', 'inbound', 'they texted us first', "
    f"{SQLITE_NOW} FROM s",
    "sessions": f"{SQLITE_ROWS}INSERT INTO sessions (id, contact_id, flow, flow_version, status, "
    f"step, started_at, updated_at, ended_at, end_reason) SELECT g, g, 'registration', '1', "
    f"'ended', 'done', {SQLITE_NOW}, {SQLITE_NOW}, {SQLITE_NOW}, 'completed' FROM s",
    "messages": f"{SQLITE_ROWS}INSERT INTO messages (id, contact_id, channel, address_id, "
    f"direction, provider_id, body, kind, status, status_history, session_id, created_at, "
    f"updated_at) SELECT g, c, 'twilio', c, CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END, "
    f"'PF' || g, 'a message already stored', 'reply', 'delivered', '[]', c, {SQLITE_NOW}, "
    f"{SQLITE_NOW} FROM (SELECT g, (g % :people) + 1 AS c FROM s)",
}


def prefill(url: str, people: int, messages: int) -> None:
    """Fill the store with ``people`` (each with an address, a consent record and an ended
    conversation) and ``messages`` between them, set-based: one statement per table."""
    engine = create_engine(url)
    statements = PREFILL_PG if url.startswith("postgresql") else PREFILL_SQLITE
    counts = {"messages": messages}
    with engine.begin() as connection:
        if url.startswith("postgresql"):
            # Foreign keys are right by construction here; checking 10M of them one by one
            # would take most of the fill.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table, statement in statements.items():
            started = time.perf_counter()
            rows = counts.get(table, people)
            if rows:
                connection.execute(text(statement), {"n": rows, "people": max(people, 1)})
            print(f"prefill: {rows:,} {table} in {time.perf_counter() - started:.0f} s", flush=True)
    with engine.begin() as connection:
        if url.startswith("postgresql"):
            for table in statements:  # the ids were given: the sequences carry on after them
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    engine.dispose()


# -- the servers ------------------------------------------------------------------------------


def start(command: list[str], env: dict[str, str], cwd: Path, base: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/", timeout=5)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{' '.join(command)} did not start")


# -- the load -------------------------------------------------------------------------------------


@dataclass
class Round:
    requests: int
    seconds: float
    latencies: list[float]  # seconds, sorted
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, share: float) -> float:
        return percentile(self.latencies, share)


def percentile(latencies: list[float], share: float) -> float:
    """The ``share`` percentile of sorted ``latencies``, in milliseconds."""
    return latencies[min(len(latencies) - 1, int(len(latencies) * share))] * 1000


def send(base: str, numbers: range, concurrency: int) -> Round:
    """One signed JOIN from each of ``numbers`` (each a new person), ``concurrency`` at once."""
    validator = RequestValidator(TOKEN)
    # The Outreach server checks the signature against its public URL, which is its own.
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    counter = iter(numbers)

    def worker() -> None:
        # The standard library's client on a kept-alive connection: the load generator shares
        # the two cores with the servers, so it must cost little per request.
        address = urllib.parse.urlsplit(base)
        connection = http.client.HTTPConnection(address.netloc, timeout=30)
        for i in counter:
            params = {
                "MessageSid": f"SM{i:032d}",
                "AccountSid": ACCOUNT,
                "From": f"+4474{i:08d}",
                "To": OURS,
                "Body": "JOIN",
            }
            headers = {
                "X-Twilio-Signature": validator.compute_signature(f"{base}/twilio/sms", params),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            started = time.perf_counter()
            connection.request(
                "POST", "/twilio/sms", body=urllib.parse.urlencode(params), headers=headers
            )
            answer = connection.getresponse()
            answer.read()
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                if answer.status != 200:
                    errors.append(answer.status)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Round(len(numbers), time.perf_counter() - started, sorted(latencies), len(errors))


def describe(name: str, result: Round) -> str:
    return (
        f"{name} {result.rate:7,.0f}/s (p50 {result.pct(0.5):5.1f} ms, p95 {result.pct(0.95):5.1f}"
        f" ms, p99 {result.pct(0.99):5.1f} ms, errors {result.errors})"
    )


def compare(bases: dict[str, str], rounds: int, requests: int, concurrency: int) -> None:
    # Each run of requests is texted by people not seen before.
    starts = itertools.count(10_000_000, max(requests, WARM_UP))
    for base in bases.values():
        first = next(starts)
        send(base, range(first, first + WARM_UP), concurrency)
    ratios: list[float] = []
    latencies: list[float] = []
    errors = 0
    for n in range(1, rounds + 1):
        done = {}
        for name, base in bases.items():
            first = next(starts)
            done[name] = send(base, range(first, first + requests), concurrency)
        ratio = done["outreach"].rate / done["bare"].rate
        ratios.append(ratio)
        latencies += done["outreach"].latencies
        errors += done["outreach"].errors + done["bare"].errors
        print(
            f"round {n}: {describe('bare', done['bare'])}  "
            f"{describe('outreach', done['outreach'])}  ratio {ratio:.2f}",
            flush=True,
        )
    latencies.sort()
    print(
        f"median ratio outreach/bare {statistics.median(ratios):.2f} "
        f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}); outreach latency over all rounds "
        f"p50 {percentile(latencies, 0.5):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms; errors {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="per server per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url")
    parser.add_argument("--prefill-contacts", type=int, default=0)
    parser.add_argument("--prefill-messages", type=int, default=0)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{workdir / 'webhook.db'}"
    if url.startswith("postgresql"):
        reset_postgres(url)
    ports = {"bare": free_port(), "outreach": free_port()}
    bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": url,
        "BARE_DATABASE_URL": url,
        "OUTREACH_FLOWS_DIR": str(ROOT / "flows"),
        "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": OURS,
        "OUTREACH_PUBLIC_URL": bases["outreach"],
        "OUTREACH_TWILIO_API_URL": "http://127.0.0.1:9",  # nothing is sent in this benchmark
    }
    subprocess.run(
        [sys.executable, "-m", "outreach.cli", "db", "upgrade"],
        env=env,
        check=True,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    if args.prefill_contacts or args.prefill_messages:
        prefill(url, args.prefill_contacts, args.prefill_messages)
    kind = url.split(":", 1)[0].split("+", 1)[0]
    print(
        f"webhook ({kind}, {args.concurrency} concurrent senders, {args.rounds} rounds of "
        f"{args.requests} requests each; store prefilled with {args.prefill_contacts:,} people "
        f"and {args.prefill_messages:,} messages)",
        flush=True,
    )
    uvicorn = [sys.executable, "-m", "uvicorn"]  # access log on, as in `outreach web`
    servers = [
        start(
            [
                *uvicorn,
                "--app-dir",
                str(ROOT / "benchmarks"),
                "--port",
                str(ports["bare"]),
                "bare_endpoint:app",
            ],
            env,
            workdir,
            bases["bare"],
        ),
        start(
            [sys.executable, "-m", "outreach.cli", "web", "--port", str(ports["outreach"])],
            env,
            workdir,
            bases["outreach"],
        ),
    ]
    try:
        compare(bases, args.rounds, args.requests, args.concurrency)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
