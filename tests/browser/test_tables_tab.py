"""The Tables tab in a real browser: a table filled by the (scripted) model, a card per cell whose
sentence holds its value, the made-up cell dropped and said so, and a .bib of exactly the rows'
papers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bibtexparser
import pytest

from tests.openai_server import MADE_UP

pytestmark = [pytest.mark.browser, pytest.mark.integration]

WAIT_MS = 60_000


@pytest.fixture
def page(browser: Any, app_url: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 950}, accept_downloads=True)
    page = context.new_page()
    page.goto(app_url)
    page.wait_for_function("() => document.querySelector('#mode-banner')?.innerText.includes('writes')")
    yield page
    context.close()


def test_a_table_with_a_card_per_cell_and_its_bib(page: Any, screenshots: Path) -> None:
    page.get_by_role("tab", name="Tables").click()
    page.fill("#table-topic textarea", "facial expression recognition in the wild")
    page.click("#compare")
    page.wait_for_selector("#table-download-bib", state="visible", timeout=WAIT_MS)
    text = page.inner_text("#table-text")
    assert "88.14%" in text and "RAF-DB" in text
    assert "Dropped" in text and MADE_UP in text.split("Dropped", 1)[1]  # said so, not in the table
    cards = page.locator("#table-cells .cell-card").all()
    assert cards
    for card in cards:
        value = card.get_attribute("data-value")
        assert value != MADE_UP and value in card.locator("mark").inner_text()
    page.screenshot(path=screenshots / "table.png", full_page=True)
    with page.expect_download() as download:
        page.click("#table-download-bib")
    bib = Path(download.value.path()).read_text()
    keys = {entry.key for entry in bibtexparser.parse_string(bib).entries}
    assert keys == {card.get_attribute("data-key") for card in cards}
    assert download.value.suggested_filename == "table.bib"
