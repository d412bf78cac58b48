"""Everything a process needs, built once from the settings: store, engine, services, channels,
and the work the worker does for each feature.

The web process, the worker and the CLI build a ``Runtime``; tests build one with their own
clock and channels. Nothing else reads settings to decide which provider to use. Features hand
their due-work handlers and periodic jobs over here, so the worker runs them without knowing
what they are.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from apscheduler.triggers.cron import CronTrigger
from slack_sdk import WebClient

from outreach.channels.base import Channel, ReceivingChannel
from outreach.channels.setup import make_channels
from outreach.channels.slack import make_client as make_slack_client
from outreach.clock import Clock, utcnow
from outreach.conversations import handoffs
from outreach.conversations.handoffs import TeamSide
from outreach.conversations.service import Conversations
from outreach.flows.engine import Engine
from outreach.partners import digests as digest_posts
from outreach.partners.digests import Digests
from outreach.partners.library import PartnerDefinition
from outreach.partners.threads import HandoffThreads
from outreach.scheduling.dispatcher import Dispatcher, Limiter
from outreach.scheduling.due import DueWorkRunner
from outreach.scheduling.periodic import PeriodicJob, PeriodicRuns
from outreach.scheduling.rate_limits import SharedRateLimit
from outreach.scheduling.worker import Worker
from outreach.services import logins, privacy, webhooks
from outreach.services.decisions import Decisions
from outreach.services.events import Events
from outreach.services.flows import build_engine, load_events, load_partners
from outreach.settings import Settings
from outreach.store.database import Database


def settle_for_a_long_run() -> None:
    """For a process that runs until stopped (the web process, the worker), once its runtime
    is built. What it built lives as long as the process (flows, catalogs, SQLAlchemy's
    statements): frozen, the garbage collector stops walking all of it at every full
    collection, and a larger first generation means fewer collections while a batch makes
    its many short-lived rows. A fifth more flow starts a second (docs/performance.md).
    Not for tests or one-off commands: what is frozen is never freed."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def sms_limits(settings: Settings, db: Database) -> list[Limiter]:
    """SMS send rates shared by every worker: per sender, and per account if set. They count
    real seconds, whatever clock the runtime keeps: the provider's limit does (a demo's fast
    clock must not send faster, a test's stopped one must not make each send wait longer)."""
    sender = settings.twilio_messaging_service_sid or settings.twilio_from_number or "simulated"
    limits: list[Limiter] = [SharedRateLimit(db, f"sms:sender:{sender}", settings.send_rate)]
    if settings.account_send_rate is not None:
        account = settings.twilio_account_sid or "simulated"
        limits.append(SharedRateLimit(db, f"sms:account:{account}", settings.account_send_rate))
    return limits


def outbox_window(settings: Settings) -> int:
    """How many outbox rows a worker holds claimed at once: what it needs in flight to keep
    up the send rate through a provider's latency, and no more (those are the rows a killed
    worker leaves to be reconciled). Half a second's sends covers Twilio's usual 100-200 ms
    an API call and the time their outcomes wait to be recorded together;
    ``OUTREACH_SEND_BATCH`` sets it."""
    return settings.send_batch or max(50, math.ceil(settings.send_rate / 2))


# People whose flows start (or whose reminders and timeouts fire) in one transaction: big
# enough that a commit and a dozen statements are shared by hundreds, small enough that a
# batch's rows and writes stay small.
START_BATCH = 500


def due_work(
    db: Database,
    conversations: Conversations,
    events: Events,
    *,
    threads: HandoffThreads | None = None,
    digests: Digests | None = None,
    clock: Clock = utcnow,
    name: str | None = None,
) -> DueWorkRunner:
    """A due-work runner with every feature's handler registered."""
    runner = DueWorkRunner(db, clock=clock, name=name)
    runner.register_batch("reminder", conversations.fire_due, size=START_BATCH)
    runner.register_batch("timeout", conversations.fire_due, size=START_BATCH)
    runner.register("event", events.expand)
    runner.register_batch("start", events.start_batch, size=START_BATCH)
    if threads is not None:
        runner.register(handoffs.POST, threads.post)
        runner.register(handoffs.RELAY, threads.relay)
    if digests is not None:
        runner.register(digest_posts.POST, digests.post)
    return runner


