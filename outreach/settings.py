"""The one place that reads the environment.

Everything else receives a ``Settings`` (or plain keyword arguments) from its caller, so tests
build their own and nothing reads ``os.environ`` behind anyone's back.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from outreach.i18n.catalogs import N_

MIN_PASSWORD = 12


def _env(name: str) -> AliasChoices:
    """Read ``NAME`` as providers document it, or ``OUTREACH_NAME``."""
    return AliasChoices(name, f"OUTREACH_{name}")


class Settings(BaseSettings):
    """Outreach configuration, from ``OUTREACH_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(
        env_prefix="OUTREACH_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # Where things live
    database_url: str = "sqlite:///outreach.db"
    flows_dir: Path = Path("flows")
    locales_dir: Path = Path("locales")

    # Contacts
    default_region: str = Field("GB", description="Region for numbers written without +country")
    default_timezone: str = "Europe/London"
    default_language: str = "en"

    # Who is texting (said in HELP replies and opt-out receipts). Either one text, translated
    # through the catalogs when it is one of theirs, or JSON giving it per language:
    # OUTREACH_ORG_NAME='{"en": "NHS Worcestershire", "cy": "GIG Swydd Gaerwrangon"}'
    # TRANSLATORS: Who sends the messages, as in "You won't get any more messages from ...".
    # Where a language changes a name after a preposition (Welsh "gan dîm"), choose a form
    # that reads right in every message that uses it.
    org_name: str | dict[str, str] = N_("the Big Conversation team")
    # TRANSLATORS: How to get help, as in "Help: ...".
    help_contact: str | dict[str, str] = N_(
        "reply to this message and someone will get back to you"
    )
    language_flow: str = Field("choose-language", description="The flow LANG reopens")
    # What someone whose message raises a safeguarding concern is sent at once, in their
    # language: one text translated through the catalogs, or JSON giving it per language.
    # TRANSLATORS: Sent at once to someone whose message suggests they may harm themselves,
    # are being abused or are in crisis. Keep the numbers exactly as they are.
    crisis_contacts: str | dict[str, str] = N_(
        "If you are in danger now, call 999. For urgent help call NHS 111. Samaritans listen "
        "day or night, free, on 116 123. We have told our team."
    )

    # Flows
    max_segments: int = Field(3, ge=1, description="Warn when a message is longer than this")
    max_segments_translated: int = Field(
        3,
        ge=1,
        description="outreach i18n check refuses a message longer than this as sent, in any "
        "language (UCS-2 is 67 characters a segment)",
    )
    max_flow_bytes: int = Field(256 * 1024, ge=1024)
    max_steps_per_event: int = Field(100, ge=10)

    # Web process
    public_url: str | None = Field(
        None, description="The https URL Twilio calls, e.g. https://outreach.example.org"
    )
    admin_password: SecretStr | None = Field(
        None, description="Coordinators' password: at least 12 characters (four random words)"
    )
    secret_key: SecretStr | None = Field(None, description="Signs login sessions")
    max_request_bytes: int = Field(64 * 1024, ge=1024)
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of proxies whose X-Forwarded-For is believed (none by default)",
    )
    spool_dir: Path = Field(
        Path("spool"),
        description="Where webhooks wait, on local disk, while the database is unreachable",
    )
    refusal_days: int = Field(
        30, ge=1, description="Refused webhook requests are kept in detail this long"
    )

    # Twilio (SMS); without an account SID and token the simulator channel is used
    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_from_number: str | None = Field(None, validation_alias=_env("TWILIO_FROM_NUMBER"))
    twilio_messaging_service_sid: str | None = Field(
        None, validation_alias=_env("TWILIO_MESSAGING_SERVICE_SID")
    )
    twilio_api_url: str | None = Field(
        None, description="Send to this API address instead of Twilio's (the fake, in tests)"
    )
    twilio_numbers: list[str] = Field(
        default_factory=list, description="Our numbers that may receive SMS (default: the From)"
    )
    # How to opt out, added to every message from an alphanumeric sender (nobody can reply
    # to one): one text, translated through the catalogs when it is one of theirs, or JSON
    # giving it per language, as for org_name.
    alphanumeric_opt_out: str | dict[str, str] = Field(
        # TRANSLATORS: How to stop messages from a sender nobody can reply to,
        # as in "To stop these messages: ...". Keep any number exactly as it is.
        N_("text STOP to our mobile number or call us"),
        description="How to opt out, added to messages from an alphanumeric sender",
    )
    send_timeout_seconds: float = Field(10.0, gt=0)
    max_send_attempts: int = Field(8, ge=1)
    send_rate: float = Field(
        10.0, gt=0, description="SMS a second from our sender, shared by all workers"
    )
    account_send_rate: float | None = Field(
        None, gt=0, description="SMS a second for the whole Twilio account, if it has a limit"
    )
    send_concurrency: int | None = Field(
        None,
        ge=1,
        le=5000,
        description="Sends in flight at once per worker (default: as many as it holds "
        "claimed, up to 250)",
    )
    send_lease_seconds: float = Field(
        120.0, gt=0, description="A claimed batch not settled by then is treated as abandoned"
    )
    send_batch: int | None = Field(
        None,
        ge=1,
        le=5000,
        description="Outbox rows a worker holds claimed at once (default: half a second's "
        "sends at the send rate, at least 50)",
    )

    # Slack: a DM channel for people, and the app partners use; on when the bot token and the
    # signing secret are both set
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(
        None,
        validation_alias=_env("SLACK_APP_TOKEN"),
        description="An xapp- token: Socket Mode for local development (`outreach slack socket`)",
    )
    slack_bot_user_id: str | None = Field(
        None,
        validation_alias=_env("SLACK_BOT_USER_ID"),
        description="The app's bot user (U...): its own messages are never read as replies",
    )
    slack_api_url: str | None = Field(
        None, description="Call this Web API address instead of Slack's (the fake Slack)"
    )
    slack_rehearsal: bool = Field(
        False,
        description="Slack people are made up (the demo's fake Slack): nothing waits for quiet "
        "hours",
    )

    # Partners (flows/partners/*.yaml) and the people who pick conversations up
    safeguarding_channel: str | None = Field(
        None,
        pattern=r"^[CG][A-Z0-9]{6,20}$",
        description="Slack channel id (C...) where safeguarding alerts go at once",
    )
    handoff_channel: str | None = Field(
        None,
        pattern=r"^[CG][A-Z0-9]{6,20}$",
        description="Slack channel id for handoffs no partner follows (else CLI and web only)",
    )
    handoff_reraise_minutes: int = Field(
        120, ge=5, description="A handoff nobody has answered is raised again after this long"
    )

    # What an SMS segment costs, for the estimate before invitations go out
    sms_price_per_segment: float = Field(0.04, ge=0)
    sms_currency: str = "GBP"

    # Quiet hours: what Outreach starts waits for this window, in the contact's time zone
    quiet_hours_start: time = time(9, 0)
    quiet_hours_end: time = time(20, 0)

    # Retention
    retention_days: int = Field(365, ge=1, description="Message bodies older than this are purged")
    retention_cron: str = Field("30 3 * * *", description="When the purge runs (crontab, UTC)")

    @field_validator("admin_password")
    @classmethod
    def _strong(cls, password: SecretStr | None) -> SecretStr | None:
        if password is not None and len(set(password.get_secret_value())) < MIN_PASSWORD // 2:
            raise ValueError(f"too weak: use at least {MIN_PASSWORD} characters, not repeats")
        if password is not None and len(password.get_secret_value()) < MIN_PASSWORD:
            raise ValueError(
                f"too short: use at least {MIN_PASSWORD} characters (e.g. four random words)"
            )
        return password

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def alphanumeric_sender(self) -> bool:
        """A sender ID of letters (e.g. NHSWorcs) cannot receive replies."""
        sender = self.twilio_from_number or ""
        return (
            bool(sender)
            and not self.twilio_messaging_service_sid
            and any(ch.isalpha() for ch in sender)
        )


def load_settings() -> Settings:
    """Read settings from the environment."""
    return Settings()
