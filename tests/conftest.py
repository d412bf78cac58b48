"""Shared fixtures: settings that point at the shipped flows, an engine, a fixed clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from sqlalchemy import create_engine, text

from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition
from outreach.services.flows import load_flows
from outreach.settings import Settings
from outreach.store.database import Database
from outreach.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.logscan"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the expected part of golden transcripts after a deliberate change",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'outreach.db'}",
        flows_dir=ROOT / "flows",
        locales_dir=ROOT / "locales",
        spool_dir=tmp_path / "spool",
        _env_file=None,
    )


@pytest.fixture(scope="session")
def shipped_flows() -> dict[str, FlowDefinition]:
    return load_flows(
        Settings(flows_dir=ROOT / "flows", locales_dir=ROOT / "locales", _env_file=None)
    )


@pytest.fixture(scope="session")
def engine(shipped_flows: dict[str, FlowDefinition]) -> Engine:
    return Engine(shipped_flows)


@pytest.fixture
def t0() -> datetime:
    """Monday 2 March 2026, 10:00 in London (GMT)."""
    return datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


# -- the store, on every backend -----------------------------------------------------------------

PG_URL = os.environ.get("OUTREACH_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not PG_URL, reason="OUTREACH_TEST_DATABASE_URL is not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty store: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(database)
        yield database
        assert database.engine.pool.checkedout() == 0, "a connection was left open"
        database.close()
        return
    if not PG_URL:
        pytest.skip("OUTREACH_TEST_DATABASE_URL is not set")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema rides in the URL, so processes the test starts can be handed it too.
    database = Database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(database)
        yield database
        assert database.engine.pool.checkedout() == 0, "a connection was left open"
    finally:
        database.close()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def mobile(n: int = 0) -> str:
    """A valid UK mobile number (phonenumbers' example and its neighbours)."""
    example = phonenumbers.example_number_for_type("GB", PhoneNumberType.MOBILE)
    return f"+{example.country_code}{example.national_number + n}"
