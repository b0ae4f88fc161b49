"""Would the query's shape help the fusion? A trial, not shipped: its figures say why.

    .venv/bin/python tests/bench/bench_keyword_shape.py --cache DIR [--objective mrr]

A keyword query (``Question.keyword``: no question mark, at most eight words) is a shape search
could see at run time. The trial multiplies the lexical weight ``w`` of such queries by one more
fitted factor (1 = today's fusion, 0 = dense only), chosen with the other four weights by the
same 5-fold cross-validation over questions and the same objective as
``assistant.evaluation.tuning`` (the mean over slices of Recall@5 + MRR@10, first of equals).
Reads the measurements ``bench_retrieval.py --cache DIR`` left in ``DIR/measurements.pkl``
(about 5 minutes on two busy cores: the 144 settings of the grid times five factors).

``--objective mrr`` chooses by the mean over slices of MRR@10 alone (a second trial, also not
shipped: one of several selection criteria tried after seeing the cross-validated figures, so its
cross-validated gains are optimistic; the held-out test split is the check). ``--objective worst``
chooses by the worst slice's margin over the better single retriever (the smaller of its Recall@5
and MRR@10 margins), the mean objective breaking ties: the issue's target read as the objective
(a third trial, not shipped).

Printed per slice: the shipped fusion (factor fixed at 1) and the trial, fitted and
cross-validated on the seeds questions and aclsum train+val, and fitted on the held-out aclsum
test split; dense and lexical beside them.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
from collections.abc import Sequence
from dataclasses import replace
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
from assistant.retrieval import RetrievalParameters  # noqa: E402

FACTORS = (1.0, 0.0, 0.25, 0.5, 2.0)  # 1 first: among equals, today's fusion
SLICES = ("lookup", "paraphrase", "numeric", "multi", "keyword", "aclsum")


def scores(sample: Sample, params: RetrievalParameters, factor: float) -> tuple[float, float]:
    """Recall@5 and MRR@10 of the hybrid ranking with a keyword query's ``w`` times ``factor``
    (``Signals.fused`` with that one change)."""
    signals = sample.signals()
    dense, lexical = signals.sides(params.fusion)
    v, w = signals.dense_weight(params), signals.lexical_weight(params)
    w *= factor if sample.keyword else 1.0
    fused = 1.5 * (v * dense + w * lexical) / (v + w) if v + w > 0 else dense
    wanted = DEPTH + len(sample.partial)
    ranking = [key for key, _ in itertools.islice(signals.order(fused, wanted), wanted)]
    ranked = metrics.condensed(ranking, set(sample.partial) - set(sample.gold))
    return metrics.recall_at(ranked, sample.gold, tuning.K), metrics.reciprocal_rank(
        ranked, sample.gold, DEPTH
    )


def choose(
    table: dict[tuple[int, float], np.ndarray],
    rows: Sequence[int],
    samples: Sequence[Sample],
    factors: Sequence[float],
    objective: str = "sum",
) -> tuple[int, float]:
    """The (setting, factor) the tuning objective picks on ``rows`` of ``samples`` (``mrr``: the
    mean over slices of MRR@10 alone; ``worst``: the worst slice's margin over the better single
    retriever, then the mean objective)."""
    chosen = [samples[i] for i in rows]
    dense, lexical = (
        tuning.slice_means(chosen, [s.scores(RetrievalParameters(), r) for s in chosen])
        for r in ("dense", "lexical")
    )
    best: tuple[tuple[float, float], tuple[int, float]] | None = None
    for key, values in table.items():
        if key[1] not in factors:
            continue
        scored = [tuple(values[i]) for i in rows]
        worst = 0.0
        if objective == "mrr":
            means = tuning.slice_means(chosen, scored)
            value = float(np.mean([m for name, (_, m, _) in means.items() if name != "all"]))
        else:
            value = tuning.objective(chosen, scored)
        if objective == "worst":
            means = tuning.slice_means(chosen, scored)
            worst = min(
                min(r - max(dense[name][0], lexical[name][0]), m - max(dense[name][1], lexical[name][1]))
                for name, (r, m, _) in means.items()
                if name != "all"
            )
        if best is None or (round(worst, 9), value) > (round(best[0][0], 9), best[0][1] + 1e-12):
            best = ((worst, value), key)
    assert best is not None
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cache", type=Path, required=True, help="where bench_retrieval.py --cache left measurements.pkl"
    )
    parser.add_argument("--objective", choices=["sum", "mrr", "worst"], default="sum")
    args = parser.parse_args()
    console = Console(width=170)
    samples: list[Sample] = pickle.loads((args.cache / "measurements.pkl").read_bytes())
    tuned = [s for s in samples if s.native and s.answerable and not s.held_out]
    held = [s for s in samples if s.native and s.answerable and s.held_out]
    every = tuned + held
    base = RetrievalParameters()
    table: dict[tuple[int, float], np.ndarray] = {}
    for i, setting in enumerate(tuning.grid()):
        params = replace(base, **setting)  # type: ignore[arg-type]
        plain = np.array([scores(s, params, 1.0) for s in every])
        for factor in FACTORS:
            values = plain.copy()
            for j, s in enumerate(every):
                if s.keyword and factor != 1.0:
                    values[j] = scores(s, params, factor)
            table[(i, factor)] = values
    fold = folds([s.group for s in tuned], tuning.FOLDS, seed=tuning.SEED)
    out = Table(title="Recall@5 / MRR@10 per slice: the keyword-shape factor on the lexical weight (trial)")
    out.add_column("fusion")
    for name in SLICES:
        out.add_column(f"{name} ({sum(name in s.slices() for s in tuned)})", justify="right")
    out.add_column(f"aclsum test ({len(held)}, held out)", justify="right")

    def cell(values: np.ndarray, rows: Sequence[int]) -> str:
        return "–" if not rows else " / ".join(f"{v:.3f}" for v in values[list(rows)].mean(axis=0))

    def in_slice(name: str) -> list[int]:
        return [i for i, s in enumerate(tuned) if name in s.slices()]

    test_rows = list(range(len(tuned), len(every)))
    shipped = "shipped (factor 1)" if args.objective == "sum" else f"factor 1, {args.objective} objective"
    for label, factors in ((shipped, (1.0,)), ("with the keyword factor", FACTORS)):
        fitted = choose(table, range(len(tuned)), tuned, factors, args.objective)
        cross = np.zeros((len(every), 2))
        chosen = []
        for f in range(tuning.FOLDS):
            key = choose(
                table, [i for i in range(len(tuned)) if fold[i] != f], tuned, factors, args.objective
            )
            chosen.append(key)
            for i in range(len(tuned)):
                if fold[i] == f:
                    cross[i] = table[key][i]
        cross[test_rows] = table[fitted][test_rows]  # fitted on train+val only
        out.add_row(
            f"{label}, fitted",
            *(cell(table[fitted], in_slice(n)) for n in SLICES),
            cell(table[fitted], test_rows),
        )
        out.add_row(
            f"{label}, cross-validated",
            *(cell(cross, in_slice(n)) for n in SLICES),
            cell(cross, test_rows),
            end_section=True,
        )
        console.print(f"{label}: fitted setting {fitted} (grid index, factor); per fold: {chosen}")
    for retriever in ("dense", "lexical"):
        single = np.array([s.scores(base, retriever) for s in every])
        out.add_row(retriever, *(cell(single, in_slice(n)) for n in SLICES), cell(single, test_rows))
    console.print(out)
    for i, s in enumerate(tuned):
        if s.keyword:
            console.print(f"  keyword query {s.id}: fold {fold[i]}")


if __name__ == "__main__":
    main()
