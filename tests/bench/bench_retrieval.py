"""Retrieval quality and refusal on the development questions, over the seed papers.

    .venv/bin/python tests/bench/bench_retrieval.py [--library DIR] [--details]

Builds (or reuses, with ``--library``) an embedded library of ``../shared/seeds`` with the packaged
embedder, maps each library paper to an evaluation slug by its abstract (``eval/README.md``'s
rule), and prints paper-level Recall@5 and MRR@10 per question type for the dense, lexical and
hybrid retrievers, then the refusal rate on the negative questions and the false-refusal rate on
the others (the evidence judgement ``Library.ask`` uses before calling a model).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant import Library  # noqa: E402
from assistant.retrieval import RETRIEVERS  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SEEDS = ROOT.parent / "shared" / "seeds"
K = 5
TYPES = ("lookup", "paraphrase", "numeric", "multi")


def _norm(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def slug_map(library: Library) -> dict[str, str]:
    """library key -> evaluation slug, by the start of the abstract."""
    index = [json.loads(line) for line in (EVAL / "papers_index.jsonl").open()]
    starts = [(_norm(row["abstract_start"]), row["slug"]) for row in index]
    mapping: dict[str, str] = {}
    for paper in library.papers():
        abstract = _norm(paper.abstract)
        for start, slug in starts:
            if start and abstract.startswith(start):
                mapping[paper.key] = slug
    return mapping


def evaluate(library: Library, questions: list[dict], slugs: dict[str, str], details: bool) -> dict:
    scores: dict[str, dict[str, list[tuple[float, float]]]] = {r: defaultdict(list) for r in RETRIEVERS}
    seconds: dict[str, list[float]] = defaultdict(list)
    refusals: dict[str, list[bool]] = {"negative": [], "answerable": []}
    for q in questions:
        if q["type"] != "negative":
            gold = set(q["gold"])
            for retriever in RETRIEVERS:
                start = time.perf_counter()
                hits = library.search(q["question"], k=10, retriever=retriever)
                seconds[retriever].append(time.perf_counter() - start)
                ranked = [slugs.get(h.key, h.key) for h in hits]
                found = gold & set(ranked[:K])
                recall = len(found) / len(gold) if q["type"] == "multi" else float(bool(found))
                rr = next((1 / (i + 1) for i, s in enumerate(ranked[:10]) if s in gold), 0.0)
                scores[retriever][q["type"]].append((recall, rr))
                if details and retriever == "hybrid" and (recall < 1 or rr < 1):
                    print(f"  {q['id']} {q['type']}: gold {sorted(gold)} ranked {ranked[:K]}")
        start = time.perf_counter()
        evidence = library.retriever.retrieve(q["question"], k=K).evidence
        seconds["hybrid + refusal judgement"].append(time.perf_counter() - start)
        group = "negative" if q["type"] == "negative" else "answerable"
        refusals[group].append(not evidence.answerable)
        if details and (not evidence.answerable) != (group == "negative"):
            print(f"  refusal wrong on {q['id']} ({q['type']}): {evidence.reason}")
    return {"scores": scores, "refusals": refusals, "seconds": seconds}


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def report(result: dict, console: Console) -> None:
    table = Table(title=f"Paper-level retrieval on the dev questions (k={K})")
    table.add_column("retriever")
    for t in TYPES:
        table.add_column(f"R@5 {t}", justify="right")
    table.add_column("R@5 single", justify="right")
    table.add_column("MRR@10", justify="right")
    for retriever, by_type in result["scores"].items():
        single = [r for t in ("lookup", "paraphrase", "numeric") for r, _ in by_type[t]]
        rrs = [rr for t in TYPES for _, rr in by_type[t]]
        table.add_row(
            retriever,
            *(f"{mean([r for r, _ in by_type[t]]):.3f}" for t in TYPES),
            f"{mean(single):.3f}",
            f"{mean(rrs):.3f}",
        )
    console.print(table)
    neg, ans = result["refusals"]["negative"], result["refusals"]["answerable"]
    refusal = Table(title="Refusal (evidence judgement before any model call)")
    refusal.add_column("negatives refused", justify="right")
    refusal.add_column("false refusals", justify="right")
    refusal.add_row(f"{sum(neg)}/{len(neg)} = {mean(neg):.0%}", f"{sum(ans)}/{len(ans)} = {mean(ans):.1%}")
    console.print(refusal)
    latency = Table(title="Latency per query (95 papers, embedded Chroma, query embedding included)")
    for column in ("", "p50 ms", "p95 ms"):
        latency.add_column(column, justify="right" if column else "left")
    for name, values in result["seconds"].items():
        ordered = sorted(values)
        p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        latency.add_row(name, f"{1000 * p50:.0f}", f"{1000 * p95:.0f}")
    console.print(latency)


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
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(args.library or Path(tmp) / "seeds")
        if len(library) == 0:
            report_ = library.add(SEEDS)
            console.print(f"built the seeds library: {len(report_.added)} papers")
        library.retriever.parameters = replace(library.retriever.parameters, fusion=args.fusion)
        slugs = slug_map(library)
        console.print(f"{len(library)} papers, {len(slugs)} mapped to evaluation slugs")
        questions = [json.loads(line) for line in (EVAL / "dev_qa.jsonl").open()]
        report(evaluate(library, questions, slugs, args.details), console)


if __name__ == "__main__":
    main()
