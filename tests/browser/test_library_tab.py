"""The Library tab as a reference manager, the Settings tab's connection test, citation links and
accessibility, in a real browser over the package's app (``app_url``). The papers these tests
change are their own (uploaded here), so that the other browser tests see the library as it was.

Accessibility is checked with axe-core (its ``axe.min.js`` ships in the PyPI package
``axe-playwright-python``), injected into the page by Playwright: no network at test time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.openai_server import OpenAIServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]

WAIT_MS = 60_000
ROW = "#papers .virtual-row[data-index='{}'] [role=gridcell]"
ENTRY = """@article{glare2025,
  title={Glare Removal for Shop Window Photographs},
  year={2025},
  abstract={Glare on shop windows hides the garments behind them; we remove it with a polariser model.}
}
"""


@pytest.fixture
def page(browser: Any, app_url: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    page.goto(app_url)
    page.wait_for_function("() => document.querySelector('#mode-banner')?.innerText.includes('writes')")
    yield page
    context.close()


def library_tab(page: Any) -> None:
    page.get_by_role("tab", name="Library").click()
    page.wait_for_function("() => /\\d+ papers/.test(document.querySelector('#papers-count')?.innerText)")


def filter_to(page: Any, text: str, count: str) -> None:
    page.fill("#papers-filter textarea", text)
    page.wait_for_function(
        "([c]) => document.querySelector('#papers-count').innerText.includes(c)", arg=[count]
    )


def wait_count(page: Any, count: str) -> None:
    page.wait_for_function(
        "([c]) => document.querySelector('#papers-count').innerText.startsWith(c)", arg=[count]
    )


def upload_entry(page: Any, tmp_path: Path, text: str = ENTRY, expect: str = "1 added, 0 skipped") -> Path:
    bib = tmp_path / "shop glare.bib"
    bib.write_text(text)
    page.set_input_files("#upload input[type=file]", [str(bib)])
    page.wait_for_function(
        "([e]) => document.querySelector('#upload-summary').innerText.includes(e)",
        arg=[expect],
        timeout=WAIT_MS,
    )
    return bib


def picked_value(page: Any) -> str:
    return str(page.input_value("#picked input"))


def test_filter_row_click_and_an_edit_that_persists(page: Any, tmp_path: Path) -> None:
    library_tab(page)
    total = int(page.inner_text("#papers-count").split()[0])
    bib = upload_entry(page, tmp_path)
    page.wait_for_function(
        f"() => document.querySelector('#papers-count').innerText.startsWith('{total + 1} papers')"
    )
    filter_to(page, "glare shop", f"{total + 1} papers, 1 shown")
    assert "shop glare.bib" in page.inner_text("#papers")  # the name uploaded, not the kept copy's
    assert "no authors" in page.inner_text("#papers")  # the badge
    page.click("#picked input")  # the picker is narrowed too
    options = page.locator("[role=listbox] [role=option]")
    assert options.count() == 1 and "glare2025" in options.first.inner_text()
    page.keyboard.press("Escape")
    page.locator(ROW.format(0)).nth(1).click()  # a row click picks its paper and opens the form
    page.wait_for_function("() => document.querySelector('#edit-key textarea')?.value === 'glare2025'")
    assert page.input_value("#edit-title textarea") == "Glare Removal for Shop Window Photographs"
    page.fill("#edit-title textarea", "Polariser Glare Removal for Shop Windows")
    page.fill("#edit-authors textarea", "Roe, Richard\nPoe, Paula")
    page.fill("#edit-key textarea", "roe2025polariser")
    page.click("#save-paper")
    page.wait_for_function("() => document.querySelector('#edit-note').innerText.includes('Saved')")
    assert "now roe2025polariser" in page.inner_text("#edit-note").replace("`", "")
    page.wait_for_function("() => document.querySelector('#papers').innerText.includes('roe2025polariser')")
    assert picked_value(page).startswith("roe2025polariser")

    # the table is read back from the store; the same file again keeps the user's fields
    upload_entry(page, tmp_path, bib.read_text(), expect="0 added, 1 skipped")
    assert "roe2025polariser" in page.inner_text("#upload-result")
    filter_to(page, "polariser", "1 shown")
    listed = page.inner_text("#papers")
    assert "Polariser Glare Removal for Shop Windows" in listed and "Roe, Richard, Poe, Paula" in listed
    assert "glare2025" not in listed


def test_remove_asks_first_and_can_be_undone(page: Any, tmp_path: Path) -> None:
    library_tab(page)
    upload_entry(page, tmp_path, ENTRY.replace("glare2025", "mist2025").replace("Glare", "Mist"))
    filter_to(page, "mist", "1 shown")
    total = int(page.inner_text("#papers-count").split()[0])
    page.locator(ROW.format(0)).nth(0).click()
    page.wait_for_function("() => document.querySelector('#edit-key textarea')?.value === 'mist2025'")
    page.click("#remove")
    page.wait_for_selector("#confirm-remove", state="visible")
    assert "Remove mist2025" in page.inner_text("#confirm-remove").replace("`", "")
    page.click("#confirm-remove-no")  # cancelled: nothing removed
    page.wait_for_selector("#confirm-remove", state="hidden")
    assert "mist2025" in page.inner_text("#papers")
    page.click("#remove")
    page.click("#confirm-remove-yes")
    page.wait_for_function("() => document.querySelector('#library-note').innerText.includes('Removed')")
    wait_count(page, f"{total - 1} papers, 0 shown")
    page.click("#undo")
    page.wait_for_function("() => document.querySelector('#library-note').innerText.includes('back')")
    wait_count(page, f"{total} papers, 1 shown")
    assert "mist2025" in page.inner_text("#papers") and picked_value(page).startswith("mist2025")
    page.wait_for_selector("#undo", state="hidden")


def test_test_connection_against_the_scripted_server_and_a_dead_port(
    page: Any, scripted: OpenAIServer
) -> None:
    page.get_by_role("tab", name="Settings").click()
    page.click("#test-connection")  # the configured endpoint
    page.wait_for_function("() => document.querySelector('#settings-note').innerText.includes('answers')")
    note = page.inner_text("#settings-note")
    assert scripted.url in note and "fake-chat" in note and "the environment" in note
    dead = f"http://127.0.0.1:{free_port()}/v1"
    page.get_by_label("OpenAI-compatible base URL").fill(dead)
    page.click("#test-connection")
    page.wait_for_function("() => document.querySelector('#settings-note').innerText.includes('failed')")
    note = page.inner_text("#settings-note")
    assert dead in note and "Settings tab" in note and "LITASSIST_LLM__BASE_URL" not in note
    page.click("#apply-endpoint")  # applied, with the failed check shown at once
    page.wait_for_function(f"() => document.querySelector('#mode-banner').innerText.includes('{dead}')")
    assert "Connection failed" in page.inner_text("#settings-note")


def test_accessibility_and_citation_links(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.fill("#question textarea", "Which models recognise facial expressions?")
    page.press("#question textarea", "Enter")
    page.wait_for_selector("#chat a[href='#source-1']", timeout=WAIT_MS)
    page.click("#chat a[href='#source-1']")  # the number links to its card, which is outlined
    page.wait_for_selector("#sources .source-card.source-focus[data-number='1']")
    assert page.get_by_role("textbox", name="Your question").count() == 1
    axe = Axe()
    found = {}
    for tab in ("Chat", "Library", "Drafts", "Settings"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        if tab == "Library":
            page.locator(ROW.format(1)).nth(1).click()
            page.wait_for_function("() => document.querySelector('#edit-key textarea')?.value")
        violations = axe.run(page).response["violations"]
        found[tab] = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
    assert found == {tab: [] for tab in found}

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the sources under the answer
    page.get_by_role("tab", name="Chat").click()
    chat, panel = page.locator("#chat").bounding_box(), page.locator("#sources-panel").bounding_box()
    assert panel["y"] >= chat["y"] + chat["height"] and panel["width"] <= 390
    page.locator("#sources-panel button.label-wrap").first.click()  # and they fold away
    page.wait_for_selector("#sources .source-card", state="hidden")
