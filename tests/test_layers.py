"""The architecture holds: imports point one way (web/cli -> services -> engine, store,
channels -> basics), and the flow engine knows nothing of SMS. The rules live in
pyproject.toml ([tool.importlinter]); this runs them, so a change that breaks them fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

from tests.conftest import ROOT


def test_import_rules_hold(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "2 kept, 0 broken" in report


def test_a_broken_rule_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: an import the rules forbid is reported."""
    config = tmp_path / "rules.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "outreach"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "a probe: the engine may not import its own state module (it does)"\n'
        'type = "forbidden"\nsource_modules = ["outreach.flows.engine"]\n'
        'forbidden_modules = ["outreach.flows.state"]\n'
    )
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) != 0
