"""Fusion: the four per-paper signals of one query (dense and lexical, each from whole passages
and from abstract windows) put on one scale and fused into one ranking.

Each signal is z-normalised over the papers the query reached (its *universe*), so cosines and
BM25 scores add up, and a paper that stands out on several signals rises above one that is only
close on one. Each side (dense, lexical) is the mean of its two z-scores, and per query

    hybrid ∝ v · z(dense) + w · z(lexical),
    v = (m / 0.1) ** dense_separation,    w = lexical_weight + lexical_reliance · c ** reliance_power

Each side counts by how much it tells about this question. ``m`` is how far the dense side's
best paper stands out from its next nine (in cosine): a question whose paper the embedder finds
has one clear leader, a question it cannot place has a flat top. ``c`` (0..1) is how much of the
question the lexical side's best paper accounts for: the IDF-weighted share of the question's
distinct terms that occur in it. A question in the corpus's own words (a method's name, a
dataset) lets BM25 pick its papers and has a high ``c``; a paraphrase shares few words with its
paper, BM25's best papers then match on a word or two and the dense side leads. A fixed weight was
a compromise that lost to dense on paraphrases and to BM25 on questions about several papers.
The weights are fitted by cross-validation over questions (``assistant.evaluation.tuning``); the
defaults in ``RetrievalParameters`` are what it chose. A further factor on ``w`` for queries shaped
as keyword phrases was tried and did not hold under cross-validation
(``tests/bench/bench_keyword_shape.py``): not used; nor is a linear scorer over per-paper
features learned from the questions (``tests/bench/trial_learned_fusion.py``), which wins the
paraphrase and keyword slices and loses multi-paper and aclsum MRR.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from store.lexical import LexicalScores

if TYPE_CHECKING:
    from assistant.retrieval import RetrievalParameters

RetrieverName = Literal["hybrid", "dense", "lexical"]
RETRIEVERS: tuple[RetrieverName, ...] = ("hybrid", "dense", "lexical")
DENSE_MARGIN = 0.1  # a usual margin of the dense side's best paper: the dense weight is 1 there


class Signals:
    """The four per-paper signals of one query over its universe, and their fusion. In arrays:
    the lexical side scores every paper of the library, and at a million chunks (tens of
    thousands of papers) dictionaries of them cost more than the search itself."""

    def __init__(
        self,
        lexical: LexicalScores | None,
        dense_passage: dict[str, float],
        dense_window: dict[str, float],
        retriever: RetrieverName,
    ):
        self.retriever = retriever
        self.lexical = lexical
        self._sides: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.lexical_z = 0.0  # the best paper's BM25 z-score over the library (within the filters)
        index = lexical.index if lexical is not None else {}
        dense_keys = list(dense_passage)
        members = np.array([index[key] for key in dense_keys if key in index], dtype=np.int64)
        if lexical is None:
            part = np.zeros(0, dtype=np.int64)
        else:
            values = lexical.passage[lexical.allowed]
            values = values if len(values) else np.zeros(1, dtype=np.float32)
            self.lexical_z = float((values.max() - values.mean()) / (values.std() + 1e-9))
            # the papers in the lexical index this query reached, as a mask over all of them
            reached = np.zeros(len(lexical.papers), dtype=bool)
            if retriever != "dense":
                reached = lexical.allowed & (lexical.passage > 0)
            if retriever != "lexical":
                reached[members] = True
            part = np.flatnonzero(reached)
        extra = [key for key in dense_keys if key not in index] if retriever != "lexical" else []
        self._papers = lexical.papers if lexical is not None else []
        self._extra = extra
        self._part = part
        self.size = len(part) + len(extra)
        # where each paper the dense side reached sits in the universe
        position = {key: len(part) + i for i, key in enumerate(extra)}
        for key in dense_keys:
            if key in index and len(part):
                at = int(np.searchsorted(part, index[key]))
                if at < len(part) and part[at] == index[key]:
                    position[key] = at
        self.dense = [
            values
            for side in (dense_passage, dense_window)
            if (values := self._dense_values(side, position)) is not None
        ]
        self.lex: list[np.ndarray] = []
        self.coverage = np.zeros(self.size)  # per paper of the universe (see LexicalScores)
        if lexical is not None and lexical.allowed.any():
            self.lex = [self._lexical_values(lexical, side) for side in (lexical.passage, lexical.window)]
            if len(lexical.coverage):
                self.coverage[: len(part)] = lexical.coverage[part]

    def _dense_values(self, side: dict[str, float], position: dict[str, int]) -> np.ndarray | None:
        """A dense signal over the universe; a paper it did not reach gets its lowest value."""
        if not side:
            return None
        values = np.full(self.size, min(side.values()), dtype=np.float64)
        for key, value in side.items():
            if key in position:
                values[position[key]] = value
        return values

    def _lexical_values(self, lexical: LexicalScores, per_paper: np.ndarray) -> np.ndarray:
        """A lexical signal over the universe; papers outside the filters get its lowest value."""
        floor = float(per_paper[lexical.allowed].min())
        values = np.full(self.size, floor, dtype=np.float64)
        values[: len(self._part)] = np.where(lexical.allowed[self._part], per_paper[self._part], floor)
        return values

    def lexical_of(self, key: str) -> float:
        """The BM25 score of the paper's best passage (0 when it has none or is filtered out)."""
        if self.lexical is None:
            return 0.0
        i = self.lexical.index.get(key)
        return float(self.lexical.passage[i]) if i is not None and self.lexical.allowed[i] else 0.0

    def key(self, i: int) -> str:
        return self._papers[int(self._part[i])] if i < len(self._part) else self._extra[i - len(self._part)]

    def sides(self, fusion: Literal["zscore", "rrf"] = "zscore") -> tuple[np.ndarray, np.ndarray]:
        """The dense and the lexical side over the universe (zeros for a side with no signal)."""
        if fusion not in self._sides:
            combine = _mean_z if fusion == "zscore" else _rrf
            self._sides[fusion] = (combine(self.dense, self.size), combine(self.lex, self.size))
        return self._sides[fusion]

    @property
    def reliance(self) -> float:
        """``c``: the share of the question (IDF-weighted terms) that the lexical side's best
        paper holds; 0 without a lexical side."""
        if not self.lex or not self.size:
            return 0.0
        _, lexical = self.sides()
        return float(self.coverage[int(np.argmax(lexical))])

    def lexical_weight(self, params: RetrievalParameters) -> float:
        """``w`` for this query (see the module's docstring)."""
        c = self.reliance
        return max(0.0, params.lexical_weight + params.lexical_reliance * c**params.reliance_power)

    @property
    def dense_margin(self) -> float:
        """``m``: the best paper's cosine (passage or window) above the mean of the next nine."""
        if not self.dense or self.size < 2:
            return DENSE_MARGIN
        best = np.sort(np.max(np.stack(self.dense), axis=0))[::-1]
        return float(best[0] - best[1:10].mean())

    def dense_weight(self, params: RetrievalParameters) -> float:
        """``v`` for this query (see the module's docstring)."""
        return float(max(self.dense_margin, 1e-6) / DENSE_MARGIN) ** params.dense_separation

    def fused(self, params: RetrievalParameters) -> np.ndarray:
        """Per paper of the universe, the fused score: for hybrid search the weighted mean of
        the two sides, scaled so that weights 1 and 0.5 give ``dense + 0.5 · lexical`` (the
        scale of the scores that answers and drafts compare against margins)."""
        dense, lexical = self.sides(params.fusion)
        if self.retriever == "dense":
            return dense
        if self.retriever == "lexical":
            return lexical
        v, w = self.dense_weight(params), self.lexical_weight(params)
        return 1.5 * (v * dense + w * lexical) / (v + w) if v + w > 0 else dense

    def ranked(self, params: RetrievalParameters, k: int) -> Iterator[tuple[str, float]]:
        """(key, fused score), best first, ties by key: the head is sorted first, the rest only
        when the hits need more papers (some were removed meanwhile)."""
        yield from self.order(self.fused(params), k)

    def order(self, fused: np.ndarray, k: int) -> Iterator[tuple[str, float]]:
        n = min(len(fused), 4 * k + 8)
        if n == 0:
            return
        head = np.argpartition(-fused, n - 1)[:n] if n < len(fused) else np.arange(len(fused))
        for part in (head, np.setdiff1d(np.arange(len(fused)), head)):
            for i in sorted(part.tolist(), key=lambda i: (-fused[i], self.key(i))):
                yield self.key(i), float(fused[i])


def _rrf(sides: Sequence[np.ndarray], n: int, k: int = 60) -> np.ndarray:
    """Reciprocal-rank fusion of each signal's ranking of the universe (the papers a signal
    did not reach last)."""
    fused = np.zeros(n)
    for values in sides:
        ranks = np.empty(n)
        ranks[np.argsort(-values, kind="stable")] = np.arange(1, n + 1)
        fused += 1 / (k + ranks)
    return fused


def _mean_z(sides: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The mean of the signals' z-scores over the universe (a paper a signal did not reach has
    that signal's lowest value)."""
    total = np.zeros(n)
    for values in sides:
        total += (values - values.mean()) / (values.std() + 1e-9)
    return total / max(len(sides), 1)
