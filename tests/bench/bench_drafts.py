"""Related-work drafts on the development topics, over the seed papers.

    .venv/bin/python tests/bench/bench_drafts.py [--library DIR] [--llm URL | --no-llm] [--details]

Builds (or reuses, with ``--library``) the seeds library, drafts each topic of
``../shared/eval/dev_topics.jsonl`` and prints, per topic and mode: recall of the topic's ``core``
papers and of all its ``gold`` papers among the cited keys, precision of the cited keys against
``gold``, citation validity (every citation in the markdown resolves to a passage its writer was
given), the share of sentences with at least one citation, words and seconds. Extractive mode
always; LLM mode against ``--llm URL`` (an OpenAI-compatible endpoint), or else against the packaged
SmolLM2 served by llama.cpp when it is installed (started here on a free port, stopped by PID).
"""

from __future__ import annotations

import argparse
import json
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
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, SEEDS, slug_map  # noqa: E402

from assistant import Library  # noqa: E402
from assistant.citations import find_citations  # noqa: E402
from assistant.draft import Draft  # noqa: E402
from assistant.llm import ChatModel  # noqa: E402


def measure(draft: Draft, topic: dict, slugs: dict[str, str], seconds: float) -> dict[str, float]:
    cited = {slugs.get(k, k) for k in draft.cited_keys}
    gold, core = set(topic["gold"]), set(topic["core"])
    groups = [
        (g, {p.key for p in section.passages})
        for section in draft.sections
        for g in find_citations(section.checked.raw_text, {p.key for p in section.passages})
    ]
    keys = [(k, given) for g, given in groups for k in g.kept]
    valid = sum(k in given for k, given in keys) / len(keys) if keys else float("nan")  # no citation
    sentences = draft.sentences
    return {
        "core": len(cited & core) / len(core),
        "recall": len(cited & gold) / len(gold),
        "precision": len(cited & gold) / len(cited) if cited else 0.0,
        "validity": valid,
        "cited sentences": sum(s.cited for s in sentences) / len(sentences) if sentences else 0.0,
        "dropped": len(draft.dropped_citations),
        "words": len(draft.text.split()),
        "seconds": seconds,
    }


COLUMNS = ("core", "recall", "precision", "validity", "cited sentences", "dropped", "words", "seconds")


def run(
    library: Library, topics: list[dict], slugs: dict[str, str], mode: str, console: Console, details: bool
):
    rows = []
    for topic in topics:
        start = time.perf_counter()
        draft = library.related_work(topic["topic"], mode=mode)  # type: ignore[arg-type]
        rows.append(measure(draft, topic, slugs, time.perf_counter() - start))
        if details:
            cited = {slugs.get(k, k) for k in draft.cited_keys}
            console.print(f"[bold]{topic['topic']}[/] ({mode})")
            console.print(
                f"  outline: {[(t.name, [slugs.get(k, k) for k in t.keys]) for t in draft.outline]}"
            )
            gold = set(topic["gold"])
            console.print(f"  missed: {sorted(gold - cited)}; not gold: {sorted(cited - gold)}")
            if draft.notes:
                console.print(f"  notes: {draft.notes}")
    return rows


def table(title: str, topics: list[dict], rows: list[dict[str, float]]) -> Table:
    result = Table(title=title)
    result.add_column("topic", no_wrap=True, max_width=40)
    for column in COLUMNS:
        result.add_column(column, justify="right")

    def fmt(column: str, value: float) -> str:
        if value != value:  # nan: nothing to measure (a draft without citations)
            return "–"
        if column in ("dropped", "words"):
            return f"{value:.0f}"
        return f"{value:.1f}" if column == "seconds" else f"{value:.2f}"

    for topic, row in zip(topics, rows, strict=True):
        result.add_row(topic["topic"][:48], *(fmt(c, row[c]) for c in COLUMNS))
    means = {c: _mean([r[c] for r in rows]) for c in COLUMNS}
    result.add_row("[bold]mean[/]", *(fmt(c, means[c]) for c in COLUMNS))
    return result


def _mean(values: list[float]) -> float:
    known = [v for v in values if v == v]
    return sum(known) / len(known) if known else float("nan")


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
    topics = [json.loads(line) for line in (EVAL / "dev_topics.jsonl").open()]
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(args.library or Path(tmp) / "seeds")
        if len(library) == 0:
            console.print(f"built the seeds library: {len(library.add(SEEDS).added)} papers")
        slugs = slug_map(library)
        rows = run(library, topics, slugs, "extractive", console, args.details)
        console.print(table("Related-work drafts, extractive mode (dev topics)", topics, rows))
        if args.no_llm:
            return
        with local_llm(console) if not args.llm else _given(args.llm) as url:
            if url is None:
                return
            library._chat = ChatModel(base_url=url, model=args.model, max_tokens=700, timeout=600)
            library.__dict__.pop("chat", None)
            rows = run(library, topics, slugs, "llm", console, args.details)
            console.print(table(f"Related-work drafts, LLM mode ({args.model} at {url})", topics, rows))


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
