"""Which papers a topic selects (``assistant.selection``), against the development topics' gold.

    .venv/bin/python tests/bench/bench_selection.py [--library DIR] [--beta B]

Over the seeds library (built once into ``--library``, or reused), for each topic of
``../shared/eval/dev_topics.jsonl``: recall and precision of the selected papers against the
topic's ``gold`` papers, for

- ``share of best`` (the rule before): a paper's hybrid search score as a share of the best
  paper's, among the 40 best papers;
- ``standing``: the topic's score of ``assistant.selection`` (z-score of the abstract cosine over
  the library), what an extractive draft selects by;
- ``standing, best facet``: the same, best over the topic and its answerable facets, what a
  draft's model and a table select by.

Each rule has one constant, its cut-off. It is printed twice: fitted on all four topics
(the cut-off that maximises mean F-beta, beta 1 by default), and held out, leave-one-topic-out
(the cut-off fitted on the other three topics applied to the fourth). The shipped cut-offs
(``DraftParameters``, ``TableParameters``) are printed last.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, seeds_library  # noqa: E402

from assistant import Library, selection  # noqa: E402
from assistant.draft import DraftParameters  # noqa: E402
from assistant.evaluation import Resolver, aliases  # noqa: E402
from assistant.retrieval import Filters  # noqa: E402
from assistant.tables import TableParameters  # noqa: E402

Scores = dict[str, float]


def _f(recall: float, precision: float, beta: float) -> float:
    if recall + precision == 0:
        return 0.0
    return (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def _measure(scores: Scores, gold: set[str], cut: float) -> tuple[float, float, int]:
    chosen = {k for k, s in scores.items() if s >= cut}
    found = len(chosen & gold)
    return found / len(gold), (found / len(chosen) if chosen else 1.0), len(chosen)


def _fit(cases: list[tuple[Scores, set[str]]], beta: float) -> float:
    cuts = sorted({s for scores, _ in cases for s in scores.values()})

    def objective(cut: float) -> float:
        return float(np.mean([_f(*_measure(s, g, cut)[:2], beta) for s, g in cases]))

    return max(cuts, key=objective)


def rules(library: Library, topic: str) -> dict[str, Scores]:
    store, retriever, embedder = library.store, library.retriever, library.embedder
    chosen = selection.select(store, retriever, embedder, topic, filters=Filters())
    hits = chosen.retrieval.hits
    best = max((h.score for h in hits), default=0.0)
    return {
        "share of best": {h.key: h.score / best for h in hits} if best > 0 else {},
        "standing": chosen.scores,
        "standing, best facet": chosen.wide,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument("--beta", type=float, default=1.0, help="F-beta the cut-offs are fitted for")
    args = parser.parse_args()
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        resolver = Resolver(library.papers(), aliases(EVAL / "papers_index.jsonl"))
        topics = [json.loads(line) for line in (EVAL / "dev_topics.jsonl").read_text().splitlines() if line]
        golds = [{k for g in t["gold"] if isinstance(k := resolver.resolve(g), str)} for t in topics]
        by_rule: dict[str, list[Scores]] = {}
        for topic in topics:
            for name, scores in rules(library, topic["topic"]).items():
                by_rule.setdefault(name, []).append(scores)
        short = [" ".join(t["topic"].split()[:4]) for t in topics]
        out = Table(title=f"Topic selection: recall / precision (papers), cut-offs fitted for F{args.beta:g}")
        for column in ("rule", "cut-off", "fit", *short, "mean"):
            out.add_column(column)
        for name, all_scores in by_rule.items():
            cases = list(zip(all_scores, golds, strict=True))
            cut = _fit(cases, args.beta)
            fitted = [_measure(s, g, cut) for s, g in cases]
            held, cuts = [], []
            for i in range(len(cases)):
                cut_i = _fit(cases[:i] + cases[i + 1 :], args.beta)
                cuts.append(cut_i)
                held.append(_measure(*cases[i], cut_i))
            for label, results, shown in (
                ("all four", fitted, f"{cut:.2f}"),
                ("held out", held, " ".join(f"{c:.2f}" for c in cuts)),
            ):
                out.add_row(name, shown, label, *_cells(results))
        for label, rule, cut in (
            ("draft (extractive)", "standing", DraftParameters().threshold),
            ("draft (model) / table", "standing, best facet", DraftParameters().model_threshold),
        ):
            results = [_measure(s, g, cut) for s, g in zip(by_rule[rule], golds, strict=True)]
            out.add_row(f"shipped: {label}", f"{cut:.2f}", "-", *_cells(results))
        if TableParameters().threshold != DraftParameters().model_threshold:
            console.print("[yellow]the table's cut-off differs from the draft model's[/yellow]")
        console.print(out)


def _cells(results: list[tuple[float, float, int]]) -> list[str]:
    recall = np.mean([r for r, _, _ in results])
    precision = np.mean([p for _, p, _ in results])
    cell: Callable[[tuple[float, float, int]], str] = lambda x: f"{x[0]:.2f} / {x[1]:.2f} ({x[2]})"  # noqa: E731
    return [*(cell(x) for x in results), f"{recall:.2f} / {precision:.2f}"]


if __name__ == "__main__":
    main()
