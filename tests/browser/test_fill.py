"""The UI while the sample library fills in the background: it answers at once, the banner
shows the fill's progress as it goes (refreshed on the open page), answers say the library is
still filling. A small app (tests/browser/fill_app.py) over three of the sample papers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aclsum
import pytest

from tests.conftest import free_port, stop, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ACL_PAPERS = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"
ROOT = Path(__file__).parents[2]
PAPERS = 3
WAIT_MS = 60_000


@pytest.fixture
def filling(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The small app of tests/browser/fill_app.py on a free port: its URL and its gate file."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(ACL_PAPERS.glob("*.json"))[:PAPERS]:
        shutil.copy(path, corpus / path.name)
    port, gate, library = free_port(), tmp_path / "gate", tmp_path / "library"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LITASSIST_"))},
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_TEMP_DIR": str(tmp_path / "gradio"),
    }
    log_path = tmp_path / "ui.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.fill_app", str(library), str(corpus), str(port), str(gate)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=ROOT,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/", process, log_path, timeout=120)
            yield f"http://127.0.0.1:{port}/", gate
        finally:
            gate.touch()
            stop(process)


def test_the_ui_answers_while_the_sample_fills_and_shows_its_progress(
    browser: Any, filling: tuple[str, Path], screenshots: Path
) -> None:
    url, gate = filling
    context = browser.new_context(viewport={"width": 1400, "height": 950})
    page = context.new_page()
    page.goto(url)
    # the abstracts are in, the full texts held back: the banner says so (refreshed by the page)
    page.wait_for_function(
        f"() => document.querySelector('#mode-banner')?.innerText.includes("
        f"'{PAPERS}/{PAPERS} abstracts in, 0/{PAPERS} full texts')",
        timeout=WAIT_MS,
    )
    assert "sample library filling" in page.inner_text("#mode-banner")
    files = sorted(ACL_PAPERS.glob("*.json"))[:PAPERS]
    title = json.loads(files[0].read_text())["title"]
    names = [f.name for f in files]
    page.fill("#question textarea", f"What does {title} propose?")
    page.press("#question textarea", "Enter")
    bot = page.locator("#chat [data-testid='bot']").first
    page.wait_for_function(
        "() => document.querySelector(\"#chat [data-testid='bot']\")?.innerText.includes('still filling')",
        timeout=WAIT_MS,
    )
    answer = bot.inner_text()
    assert f"0/{PAPERS} full texts" in answer and "[1]" in answer  # an answer, cited, with the note
    page.screenshot(path=str(screenshots / "fill-half-done.png"))
    gate.touch()
    page.wait_for_function(
        f"() => document.querySelector('#mode-banner')?.innerText.includes("
        f"'sample library filled: {PAPERS}/{PAPERS}')",
        timeout=WAIT_MS,
    )
    page.get_by_role("tab", name="Library").click()
    listed = page.inner_text("#papers")  # the table was refreshed as the fill went
    assert all(name in listed for name in names), listed
    context.close()
