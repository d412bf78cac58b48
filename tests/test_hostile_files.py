"""Hypothesis writes the files: flow YAML and contacts CSV, from plausible to hostile. A flow
file either loads or is refused with problems that each name the file and a line in it; a CSV
file either imports (every row counted once, as imported or rejected with a reason) or is
refused in one line. Nothing else ever comes out: no traceback for a coordinator's file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.errors import FlowLoadError, ImportFileError
from outreach.events.library import load_event_text
from outreach.flows.loader import load_text
from outreach.services.contact_import import import_contacts
from outreach.store.database import Database
from outreach.store.migrate import upgrade
from tests.conftest import mobile

KEYS = ["version", "id", "name", "steps", "ask", "send", "choices", "match", "next", "on", "when"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["1", "yes", "{{ name }}", "{{", "&anchor", "*alias", "!!python/object"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=40,
)


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """A YAML document, sometimes cut or with characters pushed in at a random place."""
    text = yaml.safe_dump(draw(documents), allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=12)) + text[at:]
    return text


def lines_of(text: str) -> int:
    return max(1, text.count("\n") + 1)


@settings(max_examples=300, deadline=None)
@given(st.one_of(yaml_texts(), st.text(max_size=200)))
def test_a_flow_file_loads_or_is_refused_by_file_and_line(text: str) -> None:
    for load in (load_text, load_event_text):
        try:
            load(text, path="hostile.yaml")
        except FlowLoadError as refused:
            assert refused.problems
            for problem in refused.problems:
                assert problem.file == "hostile.yaml"
                assert 1 <= problem.line <= lines_of(text) + 1, str(problem)


HEADERS = ["phone", "first_name", "language", "tags", "timezone", "consent_source", "x"]
cells = st.one_of(
    st.text(max_size=40),
    st.sampled_from([mobile(1), mobile(2), "07400 123456", "=cmd|' /C calc'!A0", "+44", ""]),
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A contacts file: plausible headers and rows of any cells, in one of the encodings
    spreadsheets save, or now and then bytes of anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    headers = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=5, unique=True))
    rows = draw(st.lists(st.lists(cells, max_size=len(headers) + 2), max_size=8))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return out.getvalue().encode(encoding, errors="replace")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Database:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'store.db'}")
    upgrade(db)
    return db


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=csv_files())
def test_a_contacts_file_imports_row_by_row_or_is_refused_in_one_line(
    data: bytes, store: Database, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_bytes(data)
    try:
        report = import_contacts(store, source, consent_source="fuzzed")
    except ImportFileError as refused:
        assert "\n" not in str(refused) and 0 < len(str(refused)) < 300
        return
    rejects = report.rejects_path
    written = 0
    if report.rejected:
        assert rejects is not None
        with rejects.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        written = len(rows)
        assert all(row["reason"] for row in rows)
    assert written == report.rejected
    assert report.created + report.updated + report.unchanged + report.rejected == report.rows
