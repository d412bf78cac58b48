"""Shared fixtures: settings that point at the shipped flows, an engine, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from outreach.flows.engine import Engine
from outreach.flows.loader import FlowDefinition
from outreach.services.flows import load_flows
from outreach.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


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
