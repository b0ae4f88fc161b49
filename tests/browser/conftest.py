"""The chat UI started the documented way (`litassist ui`) on a free loopback port, over a copy of
the 60-paper listing library and the scripted OpenAI-compatible server, driven by Debian's
headless Chromium through Playwright (which never downloads a browser of its own here).

Screenshots go to one temporary folder per run (its path is printed); look at them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BIN, free_port, stop, wait_for
from tests.openai_server import OpenAIServer, serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UPLOAD_LIMIT_MB = 1


@pytest.fixture(scope="package")
def scripted() -> Iterator[OpenAIServer]:
    with serve_in_thread() as server:
        server.token_delay = 0.03  # a model's pace, so that the answer visibly streams
        yield server


@pytest.fixture(scope="package")
def app_url(
    tmp_path_factory: pytest.TempPathFactory, listing_library: Path, scripted: OpenAIServer
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("ui") / "library"
    shutil.copytree(listing_library, folder)
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LITASSIST_"))},
        "LITASSIST_LLM__BASE_URL": scripted.url,
        "LITASSIST_LLM__MODEL": "fake-chat",
        "LITASSIST_LLM__MAX_RETRIES": "0",
        "LITASSIST_UI__MAX_UPLOAD_MB": str(UPLOAD_LIMIT_MB),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_TEMP_DIR": str(folder.parent / "gradio"),
    }
    log_path = folder.parent / "ui.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "litassist"), "--library", str(folder), "ui", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/", process, log_path, timeout=120)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop(process)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium; `make test` installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nUI screenshots: {folder}")
    return folder
