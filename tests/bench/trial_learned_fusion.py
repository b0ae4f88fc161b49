"""Would a fusion learned from the questions beat the fitted four-parameter one? A trial, not
shipped: its figures say why.

    .venv/bin/python tests/bench/trial_learned_fusion.py --cache DIR [--l2 1.0]

The shipped fusion (``assistant.fusion``) weighs the two sides by a formula with four fitted
parameters. Here a linear scorer over per-paper features of the same search is learned instead:
the four z-scored signals, the paper's and the query's IDF-weighted coverage of the question and
their products with the lexical side, the dense side's margin times the dense side, and each
side's reciprocal rank. It is fitted listwise (the softmax over the query's papers, the gold
papers' share as the target, borderline papers left out), each slice weighing as much as any
other as in ``tuning.objective``, by Newton's method on the convex loss, and scored by the same
5-fold cross-validation over questions as the shipped fusion. DIR is the cache
``bench_retrieval.py --cache DIR`` filled (``measurements.pkl``). ~30 s.

Measured (cross-validated Recall@5 / MRR@10, the learned scorer against the shipped grid; the
better single retriever in brackets): paraphrase 1.000 / 0.933 against 0.915 (dense 0.933),
keyword 1.000 / 1.000 against 0.840 (dense 1.000), but multi 0.817 / 0.945 against 0.857 / 0.968
(lexical 0.813 / 0.953) and aclsum 0.989 / 0.957 against 0.987 / 0.966 (lexical 0.989 / 0.964);
held out, aclsum test 0.987 / 0.973 against 0.987 / 0.981. It trades the two small slices the grid
loses for two it wins, and loses on the held-out split; with an L2 of 0.1 or 10 the same. Even
fitted on all the questions it stays under lexical's MRR on multi and aclsum: the softmax loss
pulls up the gold papers' mean probability, not the first gold paper's rank. Not shipped.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant.calibration import folds  # noqa: E402
from assistant.evaluation import metrics, tuning  # noqa: E402
from assistant.evaluation.retrieval import DEPTH  # noqa: E402
from assistant.evaluation.tuning import Sample  # noqa: E402
from assistant.fusion import DENSE_MARGIN, Signals  # noqa: E402
from assistant.retrieval import RetrievalParameters  # noqa: E402

SLICES = ("lookup", "paraphrase", "numeric", "multi", "keyword", "aclsum")
NAMES = (
    "dense passage z",
    "dense window z",
    "lexical passage z",
    "lexical sentence z",
    "c² · lexical",
    "c · lexical",
    "paper coverage",
    "paper coverage · lexical",
    "dense margin · dense",
    "1/rank dense",
    "1/rank lexical",
    "c · dense",
    "c² · dense",
)


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def _inverse_rank(values: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(values))
    ranks[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
    return 1 / ranks


def paper_features(signals: Signals) -> np.ndarray:
    """One row per paper of the query's universe."""
    n = signals.size
    dense = [_z(v) for v in signals.dense] or [np.zeros(n)]
    lexical = [_z(v) for v in signals.lex] or [np.zeros(n)]
    dense += [dense[0]] * (2 - len(dense))
    lexical += [lexical[0]] * (2 - len(lexical))
    dense_side, lexical_side = signals.sides()
    c = signals.reliance
    m = signals.dense_margin / DENSE_MARGIN
    cover = signals.coverage
    return np.stack(
        [
            dense[0],
            dense[1],
            lexical[0],
            lexical[1],
            c * c * lexical_side,
            c * lexical_side,
            cover,
            cover * lexical_side,
            m * dense_side,
            _inverse_rank(dense_side),
            _inverse_rank(lexical_side),
            c * dense_side,
            c * c * dense_side,
        ],
        axis=1,
    )


class Query:
    def __init__(self, sample: Sample):
        self.sample = sample
        signals = sample.signals()
        self.keys = [signals.key(i) for i in range(signals.size)]
        partial = set(sample.partial) - set(sample.gold)
        keep = np.array([k not in partial for k in self.keys])
        self.x = paper_features(signals)[keep]
        self.kept = [k for k, ok in zip(self.keys, keep, strict=True) if ok]
        gold = np.array([k in sample.gold for k in self.kept], dtype=np.float64)
        self.target = gold / gold.sum() if gold.sum() else gold

    def scores(self, beta: np.ndarray) -> tuple[float, float]:
        s = self.x @ beta
        order = sorted(range(len(s)), key=lambda i: (-s[i], self.kept[i]))
        ranked = [self.kept[i] for i in order]
        return metrics.recall_at(ranked, self.sample.gold, tuning.K), metrics.reciprocal_rank(
            ranked, self.sample.gold, DEPTH
        )


def slice_weights(samples: Sequence[Sample]) -> np.ndarray:
    """Each slice weighs as much as any other (as ``tuning.objective`` counts them)."""
    size: dict[str, int] = defaultdict(int)
    for s in samples:
        for name in s.slices():
            size[name] += 1
    return np.array([sum(1 / size[name] for name in s.slices()) for s in samples])


