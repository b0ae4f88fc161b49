"""Calibrates when the code attributes an uncited sentence to a passage (``AttributionParameters``),
by cross-validation over the development questions.

    .venv/bin/python tests/bench/calibrate_attribution.py [--library DIR] [--folds 5]

For every answerable question of ``../shared/eval/dev_qa.jsonl`` and ``dev_qa_more.jsonl`` it
gives the passages an answer would read (search, ``select_passages``, ``condense``) and scores two
kinds of sentences against them: the sentences of the question's reference answer (written by
people, in other words than the abstracts: an attribution is right when it names a gold or
borderline paper of the question), and the reference sentences of other questions whose papers
are not among the passages (nothing there backs them: any attribution is wrong). The threshold
and the lexical weight are chosen on k-1 folds of questions — the most sentences attributed with
at most 5% of the attributions wrong — and measured on the fold left out; the table gives the
held-out figures beside those fitted on all the questions, and the values to ship.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, seeds_library  # noqa: E402

from assistant.answer import AnswerParameters, select_passages  # noqa: E402
from assistant.attribution import AttributionParameters, Attributor  # noqa: E402
from assistant.citations import claims  # noqa: E402
from assistant.condense import condense  # noqa: E402
from assistant.evaluation import aliases, questions  # noqa: E402
from assistant.evaluation.gold import Resolver  # noqa: E402
from assistant.retrieval import strip_question  # noqa: E402

WEIGHTS = (0.3, 0.5, 0.7)
THRESHOLDS = tuple(np.round(np.arange(0.10, 0.90, 0.02), 2))
MAX_WRONG = 0.05


@dataclass
class Scored:
    question: int  # index of the question (the unit of the folds)
    own: bool  # a sentence of the question's own reference answer
    best: dict[float, tuple[float, bool]]  # weight -> (best backing, its passage is a right paper)


def collect(library_dir: Path | None, console: Console) -> list[Scored]:
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(library_dir or Path(tmp) / "seeds", console)
        resolver = Resolver(library.papers(), aliases(EVAL / "papers_index.jsonl"))
        rows = [q for name in ("dev_qa.jsonl", "dev_qa_more.jsonl") for q in questions(EVAL / name)]
        answerable = [q for q in rows if q.answerable and q.answer]
        embed = library.embedder.embed
        words = AnswerParameters().prompt_words
        cases = []
        for q in answerable:
            gold, _ = resolver.resolve_all(q.gold)
            partial, _ = resolver.resolve_all(q.partial)
            hits = library.retriever.retrieve(q.question, k=5).hits
            passages = condense(select_passages(hits), strip_question(q.question), embed, words=words)
            own = [q.answer[a:b] for a, b in claims(q.answer)]
            cases.append((q, set(gold) | set(partial), passages, own))
        vectors_of = library.store.chunk_vectors
        rng = random.Random(7)
        scored: list[Scored] = []
        for index, (_, right, passages, own) in enumerate(cases):
            keys = {p.key for p in passages}
            foreign = [s for j, (_, r, _, o) in enumerate(cases) if j != index and not (r & keys) for s in o]
            foreign = rng.sample(foreign, min(len(own), len(foreign)))
            found = vectors_of([p.chunk_id for p in passages])
            texts = [p.text for p in passages]
            vectors = [found.get(p.chunk_id) for p in passages]
            sentences = [(s, True) for s in own] + [(s, False) for s in foreign]
            sentence_vectors = embed([s for s, _ in sentences]) if sentences else []
            for (sentence, is_own), vector in zip(sentences, sentence_vectors, strict=True):
                best = {}
                for w in WEIGHTS:
                    backing = Attributor(texts, vectors, AttributionParameters(lexical_weight=w)).backing(
                        sentence, vector
                    )
                    best[w] = (backing.score, passages[backing.best].key in right)
                scored.append(Scored(index, is_own, best))
        return scored


def counts(items: list[Scored], weight: float, threshold: float) -> tuple[int, int, int, int]:
    """(own sentences attributed to a right paper, own sentences, attributions, wrong ones)."""
    own = [s for s in items if s.own]
    attributed = [s for s in items if s.best[weight][0] >= threshold]
    wrong = sum(1 for s in attributed if not (s.own and s.best[weight][1]))
    right = sum(1 for s in own if s.best[weight][0] >= threshold and s.best[weight][1])
    return right, len(own), len(attributed), wrong


def measure(items: list[Scored], weight: float, threshold: float) -> tuple[float, float, int]:
    """(share of own sentences attributed to a right paper, share of attributions wrong, attributions)."""
    right, own, attributed, wrong = counts(items, weight, threshold)
    return right / max(1, own), wrong / max(1, attributed), attributed


def fit(items: list[Scored]) -> tuple[float, float]:
    """The (weight, threshold) attributing the most own sentences with at most MAX_WRONG wrong."""
    best = (WEIGHTS[0], THRESHOLDS[-1])
    best_coverage = -1.0
    for w in WEIGHTS:
        for t in THRESHOLDS:
            coverage, wrong, _ = measure(items, w, t)
            if wrong <= MAX_WRONG and coverage > best_coverage:
                best, best_coverage = (w, float(t)), coverage
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    console = Console(width=140)
    scored = collect(args.library, console)
    indices = sorted({s.question for s in scored})
    random.Random(11).shuffle(indices)
    folds = [set(indices[i :: args.folds]) for i in range(args.folds)]
    table = Table(title=f"Attribution of uncited sentences: {len(indices)} questions, {args.folds}-fold CV")
    for column in ("fold", "fitted on the rest (weight, threshold)", "own attributed, right", "wrong", "n"):
        table.add_column(column, justify="right")
    total = np.zeros(4, dtype=int)
    for k, fold in enumerate(folds):
        train = [s for s in scored if s.question not in fold]
        test = [s for s in scored if s.question in fold]
        w, t = fit(train)
        coverage, wrong, n = measure(test, w, t)
        table.add_row(str(k + 1), f"{w}, {t:.2f}", f"{coverage:.0%}", f"{wrong:.1%}", str(n))
        total += np.array(counts(test, w, t))
    right, own, n, wrong = (int(x) for x in total)
    table.add_row(
        "[bold]held out[/bold]",
        "",
        f"{right / max(1, own):.0%}",
        f"{wrong / max(1, n):.1%}",
        str(n),
        end_section=True,
    )
    w, t = fit(scored)
    coverage, wrong, n = measure(scored, w, t)
    table.add_row("[bold]fitted on all[/bold]", f"{w}, {t:.2f}", f"{coverage:.0%}", f"{wrong:.1%}", str(n))
    console.print(table)
    shipped = AttributionParameters()
    coverage, wrong, n = measure(scored, shipped.lexical_weight, shipped.threshold)
    console.print(
        f"shipped: weight {shipped.lexical_weight}, threshold {shipped.threshold}: "
        f"{coverage:.0%} of own sentences attributed to a right paper, {wrong:.1%} of {n} attributions wrong"
    )
    console.print(json.dumps({"lexical_weight": w, "threshold": t}))


if __name__ == "__main__":
    main()
