"""The chat UI in a real browser: a streamed answer whose every citation marker has its source
card, a follow-up, an endpoint error shown as a message, two sessions that do not mix, an upload
listed in the library, and a draft whose .bib downloads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import bibtexparser
import pytest

from tests.browser.conftest import UPLOAD_LIMIT_MB
from tests.conftest import free_port
from tests.openai_server import OpenAIServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]

QUESTION = "Which models recognise facial expressions?"
FOLLOW_UP = "How do they handle dynamic video clips?"
BOT = "#chat [data-testid='bot']"
USER = "#chat [data-testid='user']"
WAIT_MS = 60_000

# records, in the page, every distinct text of the latest bot message as it streams
WATCH_STREAM = """() => {
  window.seen = [];
  new MutationObserver(() => {
    const bots = document.querySelectorAll("#chat [data-testid='bot']");
    const text = bots.length ? bots[bots.length - 1].innerText : "";
    if (text && window.seen[window.seen.length - 1] !== text) window.seen.push(text);
  }).observe(document.querySelector("#chat"), {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture
def page(browser: Any, app_url: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 950}, accept_downloads=True)
    page = context.new_page()
    page.goto(app_url)
    page.wait_for_function("() => document.querySelector('#mode-banner')?.innerText.includes('writes')")
    yield page
    context.close()


def ask(page: Any, question: str, answers: int) -> str:
    """Ask, wait until the ``answers``-th answer is finished (its sources shown, or an error),
    and return its text."""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        """([n]) => {
            const bots = document.querySelectorAll("#chat [data-testid='bot']");
            if (bots.length < n) return false;
            const text = bots[n - 1].innerText;
            const numbers = [...text.matchAll(/\\[(\\d+)\\]/g)].map(m => m[1]);
            const cards = [...document.querySelectorAll("#sources .source-card")].map(c => c.dataset.number);
            return text.includes("⚠️") || (numbers.length > 0 && numbers.every(x => cards.includes(x)));
        }""",
        arg=[answers],
        timeout=WAIT_MS,
    )
    return str(page.locator(BOT).nth(answers - 1).inner_text())


def markers(text: str) -> set[str]:
    return set(re.findall(r"\[(\d+)\]", text))


def test_a_streamed_answer_with_a_source_card_per_marker_and_a_follow_up(
    page: Any, scripted: OpenAIServer, screenshots: Path
) -> None:
    assert "fake-chat" in page.inner_text("#mode-banner")
    page.evaluate(WATCH_STREAM)
    answer = ask(page, QUESTION, 1)
    assert len(page.evaluate("window.seen")) >= 5  # the text grew in steps: it streamed
    assert scripted.chat_requests()[-1]["body"]["stream"] is True
    numbers = markers(answer)
    cards = page.locator("#sources .source-card")
    assert numbers and numbers == {cards.nth(i).get_attribute("data-number") for i in range(cards.count())}
    first_card = cards.first.inner_text()
    assert first_card.startswith("[1]") and page.locator("#sources .source-passage").count() >= len(numbers)
    page.screenshot(path=screenshots / "chat-answer.png")

    follow = ask(page, FOLLOW_UP, 2)
    assert page.locator(USER).count() == 2 and markers(follow)
    assert markers(follow) <= {
        c.get_attribute("data-number") for c in page.locator("#sources .source-card").all()
    }
    page.screenshot(path=screenshots / "chat-follow-up.png")
    page.click("#new-conversation")
    page.wait_for_function("() => !document.querySelector(\"#chat [data-testid='bot']\")")
    assert "appear here" in page.inner_text("#sources")


def test_an_endpoint_that_is_down_is_a_readable_message(page: Any, screenshots: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("OpenAI-compatible base URL").fill(dead)
    page.get_by_label("Model", exact=True).fill("missing-model")
    page.click("#apply-endpoint")
    page.wait_for_function(f"() => document.querySelector('#mode-banner').innerText.includes('{dead}')")
    assert "this session" in page.inner_text("#settings-view")
    page.screenshot(path=screenshots / "settings.png", full_page=True)
    page.get_by_role("tab", name="Chat").click()
    reply = ask(page, QUESTION, 1)
    assert reply.startswith("⚠️") and dead in reply and "Traceback" not in reply
    page.screenshot(path=screenshots / "chat-endpoint-down.png")
    page.fill("#question textarea", "still answering?")  # the chat is not stuck
    assert page.locator("#ask").is_enabled()


def test_two_sessions_do_not_mix(browser: Any, app_url: str) -> None:
    pages = []
    for _ in range(2):
        context = browser.new_context()
        pages.append(context.new_page())
        pages[-1].goto(app_url)
        pages[-1].wait_for_selector("#question textarea:enabled")
    questions = ["Which papers study facial expression recognition?", "Which papers generate talking faces?"]
    for page, question in zip(pages, questions, strict=True):  # both asked before either is read
        page.fill("#question textarea", question)
        page.press("#question textarea", "Enter")
    for page, question in zip(pages, questions, strict=True):
        page.wait_for_function("() => document.querySelectorAll(\"#chat [data-testid='bot'] p\").length > 0")
        page.wait_for_selector("#sources .source-card", timeout=WAIT_MS)
        assert page.locator(USER).all_inner_texts() == [question]
        page.context.close()


def test_upload_papers_and_see_them_listed(page: Any, tmp_path: Path, screenshots: Path) -> None:
    good = tmp_path / "my refs.bib"
    good.write_text(
        "@article{roe2025colour,\n  title={Colour Constancy for Garment Photographs},\n"
        "  author={Roe, Richard},\n  year={2025},\n"
        "  abstract={Colour constancy keeps garment colours stable across lighting.}\n}\n"
    )
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 this file was cut short")
    page.get_by_role("tab", name="Library").click()
    page.set_input_files("#upload input[type=file]", [str(good), str(broken)])
    page.wait_for_selector("#upload-result", timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelector('#upload-summary').innerText.includes('added')")
    assert "1 added, 0 skipped, 1 failed" in page.inner_text("#upload-summary")
    result = page.inner_text("#upload-result")
    assert "roe2025colour" in result and "broken.pdf" in result
    page.fill("#papers-filter textarea", "garment photographs")
    page.wait_for_function(
        "() => { const t = document.querySelector('#papers').innerText;"
        " return t.includes('roe2025colour') && !t.includes('pluralistic2024'); }"
    )
    listed = page.inner_text("#papers")
    assert "roe2025colour" in listed and "Colour Constancy for Garment Photographs" in listed
    page.screenshot(path=screenshots / "library-upload.png", full_page=True)
    assert UPLOAD_LIMIT_MB == 1  # the app was started with a 1 MB limit: a larger file is refused
    big = tmp_path / "big.txt"
    big.write_text("words " * 400_000)
    page.set_input_files("#upload input[type=file]", [str(big)])
    page.wait_for_function(
        "() => document.body.innerText.match(/exceed the maximum allowed size/i)", timeout=WAIT_MS
    )


def test_a_draft_with_its_outline_and_bib_download(page: Any, screenshots: Path) -> None:
    page.get_by_role("tab", name="Drafts").click()
    page.fill("#topic textarea", "facial expression recognition")
    page.click("#draft")
    page.wait_for_selector("#download-bib", state="visible", timeout=WAIT_MS)
    assert page.inner_text("#outline").startswith("Outline")
    text = page.inner_text("#draft-text")
    cited = markers(text.split("References")[0])
    assert cited and cited == {
        c.get_attribute("data-number") for c in page.locator("#draft-sources .source-card").all()
    }
    page.screenshot(path=screenshots / "draft.png", full_page=True)
    with page.expect_download() as download:
        page.click("#download-bib")
    bib = Path(download.value.path()).read_text()
    keys = {entry.key for entry in bibtexparser.parse_string(bib).entries}
    shown = {c.get_attribute("data-key") for c in page.locator("#draft-sources .source-card").all()}
    assert (
        keys == shown
        and download.value.suggested_filename == "related-work-facial-expression-recognition.bib"
    )
