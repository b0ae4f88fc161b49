"""Which papers a topic is about: one selection shared by related-work drafts and comparison
tables.

A paper's score for a topic is its title-and-abstract vector's cosine with the topic as a share
of the best paper's cosine. It judges the paper by what it is about (its abstract), not by its
best passage (the hybrid search score the rule before used, whose best paper could stand so far
ahead that the share of it kept almost nothing); and it depends only on the papers near the
topic: papers on other subjects added to the library change no score (a z-score of the cosine
over the library did as well on the development topics, but adding the sample corpus's 250 NLP
papers to the seeds made every face paper stand out from the library, and precision fell from
0.7 to 0.2 at the same cut-off).

A topic with facets ("A (B, C)", "A of X, Y and Z") is also scored facet by facet ("A",
"A B", "A C"; "A of X", "A of Y", ...), as are the contributions of a user's own abstract, and a
paper keeps its best score over those the library judges answerable (``assistant.evidence``):
a paper on one facet is on the topic even when the whole topic's wording is nearer to another
facet's papers.

A second score, ``near``, also counts a paper's closest abstract window (a few sentences): its
cosine is the mean of the whole abstract's and that window's. A paper that treats the topic in
part of its abstract, beside other tasks (a face model evaluated on expressions and on action
units), is diluted in its whole-abstract vector and nearer in one window. Leave-one-topic-out
on the development topics it selects the wider sets better (cut-off fitted for F2: recall /
precision 0.76 / 0.67 -> 0.80 / 0.69) and the narrow ones worse (for F1: 0.74 / 0.79 -> 0.68 /
0.80): tables take it (``TableParameters``); drafts keep the abstract's score.

The cut-offs (``DraftParameters``, ``TableParameters``) were fitted on the four development
topics and checked leave-one-topic-out: tests/bench/bench_selection.py prints both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.filters import Filters
from assistant.retrieval import Retrieval, Retriever
from store.chroma import ChromaStore
from store.chunking import paper_key_of
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
    """Every paper the filters admit with its score for the topic (its best share of the best
    paper's cosine, over the queries that counted), best first, and the retrieval of the topic
    as given (its hits and evidence judgement)."""

    scores: dict[str, float]
    retrieval: Retrieval
    queries: tuple[str, ...]  # the topic, then its facets and the contributions that counted
    # the same, each paper's cosine the mean of its abstract's and its closest abstract window's
    near: dict[str, float] = field(default_factory=dict)

    @property
    def passages(self) -> dict[str, float]:
        """The papers the topic's search found, each with its hybrid score (its best passages)
        as a share of the best paper's, best first: what a paper's text says, where ``scores``
        is what its abstract is about."""
        hits = self.retrieval.hits
        best = max((h.score for h in hits), default=0.0)
        return {h.key: round(h.score / best, 4) if best > 0 else 0.0 for h in hits}

    def chosen(self, threshold: float, passages: float | None = None, *, near: bool = False) -> list[str]:
        """The papers scoring at least ``threshold`` (in ``near`` when asked), best first; with
        ``passages``, then the papers whose passages score at least that share, best first."""
        about = [k for k, s in (self.near if near else self.scores).items() if s >= threshold]
        if passages is None:
            return about
        found = [k for k, s in self.passages.items() if s >= passages and k not in about]
        return about + found


def closeness(
    vectors: dict[str, np.ndarray], query: np.ndarray, windows: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Each paper's cosine with ``query`` as a share of the best paper's (0 for all when no
    paper's cosine is positive); with ``windows`` (a paper's best abstract-window cosine with
    ``query``), the cosine is the mean of the abstract's and that window's (the abstract's
    alone for a paper without one)."""
    if not vectors:
        return {}
    keys = list(vectors)
    cosines = np.stack([vectors[k] for k in keys]) @ query
    if windows is not None:
        cosines = (cosines + np.array([windows.get(k, c) for k, c in zip(keys, cosines, strict=True)])) / 2
    best = float(cosines.max())
    shares = cosines / best if best > 1e-9 else np.zeros_like(cosines)
    return {k: round(float(v), 4) for k, v in zip(keys, shares, strict=True)}


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
    closeness over the topic, the topic's facets and the ``extra`` queries (a user's
    contributions), a facet or extra counting only when the library is judged to answer it.
    The topic itself is always judged: ``selection.retrieval.evidence``."""
    retrieval = retriever.retrieve(topic, k=candidates, filters=filters)
    vectors = store.paper_vectors(sorted(_admitted(store, filters)))
    queries = [topic]
    for query in [*facets(topic)[1:], *extra]:
        if (
            query not in queries
            and retriever.retrieve(query, k=candidates, filters=filters).evidence.answerable
        ):
            queries.append(query)
    best: dict[str, float] = {}
    near: dict[str, float] = {}
    for vector in embedder.embed(queries):
        asked = np.asarray(vector, dtype=np.float32)
        for key, share in closeness(vectors, asked).items():
            best[key] = max(best.get(key, -np.inf), share)
        for key, share in closeness(vectors, asked, _closest_windows(store, asked, filters)).items():
            near[key] = max(near.get(key, -np.inf), share)
    return Selection(_best_first(best), retrieval, tuple(queries), _best_first(near))


def _best_first(scores: dict[str, float]) -> dict[str, float]:
    return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))


WINDOWS = 400  # abstract windows fetched per query (several per paper; as many as a search's)


def _closest_windows(store: ChromaStore, query: np.ndarray, filters: Filters) -> dict[str, float]:
    """The best abstract-window cosine with ``query`` of each paper among the nearest windows
    (a paper not reached keeps its abstract's cosine alone)."""
    best: dict[str, float] = {}
    for chunk_id, _, _, similarity in store.query_chunks(
        query, WINDOWS, filters.where(), kind="window", texts=False, metadata=False
    ):
        key = paper_key_of(chunk_id)
        best[key] = max(best.get(key, -1.0), similarity)
    return best


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
