"""Which papers a topic selects (``assistant.selection``), against the development topics' gold.

    .venv/bin/python tests/bench/bench_selection.py [--library DIR] [--beta B]

Over the seeds library (built once into ``--library``, or reused), for each topic of
``../shared/eval/dev_topics.jsonl``: recall and precision of the selected papers against the
topic's ``gold`` papers, for

- ``share of best`` (the rule before): a paper's hybrid search score as a share of the best
  paper's, among the 40 best papers;
- ``closeness``: the topic's score of ``assistant.selection`` (a paper's abstract cosine with the
  topic as a share of the best paper's, best over the topic and its answerable facets), what
  drafts and tables select by;
- ``closeness with windows``: the same, each paper's cosine the mean of its abstract's and its
  closest abstract window's (``Selection.near``), what tables select by;
- ``closeness, topic only``: the same without the facets;
- ``z over the library``: the alternative left out, a paper's cosine with the topic as a z-score
  over the library;
- with ``--unrelated DIR`` (a library on other subjects, e.g. the sample corpus), closeness and
  the z-score again with that library's papers among the candidates: closeness moves little,
  the z-score's cut-off no longer holds.

Each rule has one constant, its cut-off. It is printed twice, for F1 (what an extractive draft
cites) and for F2 (recall weighing more: the wider set a draft's model reads and picks from, and
a table's papers, where a paper without a result adds no row): fitted on all four topics (the
cut-off that maximises the mean F-beta over the topics), and held out, leave-one-topic-out (the
cut-off fitted on the other three topics applied to the fourth). The shipped cut-offs
(``DraftParameters``, ``TableParameters``) are printed last; a table also takes the papers whose
passages match (``TableParameters.passage_threshold``), not counted here.
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
from assistant.filters import Filters  # noqa: E402
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


def rules(library: Library, topic: str, unrelated: dict[str, np.ndarray]) -> dict[str, Scores]:
    store, retriever, embedder = library.store, library.retriever, library.embedder
    chosen = selection.select(store, retriever, embedder, topic, filters=Filters())
    hits = chosen.retrieval.hits
    best = max((h.score for h in hits), default=0.0)
    vectors = store.paper_vectors(sorted(chosen.scores))
    asked = embedder.embed([topic])[0].astype(np.float32)
    out = {
        "share of best": {h.key: h.score / best for h in hits} if best > 0 else {},
        "closeness": chosen.scores,
        "closeness with windows": chosen.near,
        "closeness, topic only": selection.closeness(vectors, asked),
        "z over the library": _z(vectors, asked),
    }
    if unrelated:
        # the same queries over the library and the unrelated papers together
        both = {**vectors, **unrelated}
        mixed: Scores = {}
        for vector in embedder.embed(list(chosen.queries)):
            for key, share in selection.closeness(both, vector.astype(np.float32)).items():
                mixed[key] = max(mixed.get(key, -np.inf), share)
        out |= {"closeness, + unrelated": mixed, "z over the library, + unrelated": _z(both, asked)}
    return out


def _z(vectors: dict[str, np.ndarray], query: np.ndarray) -> Scores:
    """The alternative left out: a paper's cosine as a z-score over the library."""
    cosines = np.stack(list(vectors.values())) @ query
    return dict(zip(vectors, ((cosines - cosines.mean()) / cosines.std()).tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument(
        "--unrelated",
        type=Path,
        help="a library on other subjects (the sample corpus's, as bench_tables.py builds it): its "
        "papers join the candidates, and no gold paper is among them",
    )
    args = parser.parse_args()
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        unrelated = {}
        if args.unrelated:
            other = Library(args.unrelated)
            unrelated = {
                f"unrelated:{k}": v
                for k, v in other.store.paper_vectors([p.key for p in other.papers()]).items()
            }
        resolver = Resolver(library.papers(), aliases(EVAL / "papers_index.jsonl"))
        topics = [json.loads(line) for line in (EVAL / "dev_topics.jsonl").read_text().splitlines() if line]
        golds = [{k for g in t["gold"] if isinstance(k := resolver.resolve(g), str)} for t in topics]
        by_rule: dict[str, list[Scores]] = {}
        for topic in topics:
            for name, scores in rules(library, topic["topic"], unrelated).items():
                by_rule.setdefault(name, []).append(scores)
        short = [" ".join(t["topic"].split()[:4]) for t in topics]
        out = Table(title="Topic selection: recall / precision (papers selected) against the gold papers")
        for column in ("rule", "F", "cut-off", "fit", *short, "mean"):
            out.add_column(column)
        for beta in (1.0, 2.0):
            for name, all_scores in by_rule.items():
                cases = list(zip(all_scores, golds, strict=True))
                cut = _fit(cases, beta)
                fitted = [_measure(s, g, cut) for s, g in cases]
                held, cuts = [], []
                for i in range(len(cases)):
                    cut_i = _fit(cases[:i] + cases[i + 1 :], beta)
                    cuts.append(cut_i)
                    held.append(_measure(*cases[i], cut_i))
                for label, results, shown in (
                    ("all four", fitted, f"{cut:.2f}"),
                    ("held out", held, " ".join(f"{c:.2f}" for c in cuts)),
                ):
                    out.add_row(name, f"{beta:g}", shown, label, *_cells(results))
        for label, rule, cut in (
            ("draft (extractive)", "closeness", DraftParameters().threshold),
            ("draft (model)", "closeness", DraftParameters().model_threshold),
            ("table, by abstract and windows", "closeness with windows", TableParameters().threshold),
        ):
            results = [_measure(s, g, cut) for s, g in zip(by_rule[rule], golds, strict=True)]
            out.add_row(f"shipped: {label}", "", f"{cut:.2f}", "-", *_cells(results))
        console.print(out)


def _cells(results: list[tuple[float, float, int]]) -> list[str]:
    recall = np.mean([r for r, _, _ in results])
    precision = np.mean([p for _, p, _ in results])
    cell: Callable[[tuple[float, float, int]], str] = lambda x: f"{x[0]:.2f} / {x[1]:.2f} ({x[2]})"  # noqa: E731
    return [*(cell(x) for x in results), f"{recall:.2f} / {precision:.2f}"]


if __name__ == "__main__":
    main()
