"""Hybrid search: dense passages and abstract windows from Chroma and BM25 passages and sentences
from the lexical index, fused by per-query z-scores at the paper level, one hit per paper with its
strong passages.

Also the evidence judgement that decides whether a question can be answered from the library at
all (refusal without calling a model).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from store.chroma import ChromaStore
from store.chunking import chunk_id, paper_key_of
from store.embedder import Embedder
from store.lexical import LexicalIndex, LexicalScores, tokens
from store.paper import Paper
from store.sentences import split_sentences

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
RetrieverName = Literal["hybrid", "dense", "lexical"]
RETRIEVERS: tuple[RetrieverName, ...] = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class Filters:
    """Which papers a search may return: a year range (inclusive; papers without a year are
    left out when one is given) and/or a set of keys."""

    years: tuple[int | None, int | None] | None = None
    keys: frozenset[str] | None = None

    @classmethod
    def of(cls, value: Filters | Mapping[str, Any] | None) -> Filters:
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value
        unknown = set(value) - {"years", "year_from", "year_to", "keys"}
        if unknown:
            raise ValueError(
                f"unknown filters {sorted(unknown)}; use years=(from, to), year_from, year_to, keys"
            )
        years = value.get("years")
        if years is None and ("year_from" in value or "year_to" in value):
            years = (value.get("year_from"), value.get("year_to"))
        keys = value.get("keys")
        return cls(
            years=tuple(years) if years is not None else None,
            keys=frozenset(keys) if keys is not None else None,
        )

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.years is not None:
            low, high = self.years
            if low is not None:
                clauses.append({"year": {"$gte": int(low)}})
            if high is not None:
                clauses.append({"year": {"$lte": int(high)}})
        if self.keys is not None:
            clauses.append({"paper_key": {"$in": sorted(self.keys)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass(frozen=True)
class Passage:
    """A chunk of a paper shown to a model or a reader."""

    key: str
    chunk_id: str
    text: str
    section: str | None = None
    page: int | None = None
    score: float = 0.0


@dataclass(frozen=True)
class Hit:
    """One paper found by a search: its best passage (``text``, ``chunk_id``) and its other
    strong passages (``passages``, best first, the best included)."""

    paper: Paper
    text: str
    score: float
    chunk_id: str
    passages: tuple[Passage, ...] = ()
    similarity: float = 0.0  # the best passage's cosine with the query (dense side)
    lexical: float = 0.0  # the best passage's BM25 score

    @property
    def key(self) -> str:
        return self.paper.key

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.paper.key,
            "title": self.paper.title,
            "year": self.paper.year,
            "score": self.score,
            "chunk_id": self.chunk_id,
            "text": self.text,
            "similarity": round(self.similarity, 4),
            "lexical": round(self.lexical, 4),
            "passages": [
                {"chunk_id": p.chunk_id, "text": p.text, "section": p.section} for p in self.passages
            ],
        }


@dataclass(frozen=True)
class Evidence:
    """Whether the hits can answer the question, and on what grounds."""

    answerable: bool
    score: float
    reason: str


@dataclass(frozen=True)
class RetrievalParameters:
    """How search ranks and when it refuses; the defaults come from the development questions
    (tests/bench/bench_retrieval.py prints what they give)."""

    candidates: int = 100  # passages fetched from Chroma per query
    window_candidates: int = 400  # abstract windows fetched per query (several per paper)
    # zscore: hybrid = z(dense) + weight * z(lexical), each side the mean z-score of its two
    # signals; rrf: reciprocal-rank fusion of the four signals' paper rankings (k=60), kept for
    # comparison: it ranks worse on the development questions (bench_retrieval.py --fusion rrf)
    fusion: Literal["zscore", "rrf"] = "zscore"
    lexical_weight: float = 0.5
    passages_per_hit: int = 3
    # refuse when no single abstract sentence comes this close to the question as asked
    # (cosine; the sentences of the windows nearest to it are embedded at query time) ...
    min_similarity: float = 0.48
    refusal_windows: int = 8  # windows whose sentences are embedded for that cosine ...
    refusal_abstracts: int = 2  # ... and whole abstracts
    # ... and the best paper's BM25 score does not stand out from the rest (z-score)
    min_lexical_z: float = 3.5
    min_coverage: float = 0.5  # ... for a paper holding at least this share of the question's words


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit]
    evidence: Evidence


class Retriever:
    """Ranks papers by fusing four signals, each z-normalised over the papers of the query: the
    cosine of the best passage (title and abstract, or a body chunk) and of the best abstract
    window with the question (dense), and the BM25 score of the best passage and of the best
    window (lexical). Per-query z-scores put cosines and BM25 on one scale, and a paper that
    stands out on several signals rises above one that is only close on one."""

    def __init__(
        self,
        store: ChromaStore,
        lexical: LexicalIndex,
        embedder: Embedder,
        parameters: RetrievalParameters | None = None,
    ):
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.parameters = parameters or RetrievalParameters()

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        retriever: RetrieverName = "hybrid",
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        return self._retrieve(query, k, retriever, Filters.of(filters), judge=False).hits

    def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        retriever: RetrieverName = "hybrid",
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> Retrieval:
        return self._retrieve(query, k, retriever, Filters.of(filters), judge=True)

    def _retrieve(
        self, query: str, k: int, retriever: RetrieverName, chosen: Filters, *, judge: bool
    ) -> Retrieval:
        """The hits, and (when ``judge``) the evidence judgement; plain searches skip it."""
        if retriever not in RETRIEVERS:
            raise ValueError(f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}")
        if not query.strip():
            return Retrieval([], Evidence(False, 0.0, "the question is empty"))
        params = self.parameters
        passages: dict[str, dict[str, tuple[float, str | None, dict[str, Any] | None]]] = defaultdict(dict)
        dense_passage: dict[str, float] = {}
        dense_window: dict[str, float] = {}
        stripped = strip_question(query)
        # the stripped question ranks; the question as asked decides refusal
        texts = [stripped, query] if judge and stripped != query else [stripped]
        vectors = self.embedder.embed(texts) if judge or retriever != "lexical" else None
        dense_sides = (
            ("passage", dense_passage, params.candidates),
            ("window", dense_window, params.window_candidates),
        )
        for kind, best, n in dense_sides if retriever != "lexical" else ():
            assert vectors is not None
            for rank, (cid, text, meta, similarity) in enumerate(
                self._nearest(vectors[0], kind, n, chosen), 1
            ):
                key = paper_key_of(cid)
                best[key] = max(best.get(key, -1.0), similarity)
                if kind == "passage":
                    _credit(passages[key], cid, text, meta, 1 / (10 + rank))
        self.lexical.ensure_current(self.store)
        lexical = self.lexical.scores(query, keys=chosen.keys, years=chosen.years)
        if lexical is not None and retriever != "dense":
            for rank, (cid, key, _score) in enumerate(lexical.top_passages(params.candidates), 1):
                _credit(passages[key], cid, None, None, 1 / (10 + rank))
        signals = _Signals(lexical, dense_passage, dense_window, retriever)
        hits = self._hits(signals.ranked(params, k), passages, dense_passage, signals, k)
        if not judge:
            return Retrieval(hits, Evidence(bool(hits), 0.0, "not judged"))
        assert vectors is not None
        return Retrieval(hits, self._evidence(query, vectors[-1], chosen, signals.lexical_z, hits))

    def _nearest(
        self, vector: Vector, kind: str, n: int, chosen: Filters
    ) -> list[tuple[str, str | None, dict[str, Any], float]]:
        """The ``n`` chunks of one kind nearest to ``vector``, without their texts (the hits
        read the few they show). Windows need no metadata: the key is in the id."""
        return self.store.query_chunks(
            vector, n, chosen.where(), kind=kind, texts=False, metadata=kind != "window"
        )

    def _hits(
        self,
        ranked: Iterator[tuple[str, float]],
        passages: Mapping[str, dict[str, tuple[float, str | None, dict[str, Any] | None]]],
        dense: Mapping[str, float],
        signals: _Signals,
        k: int,
    ) -> list[Hit]:
        """The ``k`` best papers, each with its strongest passages (found by either side), best
        first. Papers and passage texts are read in one batch each: a read per paper cost more
        than the search itself."""
        head_ranked = list(itertools.islice(ranked, 2 * k))
        head = self.store.get_many([key for key, _ in head_ranked])
        chosen: list[tuple[Paper, float, list[tuple[str, float, str | None, dict[str, Any] | None]]]] = []
        for rank, (key, score) in enumerate(itertools.chain(head_ranked, ranked)):
            paper = head.get(key) if rank < 2 * k else self.store.get(key)
            if paper is None:  # pending or removed meanwhile
                continue
            best = sorted(passages.get(key, {}).items(), key=lambda kv: -kv[1][0])
            shown = [
                (cid, s, text, meta) for cid, (s, text, meta) in best[: self.parameters.passages_per_hit]
            ]
            if not shown and (stand_in := self._stand_in(paper, signals)) is not None:
                shown = [(stand_in, 0.0, None, None)]
            chosen.append((paper, score, shown))
            if len(chosen) == k:
                break
        texts = self.store.chunk_texts(
            [cid for _, _, shown in chosen for cid, _, text, _ in shown if text is None]
        )
        hits: list[Hit] = []
        for paper, score, shown in chosen:
            found = self._passages(paper.key, shown, texts)
            if found:
                hits.append(
                    Hit(
                        paper=paper,
                        text=found[0].text,
                        score=round(score, 4),
                        chunk_id=found[0].chunk_id,
                        passages=found,
                        similarity=dense.get(paper.key, 0.0),
                        lexical=signals.lexical_of(paper.key),
                    )
                )
        return hits

    def _stand_in(self, paper: Paper, signals: _Signals) -> str | None:
        """The passage to show for a paper the search found through its abstract windows only:
        its abstract passage (whose id follows from its text), else its best passage by BM25.
        Read by id: asking Chroma for a paper's chunks filters the whole collection, 60 ms at a
        million chunks."""
        if paper.abstract:
            return chunk_id(paper.key, 0, paper.abstract)
        best = signals.lexical.best_passage(paper.key) if signals.lexical is not None else None
        return best[0] if best is not None else None

    def _passages(
        self,
        key: str,
        shown: list[tuple[str, float, str | None, dict[str, Any] | None]],
        texts: Mapping[str, tuple[str, dict[str, Any]]],
    ) -> tuple[Passage, ...]:
        """A hit's passages with their texts."""
        passages = []
        for cid, score, text, meta in shown:
            if text is None:
                text, meta = texts.get(cid, ("", {}))
            if text:
                meta = meta or {}
                passages.append(
                    Passage(key, cid, text, meta.get("section"), meta.get("page"), round(score, 4))
                )
        if not passages:  # no stand-in could be named, or it is gone: the paper's first passage
            first = self.store.chunks(key)[:1]
            return tuple(Passage(key, c.id, c.text, c.section, c.page, 0.0) for c in first)
        return tuple(passages)

    def _evidence(
        self, query: str, asked: Vector, chosen: Filters, lexical_z: float, hits: Sequence[Hit]
    ) -> Evidence:
        """Answerable when one paper's words stand out for the question, or else when a single
        abstract sentence is close to the question as asked. Neither signal alone separates
        unanswerable questions: wordy paraphrases have low cosines, and related-but-wrong papers
        share words. A sentence is sharper than a window or a whole abstract: an off-topic
        question still shares a theme with a window's other sentence."""
        params = self.parameters
        if not hits:
            return Evidence(False, 0.0, "no paper in the library matches the question")
        # one rare word is not a topic: the lexical signal counts only for a paper that holds
        # most of the question's words ("boiling point of ethanol" vs a paper on point clouds)
        coverage = _coverage(query, hits[:3])
        lexical = lexical_z / params.min_lexical_z if coverage >= params.min_coverage else 0.0
        reason = f"best paper's BM25 z-score {lexical_z:.1f}, {coverage:.0%} of the question's words"
        if lexical >= 1.0:  # the words settle it; no need to embed sentences
            return Evidence(True, round(lexical, 3), reason)
        similarity = self._sentence_similarity(asked, chosen)
        score = max(similarity / params.min_similarity, lexical)
        return Evidence(
            score >= 1.0, round(score, 3), f"closest abstract sentence {similarity:.2f} cosine; {reason}"
        )

    def _sentence_similarity(self, vector: Vector, chosen: Filters) -> float:
        """The best cosine of ``vector`` with a single sentence of the abstract windows nearest
        to it (embedded now: the library stores windows, not sentences)."""
        params = self.parameters
        where = chosen.where()
        nearest = [
            *self.store.query_chunks(vector, params.refusal_windows, where, kind="window"),
            # papers whose abstract is too short for windows have only the abstract passage
            *self.store.nearest_abstracts(vector, params.refusal_abstracts, where),
        ]
        sentences = list(dict.fromkeys(s for _, text, _, _ in nearest for s in split_sentences(text or "")))
        if not sentences:
            return -1.0
        return float(np.max(self.embedder.embed(sentences) @ vector))


