"""The one place that reads the environment.

Everything else receives a ``Settings`` (or plain keyword arguments) from its caller, so tests
build their own and nothing reads ``os.environ`` behind anyone's back.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Outreach configuration, from ``OUTREACH_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="OUTREACH_", env_file=".env", extra="ignore")

    # Where things live
    database_url: str = "sqlite:///outreach.db"
    flows_dir: Path = Path("flows")
    locales_dir: Path = Path("locales")

    # Contacts
    default_region: str = Field("GB", description="Region for numbers written without +country")
    default_timezone: str = "Europe/London"
    default_language: str = "en"

    # Who is texting (said in HELP replies and opt-out receipts)
    org_name: str = "the Big Conversation team"
    help_contact: str = "reply to this message and someone will get back to you"
    language_flow: str = Field("choose-language", description="The flow LANG reopens")

    # Flows
    max_segments: int = Field(3, ge=1, description="Warn when a message is longer than this")
    max_flow_bytes: int = Field(256 * 1024, ge=1024)
    max_steps_per_event: int = Field(100, ge=10)

    # Retention
    retention_days: int = Field(365, ge=1, description="Message bodies older than this are purged")


def load_settings() -> Settings:
    """Read settings from the environment."""
    return Settings()