def partner_client(settings: Settings) -> WebClient | None:
    """The Slack client for partners' channels (threads, alerts, digests), if Slack is set
    up: it waits out a 429 and never resends after a connection error (no double posts)."""
    if settings.slack_bot_token is None:
        return None
    return make_slack_client(
        settings.slack_bot_token.get_secret_value(),
        api_url=settings.slack_api_url,
        timeout=settings.send_timeout_seconds,
        waits_for_rate_limits=True,
    )


@dataclass
class Runtime:
    settings: Settings
    db: Database
    engine: Engine
    channels: dict[str, Channel]  # by the address scheme each serves
    conversations: Conversations
    dispatcher: Dispatcher
    events: Events
    due: DueWorkRunner
    periodic: PeriodicRuns
    clock: Clock
    team: TeamSide
    threads: HandoffThreads
    digests: Digests
    partners: dict[str, PartnerDefinition] = field(default_factory=dict)
    jobs: list[PeriodicJob] = field(default_factory=list)
    _receiving: dict[str, tuple[Channel | None, bool]] = field(
        default_factory=dict, init=False, repr=False
    )

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
        by_scheme = (
            {c.scheme: c for c in channels.values()}
            if channels is not None
            else make_channels(settings, engine.translate)
        )
        conversations = Conversations(
            database, engine, settings=settings, clock=clock, channels=by_scheme
        )
        dispatcher = Dispatcher(
            database,
            by_scheme,
            clock=clock,
            max_attempts=settings.max_send_attempts,
            lease=timedelta(seconds=settings.send_lease_seconds),
            batch=outbox_window(settings),
            claim=math.ceil(settings.send_rate / 10),
            rate_limits={"tel": sms_limits(settings, database)},
            concurrency=settings.send_concurrency,
        )
        known_events = load_events(settings, engine.flows)
        partners = load_partners(settings, engine.flows, known_events)
        team = TeamSide(database, conversations.sender, clock=clock)
        threads = HandoffThreads(
            database,
            team,
            partners=partners,
            client=partner_client(settings),
            default_channel=settings.handoff_channel,
            safeguarding_channel=settings.safeguarding_channel,
            reraise_after=timedelta(minutes=settings.handoff_reraise_minutes),
            secret=settings.secret_key.get_secret_value() if settings.secret_key else "",
            translate=engine.translate,
            clock=clock,
        )
        digests = Digests(
            database,
            partners=partners,
            flows=engine.flows,
            client=threads.client,
            secret=threads.secret,
            translate=engine.translate,
            clock=clock,
        )
        events = Events(
            database,
            conversations,
            known_events,
            settings=settings,
            clock=clock,
            source=lambda: load_events(settings, engine.flows),
        )
        due = due_work(
            database,
            conversations,
            events,
            threads=threads,
            digests=digests,
            clock=clock,
            name=dispatcher.name,
        )
        jobs = [
            PeriodicJob(
                "handoffs-reraise",
                CronTrigger(minute="*/5", timezone="UTC"),
                threads.reraise,
                once_per_period=True,
            ),
            *digests.jobs(),
            events.sync_job(),
            privacy.retention_job(settings, database, clock),
            webhooks.purge_job(settings, database, clock),
            logins.purge_job(database, clock),
        ]
        periodic = PeriodicRuns(database, clock=clock, name=dispatcher.name)
        return cls(
            settings,
            database,
            engine,
            by_scheme,
            conversations,
            dispatcher,
            events,
            due,
            periodic,
            clock,
            team,
            threads,
            digests,
            partners,
            jobs,
        )

    @property
    def decisions(self) -> Decisions:
        """Decisions ("you said, we did") over this runtime's conversations."""
        return Decisions(self.db, self.conversations, settings=self.settings, clock=self.clock)

    def worker(self) -> Worker:
        """The worker for this runtime: sends, due work and every feature's periodic jobs."""
        return Worker(
            dispatcher=self.dispatcher,
            due=self.due,
            periodic=self.periodic,
            jobs=self.jobs,
            on_start=self.events.sync,
        )

    def receiving_channel(self, scheme: str) -> ReceivingChannel | None:
        """The channel whose provider posts messages for ``scheme`` to us, if it is set up."""
        channel = self.channels.get(scheme)
        # Each webhook asks, and a protocol's isinstance check reads every attribute each
        # time: the answer is kept for as long as the scheme has the same channel.
        known = self._receiving.get(scheme)
        if known is None or known[0] is not channel:
            known = self._receiving[scheme] = (channel, isinstance(channel, ReceivingChannel))
        return cast(ReceivingChannel, channel) if known[1] else None

    def close(self) -> None:
        self.db.close()
