"""Extractive conversations in a real browser (issue 19): a second question about something else
is answered from its own papers, not from the first question's; a definition question is
answered with the sentence that defines its subject; every answer says what was searched, a
carried-on question can be asked again as a new one, and a refused one can be answered anyway."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.extractive import defines

pytestmark = [pytest.mark.browser, pytest.mark.integration]

BOT = "#chat [data-testid='bot']"
WAIT_MS = 60_000
FIRST = "Which models recognise facial expressions?"
UNRELATED = "What is MaskGWM?"  # a driving world model: nothing to do with faces
FOLLOW_UP = "How is it evaluated?"
OFF_TOPIC = "How do seismographs locate the epicentre of an earthquake?"  # no paper on it


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A session switched to extractive mode under Settings."""
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    page.goto(app_url)
    page.wait_for_selector("#question textarea:enabled")
    page.wait_for_function("() => document.querySelector('#mode-banner')?.innerText.includes('writes')")
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("Extractive: no language model").check()
    page.click("#apply-endpoint")
    page.wait_for_function(
        "() => document.querySelector('#mode-banner').innerText.includes('Extractive mode')", timeout=WAIT_MS
    )
    page.get_by_role("tab", name="Chat").click()
    yield page
    context.close()


def ask(page: Any, question: str, answers: int) -> str:
    """Ask, wait until the ``answers``-th answer says what it searched for, return its text."""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    return finished(page, answers)


def finished(page: Any, answers: int, without: str = "\u0000") -> str:
    page.wait_for_function(
        """([n, without]) => {
            const bots = document.querySelectorAll("#chat [data-testid='bot']");
            return bots.length >= n && bots[n - 1].innerText.includes("Searched for:")
                && !bots[n - 1].innerText.includes(without);
        }""",
        arg=[answers, without],
        timeout=WAIT_MS,
    )
    return str(page.locator(BOT).nth(answers - 1).inner_text())


def searched(answer: str) -> str:
    return answer.rsplit("Searched for:", 1)[1].strip()


def latest_cards(page: Any) -> str:
    return str(page.inner_text("#sources")).split("Earlier in this conversation")[0]


def test_an_unrelated_question_is_answered_from_its_own_papers(page: Any, screenshots: Path) -> None:
    first = ask(page, FIRST, 1)
    assert searched(first) == FIRST
    second = ask(page, UNRELATED, 2)
    assert searched(second) == UNRELATED  # not the facial-expression question's words
    assert "MaskGWM" in latest_cards(page) and "facial" not in second.lower()
    # a definition question: the sentence that says what MaskGWM is
    claims = [s for s in re.split(r"(?<=\])\.\s*", second.split("🔎")[0]) if "MaskGWM" in s]
    assert claims and defines(claims[0], "MaskGWM")
    assert not page.locator("#ask-anew").is_visible()
    page.screenshot(path=screenshots / "chat-unrelated-question.png")

    third = ask(page, FOLLOW_UP, 3)
    assert searched(third) == f"{UNRELATED} {FOLLOW_UP} (carried on from the previous question)"
    page.click("#ask-anew")  # one click: the same question, searched on its own
    again = finished(page, 3, without="carried on")
    assert searched(again) == FOLLOW_UP
    assert page.locator(BOT).count() == 3  # the follow-up's answer replaced, not added
    page.screenshot(path=screenshots / "chat-asked-anew.png")


def test_a_refused_question_can_be_answered_anyway(page: Any, screenshots: Path) -> None:
    refused = ask(page, OFF_TOPIC, 1)
    assert "do not answer this" in refused and "Refused before any model was asked" in refused
    page.click("#answer-anyway")  # one click: answered from the nearest papers, and says so
    answer = finished(page, 1, without="do not answer this")
    assert answer.startswith("⚠️ Asked anyway, although the evidence judgement would refuse it")
    assert re.search(r"\[\d+\]", answer) and page.locator(BOT).count() == 1  # the refusal replaced
    assert not page.locator("#answer-anyway").is_visible()
    page.screenshot(path=screenshots / "chat-answered-anyway.png")