class _Signals:
    """The four per-paper signals of one query over the papers it reached (its *universe*),
    fused into one ranking. In arrays: the lexical side scores every paper of the library, and
    at a million chunks (tens of thousands of papers) dictionaries of them cost more than the
    search itself."""

    def __init__(
        self,
        lexical: LexicalScores | None,
        dense_passage: dict[str, float],
        dense_window: dict[str, float],
        retriever: RetrieverName,
    ):
        self.retriever = retriever
        self.lexical = lexical
        self.lexical_z = 0.0
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
        self._dense = [
            values
            for side in (dense_passage, dense_window)
            if (values := self._dense_values(side, position)) is not None
        ]
        self._lex = []
        if lexical is not None and lexical.allowed.any():
            self._lex = [self._lexical_values(lexical, side) for side in (lexical.passage, lexical.window)]

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

    def fused(self, params: RetrievalParameters) -> np.ndarray:
        n = self.size
        combine = _mean_z if params.fusion == "zscore" else _rrf
        dense_z, lex_z = combine(self._dense, n), combine(self._lex, n)
        if self.retriever == "dense":
            return dense_z
        if self.retriever == "lexical":
            return lex_z
        return dense_z + params.lexical_weight * lex_z

    def ranked(self, params: RetrievalParameters, k: int) -> Iterator[tuple[str, float]]:
        """(key, fused score), best first, ties by key: the head is sorted first, the rest only
        when the hits need more papers (some were removed meanwhile)."""
        fused = self.fused(params)
        n = min(len(fused), 4 * k + 8)
        if n == 0:
            return
        head = np.argpartition(-fused, n - 1)[:n] if n < len(fused) else np.arange(len(fused))
        for part in (head, np.setdiff1d(np.arange(len(fused)), head)):
            for i in sorted(part.tolist(), key=lambda i: (-fused[i], self.key(i))):
                yield self.key(i), float(fused[i])


