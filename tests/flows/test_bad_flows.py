"""Each file or folder under bad/ is a broken flow; its ``# expect:`` lines say what must be
reported (code, line, words of the message), and nothing else may be reported as an error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outreach.services.flows import check_flows
from outreach.settings import Settings

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.iterdir())
EXPECT = re.compile(r"^# expect: (\S+) (\d+) ?(.*)$")


def expectations(case: Path) -> list[tuple[str, int, str]]:
    files = sorted(case.glob("*.yaml")) if case.is_dir() else [case]
    found = []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            match = EXPECT.match(line)
            if match:
                found.append((match[1], int(match[2]), match[3].strip()))
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_flow_reports_its_problem(case: Path, settings: Settings) -> None:
    expected = expectations(case)
    assert expected, f"{case.name} says nothing about what it should produce"
    report = check_flows(settings, [case])
    reported = [(p.code, p.line, str(p)) for p in report.problems]
    for code, line, words in expected:
        assert any(c == code and n == line and words in text for c, n, text in reported), (
            f"expected {code} at line {line} ({words!r}); got:\n"
            + "\n".join(r[2] for r in reported)
        )
    expected_codes = {(code, line) for code, line, _ in expected}
    unexpected = [p for p in report.errors if (p.code, p.line) not in expected_codes]
    assert not unexpected, "also reported:\n" + "\n".join(map(str, unexpected))
    for problem in report.problems:
        assert problem.file.startswith(str(BAD))
        assert problem.line >= 1 and problem.column >= 1
