"""The board's document: HTML with its charts inside, and a PDF that Chromium prints with
no network, checked by looking at its first page as an image."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from outreach.settings import Settings
from outreach.store.database import Database
from tests.seeding import plant_event
from tests.services.test_results import EVENT, participants, report
from tests.web.test_simulator import artifacts, needs_chromium

NHS_BLUE = (0x00, 0x5E, 0xB8)


@pytest.fixture
def planted(db: Database, t0: datetime) -> None:
    plant_event(db, EVENT, participants(), at=t0)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_html_report_is_self_contained_with_svg_charts(
    settings: Settings, db: Database, planted: None
) -> None:
    code, out, _ = report(settings, db, EVENT, "--format", "html")
    assert code == 0
    assert out.count("<svg") >= 2 and "@media print" in out
    assert "http://" not in out and "https://" not in out and "<script" not in out
    assert "<td>93</td>" in out  # the yes count planted
    assert "Reach by ethnicity" in out
    assert "wheelchair" not in out


@needs_chromium
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_pdf_report_renders_offline_and_its_first_page_shows_the_numbers(
    settings: Settings, db: Database, planted: None, tmp_path: Path
) -> None:
    import pypdfium2

    target = tmp_path / "report.pdf"
    code, _, err = report(settings, db, EVENT, "--format", "pdf", "--output", str(target))
    assert code == 0, err
    pdf = pypdfium2.PdfDocument(target)
    page = pdf[0]
    width, height = page.get_size()
    assert round(height / width, 2) == 1.41  # A4, portrait
    text = page.get_textpage().get_text_range()
    assert f"Big Conversation {EVENT}" in text and "Who is coming" in text
    image = page.render(scale=1.5).to_pil().convert("RGB")
    png = artifacts() / "report-page-1.png"
    image.save(png)
    print(f"first page of the PDF: {png}")
    colours = image.getcolors(maxcolors=1 << 20) or []
    dark = sum(n for n, rgb in colours if sum(rgb) < 200)
    blue = sum(
        n for n, rgb in colours if all(abs(a - b) < 12 for a, b in zip(rgb, NHS_BLUE, strict=True))
    )
    assert dark > 2000, "the first page has hardly any text on it"
    assert blue > 500, "no chart bars drawn on the first page"
    assert len(pdf) >= 2  # the whole report, not one page cut short
