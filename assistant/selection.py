"""Which papers a topic is about: one selection shared by related-work drafts and comparison
tables.

A paper's score for a topic is how far its title-and-abstract vector's cosine with the topic
stands above the library's: a z-score of that cosine over the papers the filters admit. It
judges the paper by what it is about (its abstract), not by its best passage, and on a scale
that does not depend on how many candidates a search fetched nor on how far the best paper
stands out (the share of the best paper's hybrid score used before: a topic whose best paper is
far ahead of the rest kept almost nothing). A paper is in when its score reaches a cut-off in
standard deviations.

A topic with facets ("A (B, C)", "A of X, Y and Z") is also searched facet by facet ("A",
"A B", "A C"; "A of X", "A of Y", ...), and a paper keeps its best score over the topic and the
facets the library judges answerable (``assistant.evidence``), as it does for the
contributions of a user's own abstract: a paper on one facet is on the topic even when the
whole topic's wording is nearer to another facet's papers.

Measured over the four development topics with leave-one-topic-out (tests/bench/bench_selection.py
prints it): the one constant, the cut-off for a draft, came out the same in every fold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.retrieval import Filters, Retrieval, Retriever
from store.chroma import ChromaStore
from store.embedder import Embedder

_PARENTHESIS = re.compile(r"^(?P<head>[^()]*?)\s*\((?P<inner>[^()]+)\)\s*$")
_LIST = re.compile(r"\s*(?:,|;|\band\b|\bor\b)\s*")
_OF = re.compile(r"^(?P<lead>.*?\b(?:of|for|in|on|from|with))\s+(?P<rest>.+)$")


def facets(topic: str) -> list[str]:
    """The facets of a topic worth searching on their own, the topic itself first:
    "A (B, C)" gives "A", "A B", "A C"; a listed head "A, B and C" gives each item, a
    one-word item completed from the first item ("3D face reconstruction, modeling" →
    "3D face modeling"). A topic without parentheses or a comma list is its only facet."""
    text = " ".join(topic.split())
    found = [text]
    parenthesis = _PARENTHESIS.match(text)
    head = parenthesis.group("head") if parenthesis else text
    if parenthesis:
        parts = [p for p in _LIST.split(parenthesis.group("inner")) if p]
        found += [head, *(f"{head} {p}" for p in parts)]
    if "," in head:
        lead, rest = "", head
        of = _OF.match(head)
        if of and "," not in of.group("lead"):
            lead, rest = of.group("lead") + " ", of.group("rest")
        items = [p for p in _LIST.split(rest) if p]
        if len(items) > 1:
            first = items[0].split()
            for item in items:
                words = item if len(item.split()) > 1 else " ".join([*first[:-1], item])
                found.append(lead + words)
    return list(dict.fromkeys(f for f in found if f.strip()))


@dataclass(frozen=True)
class Selection:
    """Every paper the filters admit with its scores for the topic, in standard deviations
    above the library's mean cosine, best first: ``scores`` over the topic (and the user's
    contributions), ``wide`` also over the topic's facets; and the retrieval of the topic as
    given (its hits and evidence judgement)."""

    scores: dict[str, float]
    wide: dict[str, float]
    retrieval: Retrieval
    queries: tuple[str, ...]  # the topic and the contributions that counted
    facets: tuple[str, ...]  # the facets that counted

    def chosen(self, threshold: float, *, wide: bool = False) -> list[str]:
        """The papers scoring at least ``threshold`` (``wide``: by their best facet), best first."""
        scores = self.wide if wide else self.scores
        return [k for k, s in scores.items() if s >= threshold]


def standing(vectors: dict[str, np.ndarray], query: np.ndarray) -> dict[str, float]:
    """Each paper's cosine with ``query`` as a z-score over these papers (0 for all when they
    do not differ)."""
    if not vectors:
        return {}
    keys = list(vectors)
    cosines = np.stack([vectors[k] for k in keys]) @ query
    spread = float(cosines.std())
    z = (cosines - cosines.mean()) / spread if spread > 1e-9 else np.zeros_like(cosines)
    return {k: round(float(v), 4) for k, v in zip(keys, z, strict=True)}


def select(
    store: ChromaStore,
    retriever: Retriever,
    embedder: Embedder,
    topic: str,
    *,
    filters: Filters,
    extra: Sequence[str] = (),
    candidates: int = 40,
) -> Selection:
    """Score every paper ``filters`` admit (resolved: keys and years) for ``topic``: its best
    standing over the topic, the topic's facets and the ``extra`` queries (a user's
    contributions), a facet or extra counting only when the library is judged to answer it.
    The topic itself is always judged: ``selection.retrieval.evidence``."""
    retrieval = retriever.retrieve(topic, k=candidates, filters=filters)
    vectors = store.paper_vectors(sorted(_admitted(store, filters)))

    def answerable(query: str) -> bool:
        return retriever.retrieve(query, k=candidates, filters=filters).evidence.answerable

    queries = [topic, *(q for q in dict.fromkeys(extra) if q != topic and answerable(q))]
    aspects = [f for f in facets(topic)[1:] if f not in queries and answerable(f)]
    standings = [
        standing(vectors, np.asarray(v, dtype=np.float32)) for v in embedder.embed([*queries, *aspects])
    ]
    scores = _best(standings[: len(queries)])
    wide = _best(standings)
    return Selection(scores, wide, retrieval, tuple(queries), tuple(aspects))


def _best(standings: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each paper's best score over these queries, best first."""
    best: dict[str, float] = {}
    for scores in standings:
        for key, z in scores.items():
            best[key] = max(best.get(key, -np.inf), z)
    return dict(sorted(best.items(), key=lambda kv: (-kv[1], kv[0])))


def _admitted(store: ChromaStore, filters: Filters) -> set[str]:
    """The active papers the (resolved) filters admit: keys, and years (a paper without a year
    is left out when a range is given, as in search)."""
    low, high = filters.years if filters.years is not None else (None, None)
    return {
        p.key
        for p in store.papers()
        if (filters.keys is None or p.key in filters.keys)
        and (
            filters.years is None
            or (p.year is not None and (low is None or p.year >= low) and (high is None or p.year <= high))
        )
    }
