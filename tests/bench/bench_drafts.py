"""Related-work drafts on the development topics, over the seed papers.

    .venv/bin/python tests/bench/bench_drafts.py [--library DIR] [--llm URL | --no-llm] [--details]

Builds (or reuses, with ``--library``) the seeds library, drafts each topic of
``../shared/eval/dev_topics.jsonl`` and prints, per topic and mode: recall of the topic's ``core``
papers and of all its ``gold`` papers among the cited keys, precision of the cited keys against
``gold``, citation validity (every citation in the markdown resolves to a passage its writer was
given), the share of sentences with at least one citation, support, words and seconds
(``evaluation.evaluate_drafts``, what ``litassist eval drafts`` runs). Extractive mode
always; LLM mode against ``--llm URL`` (an OpenAI-compatible endpoint), or else against the packaged
SmolLM2 served by llama.cpp when it is installed (started here on a free port, stopped by PID).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, seeds_library  # noqa: E402

from assistant import evaluation  # noqa: E402
from assistant.evaluation import DraftsReport, report  # noqa: E402
from assistant.llm import ChatModel  # noqa: E402


def show(result: DraftsReport, console: Console, details: bool) -> None:
    for table in report.tables(result):
        console.print(table)
    for note in report.notes(result):
        console.print(f"[yellow]{note}[/yellow]")
    for case in result.cases if details else []:
        console.print(f"[bold]{case.topic.topic}[/] ({result.mode})")
        console.print(f"  outline: {case.outline}")
        missed = [g for g in case.gold if g not in case.cited]
        console.print(f"  missed: {missed}; not gold: {[c for c in case.cited if c not in case.gold]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_llm(console: Console) -> Iterator[str | None]:
    """The packaged SmolLM2 behind llama.cpp's server, when installed."""
    from assistant.errors import LitassistError
    from assistant.local_server import server_command

    try:
        port = _free_port()
        command = server_command(port=port, context=8192)
    except LitassistError as e:
        console.print(f"LLM mode skipped: {e}")
        yield None
        return
    with tempfile.NamedTemporaryFile(prefix="llama-", suffix=".log") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/v1"
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"{url}/models", timeout=1)
                    break
                except OSError:
                    if process.poll() is not None:
                        tail = Path(log.name).read_text()[-2000:]
                        raise RuntimeError(f"llama.cpp's server stopped: {tail}") from None
                    time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument(
        "--llm", help="an OpenAI-compatible base URL for the LLM mode (default: local SmolLM2)"
    )
    parser.add_argument("--model", default="smollm2-135m-instruct", help="the model name at --llm")
    parser.add_argument("--no-llm", action="store_true", help="extractive mode only")
    parser.add_argument("--details", action="store_true", help="print each topic's outline and misses")
    args = parser.parse_args()
    console = Console(width=150)
    topics = EVAL / "dev_topics.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        show(evaluation.evaluate_drafts(library, topics, mode="extractive"), console, args.details)
        if args.no_llm:
            return
        with local_llm(console) if not args.llm else _given(args.llm) as url:
            if url is None:
                return
            chat = ChatModel(base_url=url, model=args.model, max_tokens=700, timeout=600)
            show(evaluation.evaluate_drafts(library.using(chat), topics, mode="llm"), console, args.details)


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
