"""Inbound SMS webhook throughput and latency: signed POSTs to /twilio/sms over loopback.

Starts one web process (``outreach web``, one uvicorn worker) on a new database, then sends
signed inbound messages from many different people at once, each texting JOIN (so each starts
the registration flow: a contact, a consent record, a session, an answer-ready wait and a
queued reply, all in one transaction). Prints throughput and latency percentiles. Run:

    python benchmarks/webhook.py [--requests 3000] [--concurrency 16]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT, TOKEN, OURS = "AC" + "b" * 32, "benchmark-token", "+447400999999"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{workdir / 'webhook.db'}"
    if url.startswith("postgresql"):
        reset_postgres(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": url,
        "OUTREACH_FLOWS_DIR": str(ROOT / "flows"),
        "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": OURS,
        "OUTREACH_PUBLIC_URL": base,
        "OUTREACH_TWILIO_API_URL": "http://127.0.0.1:9",  # nothing is sent in this benchmark
    }
    subprocess.run(
        [sys.executable, "-m", "outreach.cli", "db", "upgrade"],
        env=env,
        check=True,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "web", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            if time.monotonic() > deadline:
                raise SystemExit("the web process did not start")
        run(base, args.requests, args.concurrency, url)
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(base: str, total: int, concurrency: int, url: str) -> None:
    validator = RequestValidator(TOKEN)
    endpoint = f"{base}/twilio/sms"
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        # The standard library's client on a kept-alive connection: the load generator shares
        # the two cores with the server, so it must cost little per request (httpx cost more
        # than the server did, and capped what was measured).
        address = urllib.parse.urlsplit(endpoint)
        connection = http.client.HTTPConnection(address.netloc, timeout=30)
        for i in counter:
            params = {
                "MessageSid": f"SM{i:032d}",
                "AccountSid": ACCOUNT,
                "From": f"+4474{(10_000_000 + i):08d}",
                "To": OURS,
                "Body": "JOIN",
            }
            headers = {
                "X-Twilio-Signature": validator.compute_signature(endpoint, params),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            body = urllib.parse.urlencode(params)
            started = time.perf_counter()
            connection.request("POST", address.path, body=body, headers=headers)
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
    elapsed = time.perf_counter() - started
    latencies.sort()
    kind = url.split(":", 1)[0].split("+", 1)[0]

    def pct(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * share))] * 1000

    print(
        f"webhook ({kind}, {concurrency} concurrent senders): {total} requests in "
        f"{elapsed:.2f} s = {total / elapsed:,.0f}/s; latency p50 {pct(0.5):.1f} ms, "
        f"p90 {pct(0.9):.1f} ms, p99 {pct(0.99):.1f} ms; errors {len(errors)}"
    )


if __name__ == "__main__":
    main()
