"""Fusion on constructed queries where one side is noise: the per-query weights follow the side
that explains the question, and the hybrid ranking finds the paper either side alone finds."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.fusion import Signals
from assistant.retrieval import RetrievalParameters
from store.lexical import LexicalScores

N = 60
KEYS = [f"paper{i:02d}" for i in range(N)]
GOLD = "paper17"


def lexical_scores(passage: np.ndarray, coverage: np.ndarray) -> LexicalScores:
    return LexicalScores(
        papers=KEYS,
        index={k: i for i, k in enumerate(KEYS)},
        passage=passage.astype(np.float32),
        window=(0.8 * passage).astype(np.float32),
        allowed=np.ones(N, dtype=bool),
        _units=[],
        coverage=coverage.astype(np.float32),
        idf={"a": 2.0, "b": 3.0},
    )


def ranked(signals: Signals, params: RetrievalParameters) -> list[str]:
    return [key for key, _ in signals.ranked(params, 5)]


@pytest.mark.parametrize("seed", range(5))
def test_noisy_lexical_side_is_outweighed_by_a_clear_dense_leader(seed: int) -> None:
    """A paraphrase: BM25 matches one word of the question in an unrelated paper (high score,
    small share of the question); the embedder has a clear leader."""
    rng = np.random.default_rng(seed)
    dense = {k: float(rng.uniform(0.30, 0.45)) for k in KEYS}
    dense[GOLD] = 0.62
    passage = rng.uniform(0.0, 2.0, N)
    decoy = (KEYS.index(GOLD) + 1 + seed) % N
    passage[decoy] = 12.0  # the one rare word
    coverage = np.full(N, 0.05)
    coverage[decoy] = 0.15
    signals = Signals(
        lexical_scores(passage, coverage), dense, {k: v - 0.02 for k, v in dense.items()}, "hybrid"
    )
    params = RetrievalParameters()
    assert signals.reliance == pytest.approx(0.15)
    assert signals.lexical_weight(params) < 0.25  # the lexical side barely counts
    assert ranked(signals, params)[0] == GOLD
    lexical_only = Signals(lexical_scores(passage, coverage), dense, dense, "lexical")
    assert ranked(lexical_only, params)[0] != GOLD  # the lexical side alone is fooled


@pytest.mark.parametrize("seed", range(5))
def test_noisy_dense_side_is_outweighed_by_a_lexical_match_of_the_whole_question(seed: int) -> None:
    """A question in the corpus's words: the embedder's cosines are flat noise, one paper holds
    every term of the question."""
    rng = np.random.default_rng(seed)
    dense = {k: float(rng.uniform(0.40, 0.50)) for k in KEYS}
    dense[GOLD] = 0.40  # the embedder even puts it low
    passage = rng.uniform(0.0, 3.0, N)
    passage[KEYS.index(GOLD)] = 9.0
    coverage = rng.uniform(0.1, 0.5, N)
    coverage[KEYS.index(GOLD)] = 1.0
    signals = Signals(lexical_scores(passage, coverage), dense, dense, "hybrid")
    params = RetrievalParameters()
    assert signals.reliance == 1.0
    assert signals.lexical_weight(params) > signals.dense_weight(params)
    assert ranked(signals, params)[0] == GOLD
    dense_only = Signals(lexical_scores(passage, coverage), dense, dense, "dense")
    assert ranked(dense_only, params)[0] != GOLD


def test_weights_and_scale() -> None:
    """The lexical weight rises with the share of the question the lexical side explains, and
    weights 1 and 0.5 give the former ``dense + 0.5 * lexical`` scale."""
    params = RetrievalParameters(dense_separation=0.0, lexical_weight=0.5, lexical_reliance=0.0)
    rng = np.random.default_rng(0)
    dense = {k: float(rng.uniform(0.3, 0.6)) for k in KEYS}
    passage = rng.uniform(0.0, 5.0, N)
    signals = Signals(lexical_scores(passage, np.full(N, 0.5)), dense, dense, "hybrid")
    d, lex = signals.sides()
    assert np.allclose(signals.fused(params), d + 0.5 * lex)
    fitted = RetrievalParameters()
    low = Signals(lexical_scores(passage, np.full(N, 0.2)), dense, dense, "hybrid").lexical_weight(fitted)
    high = Signals(lexical_scores(passage, np.full(N, 0.9)), dense, dense, "hybrid").lexical_weight(fitted)
    assert high > low
