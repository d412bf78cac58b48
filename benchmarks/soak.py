"""Soak: Outreach as deployed, under a steady load for a bounded time, on PostgreSQL.

Two web processes and two workers (as the Procfile runs them) share one database and a fake
Twilio. In the run: an event's invitation fans out to the imported audience; its reminders
fall due during the run; invited people answer at a steady rate (split across both web
processes), and people who are new text JOIN; Twilio's delivery reports come back. Printed:
inbound throughput and latency (p50, p99) beside a bare endpoint (/healthz) measured in the
same run, sends per second beside the configured provider rate, errors, the accounting of
every message, and each process's memory at the first minute and at the end. Run:

    python benchmarks/soak.py --minutes 10 [--people 2000] [--rate 20]
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, func, select, text
from twilio.request_validator import RequestValidator

from outreach.channels.fake_twilio import FakeTwilio
from outreach.store.models import Message, OutboxItem

ROOT = Path(__file__).resolve().parent.parent
OURS = "+447400999999"
SEND_RATE = 50.0  # messages a second: the provider rate the workers are held to
LONDON = ZoneInfo("Europe/London")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def number(i: int) -> str:
    return f"+4474{10_000_000 + i:08d}"


def soak_event(flows: Path, minutes: int) -> str:
    """The shipped event, moved to start soon after the run, its reminders within it."""
    source = (ROOT / "flows" / "events" / "2027-01-mental-health.yaml").read_text()
    starts = datetime.now(LONDON) + timedelta(minutes=minutes + 60)
    first, second = minutes + 60 - minutes // 3, minutes + 60 - 2 * minutes // 3
    lines = []
    for line in source.splitlines():
        if line.startswith("event:"):
            line = "event: soak"
        elif line.startswith("starts_at:"):
            line = f"starts_at: {starts:%Y-%m-%d %H:%M}"
        elif line.startswith("ends_at:"):
            line = f"ends_at: {starts + timedelta(hours=2):%Y-%m-%d %H:%M}"
        elif line.startswith("capacity:"):
            line = "capacity: 100000"
        elif line.startswith("invite_at:"):
            line = "invite_at: -30d"
        elif "{at: -7d" in line:
            line = f"  - {{at: -{first}m, flow: event-reminder}}"
        elif "{at: -1d" in line:
            line = f"  - {{at: -{second}m, flow: event-reminder}}"
        lines.append(line)
    (flows / "events").mkdir(exist_ok=True)
    for old in (flows / "events").glob("*.yaml"):
        old.unlink()
    (flows / "events" / "soak.yaml").write_text("\n".join(lines) + "\n")
    for partner in (flows / "partners").glob("*.yaml"):  # partners follow the soak event
        partner.write_text(partner.read_text().replace("mental-health-2027-01", "soak"))
    return "soak"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return 0.0  # the process has ended
    return 0.0


class Load:
    """Signed inbound texts at a steady rate, to each web process in turn."""

    def __init__(self, bases: list[str], fake: FakeTwilio, people: int) -> None:
        self.bases, self.fake, self.people = bases, fake, people
        self.latencies: list[float] = []
        self.bare: list[float] = []
        self.errors: Counter[str] = Counter()
        self.sent = 0
        self._lock = threading.Lock()

    def text(self, i: int) -> None:
        base = self.bases[i % len(self.bases)]
        endpoint = f"{base}/twilio/sms"
        if i % 5 == 0:  # someone new
            sender, body = number(900_000 + i), "JOIN"
        else:  # someone invited, answering
            sender, body = number(random.randrange(self.people)), random.choice(["1", "yes", "2"])
        params = {
            "MessageSid": f"SM{i:032d}",
            "AccountSid": self.fake.account_sid,
            "From": sender,
            "To": OURS,
            "Body": body,
        }
        signature = RequestValidator(self.fake.auth_token).compute_signature(endpoint, params)
        address = urllib.parse.urlsplit(endpoint)
        connection = http.client.HTTPConnection(address.netloc, timeout=30)
        started = time.perf_counter()
        try:
            connection.request(
                "POST",
                address.path,
                body=urllib.parse.urlencode(params),
                headers={
                    "X-Twilio-Signature": signature,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            answer = connection.getresponse()
            answer.read()
            status = str(answer.status)
        except OSError as exc:
            status = type(exc).__name__
        finally:
            connection.close()
        with self._lock:
            self.latencies.append(time.perf_counter() - started)
            self.sent += 1
            if status != "200":
                self.errors[status] += 1

    def probe(self) -> None:
        """The bare endpoint, called the same way, for the same run's baseline."""
        connection = http.client.HTTPConnection(urllib.parse.urlsplit(self.bases[0]).netloc)
        started = time.perf_counter()
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
        except OSError:
            return
        finally:
            connection.close()
        with self._lock:
            self.bare.append(time.perf_counter() - started)


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="inbound texts a second")
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit(
            "the soak runs on PostgreSQL: give --database-url postgresql+psycopg://..."
        )

    work = Path(tempfile.mkdtemp())
    flows = work / "flows"
    shutil.copytree(ROOT / "flows", flows)
    event = soak_event(flows, args.minutes)
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))

    with FakeTwilio(callback_delay=0.05) as fake:
        ports = [free_port(), free_port()]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        env = {
            **os.environ,
            "OUTREACH_DATABASE_URL": args.database_url,
            "OUTREACH_FLOWS_DIR": str(flows),
            "OUTREACH_LOCALES_DIR": str(ROOT / "locales"),
            "OUTREACH_SPOOL_DIR": str(work / "spool"),
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_FROM_NUMBER": OURS,
            "OUTREACH_TWILIO_API_URL": fake.url,
            "OUTREACH_SEND_RATE": str(SEND_RATE),
        }

        def outreach(*argv: str) -> list[str]:
            return [sys.executable, "-m", "outreach.cli", *argv]

        subprocess.run(outreach("db", "upgrade"), env=env, cwd=work, check=True)
        people = work / "people.csv"
        people.write_text(
            "phone,first_name,tags,consent_source\n"
            + "".join(f"{number(i)},P{i},mental-health,soak\n" for i in range(args.people))
        )
        subprocess.run(outreach("contacts", "import", str(people)), env=env, cwd=work, check=True)
        processes = [
            subprocess.Popen(
                outreach("web", "--host", "127.0.0.1", "--port", str(port)),
                env={**env, "OUTREACH_PUBLIC_URL": base},
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=(work / f"web-{port}.log").open("w"),
            )
            for port, base in zip(ports, bases, strict=True)
        ] + [
            subprocess.Popen(
                outreach("worker"),
                env={**env, "OUTREACH_PUBLIC_URL": bases[0]},
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            for base in bases:
                deadline = time.monotonic() + 60
                while True:
                    with contextlib.suppress(httpx.TransportError):  # not listening yet
                        if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        logs = "".join(p.read_text()[-1000:] for p in work.glob("web-*.log"))
                        raise SystemExit(f"a web process did not start:\n{logs}")
                    time.sleep(0.2)
            subprocess.run(outreach("events", "invite", event), env=env, cwd=work, check=True)
            load = Load(bases, fake, args.people)
            memory_at_first_minute: list[float] = []
            started = time.monotonic()
            end = started + args.minutes * 60
            pool: list[threading.Thread] = []
            i = 0
            while time.monotonic() < end:
                due = started + i / args.rate
                time.sleep(max(0.0, due - time.monotonic()))
                thread = threading.Thread(target=load.text, args=(i,), daemon=True)
                thread.start()
                pool.append(thread)
                if i % 10 == 0:
                    threading.Thread(target=load.probe, daemon=True).start()
                if not memory_at_first_minute and time.monotonic() - started > 60:
                    memory_at_first_minute = [rss_mb(p.pid) for p in processes]
                i += 1
            for thread in pool:
                thread.join(timeout=60)
            elapsed = time.monotonic() - started
            memory_at_end = [rss_mb(p.pid) for p in processes]
            time.sleep(10)  # what is queued goes out
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)

        engine = create_engine(args.database_url)
        with engine.connect() as connection:
            statuses = Counter(
                dict(
                    connection.execute(
                        select(Message.status, func.count())
                        .where(Message.direction == "out")
                        .group_by(Message.status)
                    ).all()
                )
            )
            stored_in = connection.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "in")
            )
            left = connection.scalar(select(func.count()).select_from(OutboxItem))
            recorded = connection.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.direction == "out", Message.provider_id.is_not(None))
            )
        sends = len(fake.messages)
        twice = sends - (recorded or 0)  # Twilio took more than the store says it was given

    print(f"soak on PostgreSQL, 2 web + 2 worker processes, {args.minutes} min, 2 cores")
    print(
        f"inbound: {load.sent} texts in {elapsed:.0f} s = {load.sent / elapsed:.1f}/s "
        f"(asked {args.rate}/s); latency p50 {pct(load.latencies, 0.5):.1f} ms, "
        f"p99 {pct(load.latencies, 0.99):.1f} ms; bare /healthz p50 {pct(load.bare, 0.5):.1f} "
        f"ms, p99 {pct(load.bare, 0.99):.1f} ms (ratio p99 "
        f"{pct(load.latencies, 0.99) / max(pct(load.bare, 0.99), 0.001):.1f}x); "
        f"errors {dict(load.errors) or 0}"
    )
    print(
        f"outbound: {sends} sent = {sends / elapsed:.1f}/s against the configured "
        f"{SEND_RATE:.0f}/s; sent twice {twice}; by status {dict(statuses)}; "
        f"left in the outbox {left}"
    )
    print(f"stored inbound: {stored_in} of {load.sent - sum(load.errors.values())} acknowledged")
    names = ["web 1", "web 2", "worker 1", "worker 2"]
    print(
        "memory (RSS MB, at 1 min -> end): "
        + ", ".join(
            f"{name} {a:.0f} -> {b:.0f}"
            for name, a, b in zip(names, memory_at_first_minute, memory_at_end, strict=False)
        )
    )


if __name__ == "__main__":
    main()