def _coverage(query: str, hits: Sequence[Hit]) -> float:
    """The largest share of the question's content words (stemmed) found in one hit's title
    and passages."""
    asked = set(tokens(query, query=True))
    if not asked:
        return 0.0
    best = 0.0
    for hit in hits:
        words = set(tokens(" ".join([hit.paper.title or "", *(p.text for p in hit.passages)])))
        best = max(best, len(asked & words) / len(asked))
    return best


def strip_question(query: str) -> str:
    """The question without the words that only ask ("Which papers ...", "Is there a ..."),
    for the embedder: they pull every question towards every abstract alike."""
    stripped = _ASKING.sub("", query.strip(), count=1)
    stripped = _IS_THERE.sub("", stripped, count=1)
    return stripped[:1].upper() + stripped[1:] if stripped else query


_ASKING = re.compile(
    r"^(which|what)\s+(papers|works|studies|articles|methods|approaches|publications)"
    r"(\s+in\s+the\s+(collection|library|corpus))?(\s+(are|do|does|that|which))?\s+",
    re.IGNORECASE,
)
_IS_THERE = re.compile(r"^(is|are)\s+there\s+(a|an|any)?\s*", re.IGNORECASE)


def _credit(
    found: dict[str, tuple[float, str | None, dict[str, Any] | None]],
    chunk_id: str,
    text: str | None,
    meta: dict[str, Any] | None,
    amount: float,
) -> None:
    score, old_text, old_meta = found.get(chunk_id, (0.0, None, None))
    found[chunk_id] = (score + amount, text if text is not None else old_text, meta or old_meta or {})


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
