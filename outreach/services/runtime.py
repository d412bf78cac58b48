"""Everything a process needs, built once from the settings: store, engine, services, channels.

The web process, the worker and the CLI build a ``Runtime``; tests build one with their own
clock and channels. Nothing else reads settings to decide which provider to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from outreach.channels.base import Channel
from outreach.channels.simulator import SimulatorChannel
from outreach.channels.twilio_sms import TwilioSMSChannel, make_client
from outreach.clock import Clock, utcnow
from outreach.flows.engine import Engine
from outreach.services.conversations import Conversations
from outreach.services.due import DueWorkRunner, PeriodicRuns
from outreach.services.events import Events
from outreach.services.flows import build_engine, load_events
from outreach.services.outbox import Limiter, Outbox
from outreach.services.rate_limits import SharedRateLimit
from outreach.settings import Settings
from outreach.store.database import Database


def make_channels(settings: Settings) -> dict[str, Channel]:
    """Twilio SMS when its settings are present, else the simulator; and always the
    simulator channel itself, for the made-up people of the phone simulator."""
    simulator = SimulatorChannel("simulator")
    if not settings.twilio_enabled:
        return {"sms": SimulatorChannel(), "simulator": simulator}
    assert settings.twilio_account_sid and settings.twilio_auth_token
    client = make_client(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        api_url=settings.twilio_api_url,
        timeout=settings.send_timeout_seconds,
    )
    callback = f"{settings.public_url.rstrip('/')}/twilio/status" if settings.public_url else None
    return {
        "simulator": simulator,
        "sms": TwilioSMSChannel(
            client,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=callback,
        ),
    }


def sms_limits(settings: Settings, db: Database, clock: Clock) -> list[Limiter]:
    """SMS send rates shared by every worker: per sender, and per account if set."""
    sender = settings.twilio_messaging_service_sid or settings.twilio_from_number or "simulated"
    limits: list[Limiter] = [
        SharedRateLimit(db, f"sms:sender:{sender}", settings.send_rate, clock=clock)
    ]
    if settings.account_send_rate is not None:
        account = settings.twilio_account_sid or "simulated"
        limits.append(
            SharedRateLimit(db, f"sms:account:{account}", settings.account_send_rate, clock=clock)
        )
    return limits


@dataclass
class Runtime:
    settings: Settings
    db: Database
    engine: Engine
    conversations: Conversations
    outbox: Outbox
    events: Events
    due: DueWorkRunner
    periodic: PeriodicRuns
    clock: Clock

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        channels: Mapping[str, Channel] | None = None,
        db: Database | None = None,
    ) -> Runtime:
        database = db or Database(settings.database_url)
        engine = build_engine(settings)
        conversations = Conversations(database, engine, settings=settings, clock=clock)
        outbox = Outbox(
            database,
            channels if channels is not None else make_channels(settings),
            clock=clock,
            max_attempts=settings.max_send_attempts,
            lease=timedelta(seconds=settings.send_lease_seconds),
            batch=settings.send_batch,
            rate_limits={"sms": sms_limits(settings, database, clock)},
            concurrency=settings.send_concurrency,
        )
        events = Events(
            database,
            conversations,
            load_events(settings, engine.flows),
            settings=settings,
            clock=clock,
            source=lambda: load_events(settings, engine.flows),
        )
        due = DueWorkRunner(database, conversations, events, clock=clock, name=outbox.name)
        periodic = PeriodicRuns(database, clock=clock, name=outbox.name)
        return cls(settings, database, engine, conversations, outbox, events, due, periodic, clock)

    def close(self) -> None:
        self.db.close()
