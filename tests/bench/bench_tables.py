"""Comparison tables (``Library.compare``) against a gold file written by hand from the abstracts.

    .venv/bin/python tests/bench/bench_tables.py [--cache DIR] [--local] [--base-url URL --model M]

Runs, each extractively and (with ``--local``: SmolLM2-135M through `litassist serve-local`; or
any endpoint with ``--base-url``) with a model:

- ``fer``: the facial-expression topic of ``../shared/eval/dev_topics.jsonl`` over the seeds,
  the papers chosen by the topic;
- ``fer (gold papers)``: the same, from exactly the topic's gold papers (``keys``): what the
  cells are worth when the papers are the right ones;
- ``pos``: "part-of-speech tagging accuracy" over the sample corpus (aclsum's 250 papers, full
  text).

Printed per run: papers read, rows, cells (every one re-checked here: its sentence is in its
passage and its numbers in its sentence), cells dropped, empty cells, and recall and precision
of (paper, dataset, metric, value) tuples against ``tests/data/table_gold.jsonl``. The gold
holds every exact result the abstracts of the papers read report (a change such as "improves by
0.21%", a bound such as "over 97%" or a confidence level is not a result); a gold dataset or
metric of null means the abstract names none for that value, and the row must leave it empty
too. Precision is measured on the rows read from abstracts (the gold's scope); rows from the
body of a full text are counted apart, unjudged. A metric matches its acronym as the papers
define it ("WAR" = "weighted average recall"), and its name written with the acronym
("weighted average recall (WAR)").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_llm import served  # noqa: E402
from bench_retrieval import EVAL, sample_library, seeds_library  # noqa: E402

from assistant import Library, Table  # noqa: E402
from assistant.evaluation import Resolver, aliases  # noqa: E402
from assistant.settings import LLMSettings  # noqa: E402
from assistant.tables import numbers_in, numbers_supported, same_number  # noqa: E402
from store.acronyms import mine  # noqa: E402

GOLD = ROOT / "tests" / "data" / "table_gold.jsonl"
POS_QUERY = "part-of-speech tagging accuracy"


@dataclass
class Run:
    name: str
    library: Library
    target: str | list[str]
    gold: list[dict[str, Any]]  # with "key" resolved


def _norm(text: str | None) -> str:
    return re.sub(r"[^0-9a-z+]+", "", (text or "").lower())


def _metric(name: str | None, acronyms: dict[str, str]) -> str:
    text = (name or "").strip()
    text = re.sub(r"\s*\([^()]{1,12}\)$", "", text) or text  # "weighted average recall (WAR)"
    text = acronyms.get(text.lower(), text)
    return re.sub(r"(scores?|rate)$", "", _norm(text)) or _norm(text)


def _same_value(a: str, b: str) -> bool:
    x, y = numbers_in(a), numbers_in(b)
    return len(x) == len(y) > 0 and all(same_number(p, q) for p, q in zip(x, y, strict=True))


def _matches(row: dict[str, Any], gold: dict[str, Any], acronyms: dict[str, str]) -> bool:
    if row["key"] != gold["key"] or not _same_value(row["value"], gold["value"]):
        return False
    if (row["dataset"] is None) != (gold["dataset"] is None) or (row["metric"] is None) != (
        gold["metric"] is None
    ):
        return False
    if gold["dataset"] is not None:
        a, b = _norm(row["dataset"]), _norm(gold["dataset"])
        if not (a == b or (len(a) >= 3 and a in b) or (len(b) >= 3 and b in a)):
            return False
    return gold["metric"] is None or _metric(row["metric"], acronyms) == _metric(gold["metric"], acronyms)


def _checked(table: Table) -> tuple[int, int]:
    """(cells whose source holds them, cells that fail) — checked here, not trusted."""
    good = bad = 0
    for _row, _column, cell in table.cells:
        ok = cell.sentence in cell.passage and not numbers_supported(cell.value, cell.sentence)
        ok = ok and (
            bool(numbers_in(cell.value))
            or (bool(_norm(cell.value)) and _norm(cell.value) in _norm(cell.sentence))
        )
        good, bad = (good + 1, bad) if ok else (good, bad + 1)
    return good, bad


def measure(run: Run, mode: str, console: Console) -> list[object]:
    start = time.perf_counter()
    table = run.library.compare(run.target, mode=mode)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    acronyms = mine(c.text for k in table.papers for c in run.library.chunks(k))
    rows, body = [], 0
    for row in table.rows:
        cell = row.cells.get("value")
        if cell is None:
            continue
        chunk = next((c for c in run.library.chunks(row.key) if c.text == cell.passage), None)
        if chunk is not None and chunk.section not in (None, "Abstract") and chunk.ordinal != 0:
            body += 1
            continue
        rows.append(
            {
                "key": row.key,
                "value": cell.value,
                "dataset": row.value("dataset"),
                "metric": row.value("metric"),
            }
        )
    gold = run.gold
    found = [g for g in gold if any(_matches(r, g, acronyms) for r in rows)]
    right = [r for r in rows if any(_matches(r, g, acronyms) for g in gold)]
    for r in rows:
        if r not in right:
            console.print(f"[dim]  {run.name}/{mode}: not in the gold: {r}[/dim]")
    for g in gold:
        if g not in found:
            console.print(
                f"[dim]  {run.name}/{mode}: missed: {g['key']} {g['dataset']} {g['metric']} "
                f"{g['value']}[/dim]"
            )
    good, bad = _checked(table)
    console.print(
        f"[dim]  {run.name}/{mode}: {len(table.rows)} rows, {len(table.dropped)} dropped "
        f"in {seconds:.0f} s[/dim]"
    )
    empty = sum(1 for r in table.rows for c in r.cells.values() if c is None)
    recall = len(found) / len(gold) if gold else float("nan")
    precision = len(right) / len(rows) if rows else float("nan")
    return [
        run.name, mode, len(table.papers), len(table.rows), body, good, bad, len(table.dropped), empty,
        len(gold), f"{recall:.2f}", f"{precision:.2f}", f"{seconds:.1f}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/litassist-tables"), help="libraries kept here"
    )
    parser.add_argument("--local", action="store_true", help="also with SmolLM2 via `litassist serve-local`")
    parser.add_argument("--base-url", help="also with this OpenAI-compatible endpoint")
    parser.add_argument("--model", default="local", help="the endpoint's model name")
    parser.add_argument("--response-format", default="json_object", help="text, json_object or json_schema")
    parser.add_argument("--runs", default="fer,fer (gold papers),pos", help="which runs, comma-separated")
    parser.add_argument("--no-extractive", action="store_true", help="only the runs with a model")
    args = parser.parse_args()
    console = Console(width=180)
    seeds = seeds_library(args.cache / "seeds", console)
    sample = sample_library(args.cache / "aclsum", console)
    gold_lines = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
    topic = next(
        json.loads(line)
        for line in (EVAL / "dev_topics.jsonl").read_text().splitlines()
        if "facial expression recognition" in line
    )
    names = aliases(EVAL / "papers_index.jsonl")

    def resolved(library: Library, query: str) -> list[dict[str, Any]]:
        resolver = Resolver(library.papers(), names)
        out = []
        for g in (g for g in gold_lines if g["query"] == query):
            key = resolver.resolve(g["paper"])
            if not isinstance(key, str):
                raise SystemExit(f"gold paper {g['paper']!r} not in the library: {key}")
            out.append({**g, "key": key})
        return out

    fer_gold = resolved(seeds, "fer")
    fer_keys = [
        k for slug in topic["gold"] if isinstance(k := Resolver(seeds.papers(), names).resolve(slug), str)
    ]
    runs = [
        Run("fer", seeds, topic["topic"], fer_gold),
        Run("fer (gold papers)", seeds, fer_keys, fer_gold),
        Run("pos", sample, POS_QUERY, resolved(sample, "pos")),
    ]
    chosen = set(args.runs.split(","))
    runs = [run for run in runs if run.name in chosen]
    results = [] if args.no_extractive else [measure(run, "extractive", console) for run in runs]
    url = args.base_url
    if args.local and url is None:
        with served("smollm2", console) as url:
            results += _with_model(runs, url, "smollm2", args.response_format, console)
    elif url is not None:
        results += _with_model(runs, url, args.model, args.response_format, console)
    shown = RichTable(title="Comparison tables against tests/data/table_gold.jsonl")
    for column in (
        "query", "mode", "papers", "rows", "body rows", "cells checked", "cells failing", "dropped", "empty",
        "gold", "recall", "precision", "s",
    ):  # fmt: skip
        shown.add_column(column)
    for result in results:
        shown.add_row(*[str(x) for x in result])
    console.print(shown)


def _with_model(
    runs: list[Run], url: str, model: str, response_format: str, console: Console
) -> list[list[object]]:
    llm = LLMSettings(
        base_url=url,
        model=model,
        response_format=response_format,  # type: ignore[arg-type]
        max_retries=0,
        timeout=300,
    )
    out = []
    for run in runs:
        view = Run(run.name, run.library.using(llm), run.target, run.gold)
        out.append(measure(view, "llm", console))
    return out


if __name__ == "__main__":
    main()