def fit(queries: Sequence[Query], l2: float, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Listwise softmax regression on standardised features, by Newton's method with step
    halving (queries whose gold paper the search did not reach teach nothing: left out)."""
    queries = [q for q in queries if q.target.sum() > 0]
    weights = slice_weights([q.sample for q in queries])
    weights = weights * len(weights) / weights.sum()
    d = len(mean)
    beta = np.zeros(d)
    xs = [(q.x - mean) / scale for q in queries]

    def loss(b: np.ndarray) -> float:
        total = 0.5 * l2 * float(b @ b)
        for x, q, w in zip(xs, queries, weights, strict=True):
            s = x @ b
            top = s.max()
            total += w * float(top + np.log(np.exp(s - top).sum()) - q.target @ s)
        return total

    current = loss(beta)
    for _ in range(50):
        gradient = l2 * beta
        hessian = l2 * np.eye(d)
        for x, q, w in zip(xs, queries, weights, strict=True):
            s = x @ beta
            p = np.exp(s - s.max())
            p /= p.sum()
            gradient += w * x.T @ (p - q.target)
            px = p @ x
            hessian += w * ((x * p[:, None]).T @ x - np.outer(px, px))
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-4 and (trial := loss(beta - size * step)) > current:
            size /= 2
        beta, current = beta - size * step, trial
        if float(np.abs(size * step).max()) < 1e-8:
            break
    return beta / scale  # on the raw features (a per-query constant does not change a ranking)


def cell(scores: Sequence[tuple[float, float]]) -> str:
    return f"{np.mean([r for r, _ in scores]):.3f} / {np.mean([m for _, m in scores]):.3f}" if scores else "–"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--features", help="comma-separated indices of the features used (default all)")
    args = parser.parse_args()
    console = Console(width=170)
    samples: list[Sample] = pickle.loads((args.cache / "measurements.pkl").read_bytes())
    native = [s for s in samples if s.native and s.answerable]
    tuned = [Query(s) for s in native if not s.held_out]
    held = [Query(s) for s in native if s.held_out]
    if args.features:
        used = [int(i) for i in args.features.split(",")]
        for q in [*tuned, *held]:
            q.x = q.x[:, used]
        names = [NAMES[i] for i in used]
    else:
        names = list(NAMES)
    stacked = np.vstack([q.x for q in tuned])
    mean, scale = stacked.mean(axis=0), np.where(stacked.std(axis=0) > 1e-12, stacked.std(axis=0), 1.0)
    fold = folds([q.sample.group for q in tuned], tuning.FOLDS, seed=tuning.SEED)
    cross: list[tuple[float, float]] = [(0.0, 0.0)] * len(tuned)
    for f in range(tuning.FOLDS):
        beta = fit([q for q, g in zip(tuned, fold, strict=True) if g != f], args.l2, mean, scale)
        for i, (q, g) in enumerate(zip(tuned, fold, strict=True)):
            if g == f:
                cross[i] = q.scores(beta)
    final = fit(tuned, args.l2, mean, scale)
    shipped = RetrievalParameters()
    grid_cross, _ = tuning.cross_validated_fusion([q.sample for q in tuned], shipped)
    rows = {
        "learned, cross-validated": (cross, [q.scores(final) for q in held]),
        "learned, fitted": ([q.scores(final) for q in tuned], [q.scores(final) for q in held]),
        "grid (shipped), cross-validated": (grid_cross, [q.sample.scores(shipped) for q in held]),
        "dense": (
            [q.sample.scores(shipped, "dense") for q in tuned],
            [q.sample.scores(shipped, "dense") for q in held],
        ),
        "lexical": (
            [q.sample.scores(shipped, "lexical") for q in tuned],
            [q.sample.scores(shipped, "lexical") for q in held],
        ),
    }
    table = Table(title=f"Recall@5 / MRR@10 per slice (l2 {args.l2}); aclsum test held out")
    table.add_column("fusion")
    for name in SLICES:
        table.add_column(f"{name} ({sum(name in q.sample.slices() for q in tuned)})", justify="right")
    table.add_column(f"aclsum test ({len(held)})", justify="right")
    for label, (tuned_scores, held_scores) in rows.items():
        per = [
            [sc for q, sc in zip(tuned, tuned_scores, strict=True) if name in q.sample.slices()]
            for name in SLICES
        ]
        table.add_row(label, *(cell(p) for p in per), cell(held_scores))
    console.print(table)
    coefficients = Table(title="learned coefficients (fitted on all, per standard deviation)")
    coefficients.add_column("feature")
    coefficients.add_column("coefficient", justify="right")
    for name, b, s in zip(names, final, scale, strict=True):
        coefficients.add_row(name, f"{b * s:+.3f}")
    console.print(coefficients)


if __name__ == "__main__":
    main()
