"""Paper-level ranking metrics and small statistics, on lists of keys (best first)."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def recall_at(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """The share of the gold papers among the first ``k`` (1 or 0 for a single gold paper)."""
    return len(set(ranked[:k]) & set(gold)) / len(gold) if gold else math.nan


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str], depth: int = 10) -> float:
    """1/rank of the first gold paper within ``depth``, else 0."""
    return next((1 / (i + 1) for i, key in enumerate(ranked[:depth]) if key in gold), 0.0)


def ndcg(ranked: Sequence[str], gold: Collection[str], depth: int = 10) -> float:
    """Normalised discounted cumulative gain with binary relevance, within ``depth``."""
    if not gold:
        return math.nan
    dcg = sum(1 / math.log2(i + 2) for i, key in enumerate(ranked[:depth]) if key in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), depth)))
    return dcg / ideal


def condensed(ranked: Sequence[str], partial: Collection[str]) -> list[str]:
    """The ranking without the borderline papers, which count neither as hits nor as misses."""
    return [key for key in ranked if key not in partial]


def mean(values: Sequence[float]) -> float:
    known = [v for v in values if not math.isnan(v)]
    return sum(known) / len(known) if known else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (``q`` in 0..100); NaN for no values."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def share(count: int, total: int) -> float:
    return count / total if total else math.nan


def json_ready(value: object) -> object:
    """JSON has no NaN: a figure with nothing to measure becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value
