"""Retrieval quality and refusal on the development questions, over the seed papers.

    .venv/bin/python tests/bench/bench_retrieval.py [--library DIR] [--details] [--fusion rrf]

Builds (or reuses, with ``--library``) an embedded library of ``../shared/seeds`` with the packaged
embedder and runs ``Library.evaluate_retrieval`` (what ``litassist eval retrieval`` runs) on
``../shared/eval/dev_qa.jsonl``: paper-level Recall@5, MRR@10 and nDCG@10 per question type for
the hybrid, dense and lexical retrievers, the refusal rate on the negative questions and the
false-refusal rate on the others; then the latency per query.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant import Library  # noqa: E402
from assistant.evaluation import RetrievalReport, report  # noqa: E402
from assistant.retrieval import RETRIEVERS  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SEEDS = ROOT.parent / "shared" / "seeds"


def seeds_library(folder: Path, console: Console) -> Library:
    library = Library(folder)
    if len(library) == 0:
        console.print(f"built the seeds library: {len(library.add(SEEDS).added)} papers")
    return library


def latency(result: RetrievalReport, judged: list[float]) -> Table:
    table = Table(title="Latency per query (embedded Chroma, query embedding included)")
    for column in ("", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right" if column else "left")
    rows = {r: [c.seconds[r] for c in result.cases if r in c.seconds] for r in RETRIEVERS}
    rows["hybrid + refusal judgement"] = judged
    for name, values in rows.items():
        ordered = sorted(values)
        p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        table.add_row(name, f"{1000 * p50:.0f}", f"{1000 * p95:.0f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument("--details", action="store_true", help="print the questions that are not perfect")
    parser.add_argument(
        "--fusion",
        choices=["zscore", "rrf"],
        default="zscore",
        help="how the signals are fused (default zscore)",
    )
    args = parser.parse_args()
    console = Console(width=150)
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        library.retriever.parameters = replace(library.retriever.parameters, fusion=args.fusion)
        result = library.evaluate_retrieval(EVAL / "dev_qa.jsonl")
        judged = []
        for case in result.cases:
            start = time.perf_counter()
            library.retriever.retrieve(case.question.question, k=5)
            judged.append(time.perf_counter() - start)
    for table in report.tables(result):
        console.print(table)
    for note in report.notes(result):
        console.print(f"[yellow]{note}[/yellow]")
    console.print(latency(result, judged))
    if args.details:
        for case in result.cases:
            scores = case.scores.get("hybrid", {})
            if case.scored and (scores["recall@5"] < 1 or scores["mrr@10"] < 1):
                ranked = case.ranked["hybrid"][:5]
                console.print(f"  {case.question.id} {case.question.type}: gold {case.gold} ranked {ranked}")
            if case.refused == case.question.answerable:
                console.print(f"  refusal wrong on {case.question.id} ({case.question.type}): {case.reason}")


if __name__ == "__main__":
    main()
