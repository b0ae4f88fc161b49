"""Calibrates when a model's refusal stands (``AnswerParameters.insist_above``), by
cross-validation over the development questions, from the answers a real model wrote.

    .venv/bin/python tests/bench/calibrate_insist.py REPORT.json [REPORT.json ...] [--folds 5] [--repeats 20]

A REPORT is what ``tests/bench/bench_llm.py --save DIR`` writes for answers
(``DIR/MODEL_VARIANT-answers.json``, every question with its evidence score and whether the model
declined). The evidence judgement refuses below a score of 1.0 on its own; a model that declines
above it is asked again, then answered for extractively — unless the score is below
``insist_above``, where the refusal stands. From a run made with ``insist_above = 1.0`` (every
decline above the judgement's threshold recorded) the refusals under any higher value follow
exactly. The value is chosen on k-1 folds of questions (negatives and answerable questions
split alike) — the most negatives refused with at most 5% of the answerable questions refused —
and measured on the fold left out, over several random splits; the table gives the held-out
figures beside those fitted on all the questions, and the value to ship.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

MAX_FALSE = 0.05


def refused(case: dict[str, Any], limit: float) -> bool:
    declined = case["model_declined"] and case["evidence"] is not None and case["evidence"] < limit
    return bool(case["refused"] or declined)


def counts(cases: list[dict[str, Any]], limit: float) -> tuple[int, int, int, int]:
    """(negatives refused, negatives, answerable refused, answerable) at ``limit``."""
    negatives = [c for c in cases if not c["gold"]]
    answerable = [c for c in cases if c["gold"]]
    return (
        sum(refused(c, limit) for c in negatives),
        len(negatives),
        sum(refused(c, limit) for c in answerable),
        len(answerable),
    )


def fit(cases: list[dict[str, Any]]) -> float:
    """The value with the most negatives refused at <= 5% false refusals (the smallest such)."""
    scores = sorted({c["evidence"] for c in cases if c["model_declined"] and c["evidence"] is not None})
    candidates = [1.0] + [(a + b) / 2 for a, b in itertools.pairwise(scores) if (a + b) / 2 > 1.0]
    best, best_refused = 1.0, -1
    for limit in candidates:
        neg, _, false, answerable = counts(cases, limit)
        if false <= MAX_FALSE * answerable and neg > best_refused:
            best, best_refused = limit, neg
    return best


def folds(cases: list[dict[str, Any]], k: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    parts: list[list[dict[str, Any]]] = [[] for _ in range(k)]
    for group in ([c for c in cases if not c["gold"]], [c for c in cases if c["gold"]]):
        group = group[:]
        rng.shuffle(group)
        for i, case in enumerate(group):
            parts[i % k].append(case)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20, help="random splits into folds")
    args = parser.parse_args()
    console = Console(width=150)
    table = Table(title=f"A model's refusal stands below an evidence score of ... ({args.folds}-fold CV)")
    columns = ("report", "questions", "value (all)", "fitted: negatives / false",
               "held out: negatives / false", "held-out values", "at 1.0")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for path in args.reports:
        data = json.loads(path.read_text())
        cases = [c for c in data["questions"] if c.get("error") is None and c.get("evidence") is not None]
        value = fit(cases)
        neg, negatives, false, answerable = counts(cases, value)
        held_neg, held_false, chosen = [], [], []
        for repeat in range(args.repeats):
            parts = folds(cases, args.folds, random.Random(repeat))
            total_neg = total_false = 0
            for i, test in enumerate(parts):
                train = [c for j, part in enumerate(parts) if j != i for c in part]
                limit = fit(train)
                chosen.append(limit)
                n, _, f, _ = counts(test, limit)
                total_neg, total_false = total_neg + n, total_false + f
            held_neg.append(total_neg)
            held_false.append(total_false)
        base = counts(cases, 1.0)
        table.add_row(
            path.stem,
            str(len(cases)),
            f"{value:.2f}",
            f"{neg}/{negatives} / {false}/{answerable}",
            f"{statistics.mean(held_neg):.1f}/{negatives} / {statistics.mean(held_false):.1f}/{answerable}",
            f"{min(chosen):.2f}–{max(chosen):.2f}",
            f"{base[0]}/{negatives} / {base[2]}/{answerable}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
