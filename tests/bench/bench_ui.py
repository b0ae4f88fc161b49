"""The latency the chat UI adds to the first streamed token, over the bare endpoint's own.

    .venv/bin/python tests/bench/bench_ui.py [--library DIR] [--llm URL --model NAME] [--questions N]

Target: under 150 ms added at the sample corpus size (the 250 ACL papers of the ``aclsum``
package). For each of N questions (after 2 warm-up questions) it times:

* endpoint: the bare endpoint's first token: ``ChatModel.stream`` on the messages the answerer
  sends (the ``answer`` prompt over the passages the retriever finds), from the call to the first
  non-empty delta;
* retrieval: ``retriever.retrieve(question, k=5)`` (query embedding and hybrid search), for the
  breakdown;
* handler: ``Handlers.chat`` called directly (no HTTP, no browser), from the call to the first
  turn whose reply is not empty;
* UI: the Gradio app launched in-process on a free loopback port and driven by Playwright with
  Debian's chromium (``/usr/bin/chromium``; Playwright never downloads a browser). In the page,
  a MutationObserver on ``#chat`` notes (``performance.now()``) when the last assistant message
  first holds text, and a listener on ``#ask`` when it was clicked;
* added: UI − endpoint, per question: retrieval, the prompt, the handler, Gradio's queue and
  its stream to the page, and the page's rendering.

A second table splits the UI's time by wall clock (the page's and the app's, one machine): the
click until the app's handler is called, the handler until its first reply is yielded, that
until the page's DOM shows it, and that until the next frame is drawn.

Each question goes to the browser first (as a reader asks it), then to the bare endpoint and
the handler with a line of their own at the start of the prompt, so that a server's prompt cache
cannot serve their runs from the browser's. Every question is a first question (a new
conversation each time). Questions are made from the
library's own paper titles ("What does the paper on <title> propose?"), drawn with a seed, and
only those the evidence judgement lets through to the model are kept. The library is copied to a
temporary folder first (the app writes an ``uploads/`` folder into its library). The default
endpoint is the scripted OpenAI-compatible server of ``tests/openai_server.py``, in-process, with
20 ms between streamed tokens; ``--llm`` points at a real one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import queue
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# before gradio is imported (by ui.app): no analytics, no Hugging Face Hub calls
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import aclsum
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import prompts  # noqa: E402
import ui.app  # noqa: E402
from assistant import Library, Settings  # noqa: E402
from assistant.answer import _shown, select_passages  # noqa: E402 - the answerer's own prompt input
from assistant.llm import ChatModel, ChatStream, Messages  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402 - the tests' browser
from tests.openai_server import serve_in_thread  # noqa: E402
from ui.handlers import ChatTurn, Handlers  # noqa: E402

ACL = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"
TARGET_MS = 150.0
WARMUP = 2
K = 5
TOKEN_DELAY = 0.02  # the scripted server's pace: 20 ms between streamed pieces
BOT = '[data-testid="bot"]'  # an assistant message in Gradio 6's chatbot

# Installed in the page before each click: when #ask is clicked, when the last assistant message
# of #chat first holds text (the DOM, before paint), the next frame after that, and the last
# change to #chat (to know when the answer has stopped moving). Times are performance.now();
# `origin` turns them into wall-clock milliseconds.
OBSERVE = """(bot) => {
  if (window.__benchObserver) window.__benchObserver.disconnect();
  const chat = document.querySelector('#chat');
  const mark = window.__bench = {
    origin: performance.timeOrigin, click: null, first: null, painted: null, changed: performance.now()
  };
  document.querySelector('#ask').addEventListener(
    'click', () => { mark.click = performance.now(); }, {capture: true, once: true});
  window.__benchObserver = new MutationObserver(() => {
    const now = performance.now();
    mark.changed = now;
    if (mark.first === null && mark.click !== null) {
      const bots = chat.querySelectorAll(bot);
      const last = bots[bots.length - 1];
      if (last && last.textContent.trim()) {
        mark.first = now;
        requestAnimationFrame(() => { mark.painted = performance.now(); });
      }
    }
  });
  window.__benchObserver.observe(chat, {childList: true, subtree: true, characterData: true});
}"""


# -- the questions -----------------------------------------------------------------------------


def questions(library: Library, n: int, seed: int) -> list[str]:
    """``n`` questions from the library's paper titles (papers without one: the start of the
    abstract), drawn with ``seed``; only those the evidence judgement sends to the model."""
    papers = sorted(library.papers(), key=lambda p: p.key)
    titled = [p for p in papers if p.title]
    pool = titled if len(titled) >= n else papers
    random.Random(seed).shuffle(pool)
    chosen = []
    for paper in pool:
        subject = paper.title or paper.label.rstrip(" …")
        question = f"What does the paper on {subject.rstrip('.')} propose?"
        if library.retriever.retrieve(question, k=K).evidence.answerable:
            chosen.append(question)
            if len(chosen) == n:
                return chosen
    raise SystemExit(f"only {len(chosen)} of the library's papers give answerable questions; need {n}")


# -- the three in-process measurements ---------------------------------------------------------


class FreshPrompts(ChatModel):
    """The same model at the same endpoint, with a line of its own at the start of every user
    message. The answer prompt puts the passages first and the question last, so a server that
    caches prompts (llama.cpp's server keeps the last one, vLLM and OpenAI cache prefixes) would
    serve a question's second and third runs from the first one's cache; with this line only the
    system prompt, which every real question shares too, can come from a cache."""

    def __init__(self, chat: ChatModel):
        super().__init__(
            base_url=chat.base_url,
            model=chat.model,
            temperature=chat.temperature,
            max_tokens=chat.max_tokens,
            client=chat.client,
        )

    def stream(self, messages: Messages, *, max_tokens: int | None = None) -> ChatStream:
        nonce = f"(benchmark request {uuid.uuid4().hex[:12]})\n\n"
        fresh = [{**m, "content": nonce + m["content"]} if m["role"] == "user" else m for m in messages]
        return super().stream(fresh, max_tokens=max_tokens)


def endpoint_first_token(library: Library, chat: ChatModel, question: str) -> tuple[float, float]:
    """(retrieval seconds, the endpoint's first-token seconds) for ``question``: the endpoint gets
    exactly the messages the answerer would send for a first question."""
    start = time.perf_counter()
    retrieval = library.retriever.retrieve(question, k=K)
    retrieval_s = time.perf_counter() - start
    papers = {h.paper.key: h.paper for h in retrieval.hits}
    passages = [_shown(p, papers) for p in select_passages(retrieval.hits)]
    messages = prompts.load("answer").messages(question=question, passages=passages)
    start = time.perf_counter()
    first = None
    for delta in chat.stream(messages):
        if first is None and delta.strip():
            first = time.perf_counter() - start
    if first is None:
        raise RuntimeError(f"{chat.describe()} streamed no text for {question!r}")
    return retrieval_s, first


def handler_first_token(handlers: Handlers, question: str) -> float:
    """``Handlers.chat`` from the call to the first turn with reply text (read to its end)."""
    start = time.perf_counter()
    first = None
    for turn in handlers.chat(question, [], [], None):
        if first is None and _reply(turn):
            first = time.perf_counter() - start
    if first is None:
        raise RuntimeError(f"the chat handler gave no reply to {question!r}")
    return first


def _reply(turn: ChatTurn) -> str:
    last = turn.messages[-1] if turn.messages else {}
    return str(last.get("content") or "").strip() if last.get("role") == "assistant" else ""


# -- the browser -------------------------------------------------------------------------------


class TracedHandlers(Handlers):
    """The app's handlers, noting for each chat (wall clock, ms) when it was called, when it
    yielded its first reply text and when it ended: the app's side of the browser's timings,
    and the sign that an answer is complete."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.chats: queue.Queue[tuple[float, float | None, float]] = queue.Queue()

    def chat(self, *args: Any, **kwargs: Any) -> Iterator[ChatTurn]:
        called, first = time.time() * 1000, None
        try:
            for turn in super().chat(*args, **kwargs):
                if first is None and _reply(turn):
                    first = time.time() * 1000
                yield turn
        finally:
            self.chats.put((called, first, time.time() * 1000))


@contextmanager
def running_app(library: Library) -> Iterator[tuple[str, TracedHandlers]]:
    """``ui.app.launch`` on a free loopback port, with ``TracedHandlers``; closed on exit."""
    port = free_port()
    traced = TracedHandlers(library, uploads=ui.app.uploads_for(library), files_route=ui.app.FILES_ROUTE)
    with contextlib.redirect_stdout(io.StringIO()):  # Gradio's "Running on local URL" lines
        app = ui.app.launch(library, host="127.0.0.1", port=port, block=False, handlers=traced)
    try:
        yield f"http://127.0.0.1:{port}/", traced
    finally:
        with contextlib.redirect_stdout(io.StringIO()):
            app.close()


class Browser:
    """One page of the app in headless chromium; ``ask`` times one question."""

    def __init__(self, page: Any, handlers: TracedHandlers, timeout: float):
        self.page = page
        self.handlers = handlers
        self.timeout = timeout

    def ask(self, question: str) -> dict[str, float]:
        page, ms = self.page, self.timeout * 1000
        page.evaluate(OBSERVE, BOT)
        page.fill("#question textarea", question)
        page.click("#ask")
        page.wait_for_function("window.__bench.painted !== null", timeout=ms)
        # the whole answer before the next question: the app's chat has ended, and #chat has
        # stopped changing (the last turn is on screen)
        called, yielded, _ = self.handlers.chats.get(timeout=self.timeout)
        page.wait_for_function("performance.now() - window.__bench.changed > 250", timeout=ms, polling=50)
        mark = page.evaluate("window.__bench")
        page.click("#new-conversation")  # so that the next question is a first question too
        page.wait_for_function(
            f"!document.querySelector('#chat {BOT}') && !!document.querySelector('#sources .sources-empty')",
            timeout=ms,
        )
        wall = mark["origin"]
        assert yielded is not None, f"the app gave no reply to {question!r}"
        return {
            "ui": (mark["first"] - mark["click"]) / 1000,
            "click → handler": (called - (wall + mark["click"])) / 1000,
            "handler → yielded": (yielded - called) / 1000,
            "yielded → DOM": ((wall + mark["first"]) - yielded) / 1000,
            "DOM → next frame": (mark["painted"] - mark["first"]) / 1000,
        }


@contextmanager
def browser_on(url: str, handlers: TracedHandlers, timeout: float) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium (Playwright's own is never used)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector("#question textarea", timeout=timeout * 1000)
            yield Browser(page, handlers, timeout)
        finally:
            browser.close()


# -- the run -----------------------------------------------------------------------------------


def measure(
    library: Library, chat: ChatModel, asked: list[str], timeout: float, console: Console
) -> dict[str, list[float]]:
    """Every question through the four paths: the browser first, as a reader asks it, then the
    bare endpoint and the handler with prompts no server can have cached; the first ``WARMUP``
    questions are not kept."""
    fresh = FreshPrompts(chat)
    handlers = Handlers(library.using(fresh), uploads=ui.app.uploads_for(library))
    seconds: dict[str, list[float]] = {}
    with running_app(library) as (url, traced), browser_on(url, traced, timeout) as browser:
        for i, question in enumerate(asked):
            row = browser.ask(question)  # first, as a reader asks it
            retrieval, endpoint = endpoint_first_token(library, fresh, question)
            row |= {
                "endpoint": endpoint,
                "retrieval": retrieval,
                "handler": handler_first_token(handlers, question),
            }
            row["added"] = row["ui"] - row["endpoint"]
            warm = i < WARMUP
            console.print(
                f"[dim]{'warm-up' if warm else f'{i - WARMUP + 1:>3}'}  "
                f"endpoint {1000 * endpoint:6.0f} ms  UI {1000 * row['ui']:6.0f} ms  {question[:90]}[/]"
            )
            if not warm:
                for name, value in row.items():
                    seconds.setdefault(name, []).append(value)
    return seconds


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks."""
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def stats_table(title: str, rows: list[tuple[str, list[float]]]) -> Table:
    table = Table(title=title)
    for column in ("", "p50 ms", "p95 ms", "mean ms"):
        table.add_column(column, justify="right" if column else "left")
    for name, values in rows:
        table.add_row(
            name,
            *(f"{1000 * v:.0f}" for v in (percentile(values, 0.5), percentile(values, 0.95))),
            f"{1000 * statistics.fmean(values):.0f}",
        )
    return table


def report(seconds: dict[str, list[float]], header: str, console: Console) -> None:
    console.print(header)
    console.print(
        stats_table(
            "First streamed token",
            [
                ("endpoint", seconds["endpoint"]),
                ("retrieval", seconds["retrieval"]),
                ("handler", seconds["handler"]),
                ("UI (browser)", seconds["ui"]),
                ("[bold]added (UI − endpoint)[/]", seconds["added"]),
            ],
        )
    )
    parts = ("click → handler", "handler → yielded", "yielded → DOM", "DOM → next frame")
    console.print(stats_table("Where the UI's first-token time goes", [(p, seconds[p]) for p in parts]))
    p50, p95 = percentile(seconds["added"], 0.5), percentile(seconds["added"], 0.95)
    verdict = "[green]within[/]" if p95 < TARGET_MS / 1000 else "[red]over[/]"
    console.print(
        f"added: p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms: "
        f"{verdict} the target (< {TARGET_MS:.0f} ms at p95)"
    )


# -- the library and the endpoint --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def open_copy(source: Path, workdir: Path, chat: ChatModel, build: bool, console: Console) -> Library:
    """A copy of the library at ``source``, opened with ``chat``, so that the benchmark never
    writes into the library itself (an empty one is built first with ``--build``)."""
    target = workdir / "library"
    if (source / "chroma").is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("uploads", ".write.lock"))
        library = Library(target, chat=chat)
        if len(library) > 0:
            return library
    if not build:
        raise SystemExit(
            f"{source} holds no papers. Build it once (about ten minutes on two cores) with\n"
            f"  .venv/bin/litassist --library {source} add {ACL}\n"
            "or run this benchmark with --build to do it."
        )
    console.print(f"building {source} from the sample corpus ({ACL}); this takes a while once")
    added = Library(source).add(ACL)
    console.print(f"added {len(added.added)} papers, {len(added.failed)} failed")
    shutil.rmtree(target, ignore_errors=True)
    return open_copy(source, workdir, chat, build=False, console=console)


@contextmanager
def chat_endpoint(args: argparse.Namespace, settings: Settings) -> Iterator[tuple[ChatModel, str]]:
    """The chat model to time and a line describing it: ``--llm`` (with the configured key,
    temperature and token limit), or else the scripted server, in a thread."""
    if args.llm:
        update = {"base_url": args.llm, "mode": "auto", **({"model": args.model} if args.model else {})}
        chat = ChatModel.from_settings(settings.llm.model_copy(update=update))
        yield chat, f"endpoint {chat.base_url}, model {chat.model}"
        return
    with serve_in_thread() as server:
        server.token_delay = TOKEN_DELAY
        yield (
            ChatModel(base_url=server.url, model="fake-chat"),
            f"endpoint: the scripted server of tests/openai_server.py at {server.url} "
            f"({1000 * TOKEN_DELAY:.0f} ms between tokens; --llm for a real one)",
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--library",
        type=Path,
        help="the library to ask (copied first; default: the configured one, where `make run` "
        "puts the sample corpus)",
    )
    parser.add_argument("--build", action="store_true", help="add the sample corpus to an empty --library")
    parser.add_argument("--llm", help="an OpenAI-compatible base URL (default: the scripted test server)")
    parser.add_argument("--model", help="the model name at --llm (default: the configured one)")
    parser.add_argument("--questions", type=int, default=10, help="questions timed, after 2 warm-up ones")
    parser.add_argument("--seed", type=int, default=0, help="which papers the questions are drawn from")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer")
    args = parser.parse_args()
    if args.questions < 1:
        parser.error("--questions must be at least 1")
    console = Console(width=150)
    settings = Settings()
    source = (args.library or settings.library).expanduser().resolve()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp, chat_endpoint(args, settings) as found:
        chat, where = found
        library = open_copy(source, Path(tmp), chat, args.build, console)
        asked = questions(library, args.questions + WARMUP, args.seed)
        header = (
            f"library {source}: {len(library)} papers, {library.store.count_chunks()} chunks\n"
            f"{where}\n"
            f"{args.questions} questions (after {WARMUP} warm-up ones); "
            f"target: < {TARGET_MS:.0f} ms added (UI − endpoint)"
        )
        seconds = measure(library, chat, asked, args.timeout, console)
        report(seconds, header, console)


if __name__ == "__main__":
    main()
