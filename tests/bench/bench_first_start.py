"""The first start, as `make run` makes it: `litassist ui --sample-corpus` over an empty library.

    .venv/bin/python tests/bench/bench_first_start.py [--limit SECONDS] [--port PORT]

Targets: the UI answers HTTP 200 within 60 s of the command, and a search for a sample paper's
title finds it within 2 minutes. It times, from the start of the command (a fresh library in a
temporary folder, the app in a process of its own, as a user starts it):

* HTTP 200: the first page served;
* title found: the title of the paper whose abstract comes in the fill's *last* batch, asked in
  the chat (in Debian's chromium through Playwright) every 10 s until the sources panel shows it;
* abstracts: the banner says all 250 abstracts are in;
* full texts: the banner says the library is filled (or ``--limit`` ran out: the count reached).

The machine's load average is printed with each step: on a shared machine it says more about the
times than the code does. The app is stopped with Ctrl-C (SIGINT) at the end, as a user stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aclsum
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).parents[2]
LITASSIST = ROOT / ".venv" / "bin" / "litassist"
ACL = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"
ASKED = "#chat [data-testid='bot']"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=float, default=3600.0, help="stop after this many seconds")
    parser.add_argument("--port", type=int, default=7951)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    console = Console()
    title = json.loads(sorted(ACL.glob("*.json"))[-1].read_text())["title"]
    times: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="litassist-first-start-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LITASSIST_", "OPENAI_"))}
        env.update(LITASSIST_LIBRARY=str(Path(folder) / "library"), GRADIO_ANALYTICS_ENABLED="False")
        env.update(HF_HUB_OFFLINE="1", LITASSIST_UI__PORT=str(args.port))
        started = time.monotonic()
        # SIGINT restored: a process started in the background ignores it, and Ctrl-C ends the run
        restore = (
            "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            "os.execv(sys.argv[1], sys.argv[1:])"
        )
        command = [sys.executable, "-c", restore, str(LITASSIST), "ui", "--sample-corpus"]
        log = (Path(folder) / "ui.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

        def note(what: str) -> None:
            times[what] = (time.monotonic() - started, os.getloadavg()[0])
            console.print(f"{times[what][0]:7.1f} s  {what} (load {times[what][1]:.1f})")

        url = f"http://127.0.0.1:{args.port}/"
        line: list[str] = []
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    raise SystemExit((Path(folder) / "ui.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        note("HTTP 200")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page()
                page.goto(url)
                page.wait_for_selector("#mode-banner")
                asked = 0
                while time.monotonic() - started < args.limit:
                    banner = page.inner_text("#mode-banner")
                    if "abstracts" not in times and "250/250 abstracts" in banner:
                        note("abstracts")
                    if "full texts" not in times and "filled" in banner:
                        note("full texts")
                        break
                    if "title found" not in times:
                        asked += 1
                        page.fill("#question textarea", title)
                        page.press("#question textarea", "Enter")
                        page.wait_for_function(
                            "([selector, n]) => document.querySelectorAll(selector).length >= n",
                            arg=[ASKED, asked],
                            timeout=300_000,
                        )
                        page.wait_for_timeout(2000)  # the sources panel follows the finished answer
                        if title.lower()[:40] in page.inner_text("#sources").lower():
                            note("title found")
                    page.wait_for_timeout(10_000)
                line = [x for x in page.inner_text("#mode-banner").splitlines() if "sample library" in x]
                browser.close()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(120)
            log.close()
    table = Table(title="First start: `litassist ui --sample-corpus` on an empty library")
    for column in ("step", "seconds from the command", "load average then"):
        table.add_column(column)
    for what, (seconds, load) in times.items():
        table.add_row(what, f"{seconds:.1f}", f"{load:.1f}")
    console.print(table)
    if "full texts" not in times and line:
        console.print(f"at the limit: {line[0][:100]}")


if __name__ == "__main__":
    main()
