"""Hybrid search: dense passages and abstract windows from Chroma and BM25 passages and sentences
from the lexical index, fused at the paper level (``assistant.fusion``), one hit per paper with
its strong passages (``assistant.passages``); and, for questions, the evidence judgement
(``assistant.evidence``) that decides whether the library can answer at all (refusal without
calling a model). What a search may return: ``assistant.filters``.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assistant import calibration
from assistant.errors import InvalidRequestError
from assistant.evidence import FIT, Evidence, EvidenceModel, measure, shipped
from assistant.filters import Filters
from assistant.fusion import RETRIEVERS, RetrieverName, Signals
from assistant.passages import Hit, Passage
from store.chroma import ChromaStore
from store.chunking import chunk_id, paper_key_of
from store.embedder import Embedder
from store.lexical import LexicalIndex, tokens
from store.paper import Paper
from store.sentences import split_sentences

__all__ = ["Retrieval", "RetrievalParameters", "Retriever", "strip_question"]

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]


def _fitted(name: str) -> Any:
    """A default fitted by cross-validation (``retrieval_fit.json``; ``assistant.evaluation.tuning``)."""
    return field(default_factory=lambda: float(calibration.shipped(FIT).parameters[name]))


@dataclass(frozen=True)
class RetrievalParameters:
    """How search ranks and when it refuses. The fusion weights and the refusal's operating
    point were chosen by cross-validation over questions (``assistant.evaluation.tuning``;
    ``tests/bench/bench_retrieval.py --write`` refits them and prints how they do)."""

    candidates: int = 100  # passages fetched from Chroma per query
    window_candidates: int = 400  # abstract windows fetched per query (several per paper)
    # zscore: hybrid ∝ v * z(dense) + w * z(lexical), each side the mean z-score of its two
    # signals, v = (how far the dense side's best paper stands out / 0.1) ** dense_separation,
    # w = lexical_weight + lexical_reliance * (the share of the question the lexical side's best
    # paper holds) ** reliance_power (assistant.fusion); rrf: reciprocal-rank fusion of the
    # signals' rankings (k=60) with the same weights, kept for comparison (--fusion rrf)
    fusion: Literal["zscore", "rrf"] = "zscore"
    dense_separation: float = _fitted("dense_separation")
    lexical_weight: float = _fitted("lexical_weight")
    lexical_reliance: float = _fitted("lexical_reliance")
    reliance_power: float = _fitted("reliance_power")
    passages_per_hit: int = 3
    # refuse below this calibrated probability that the library answers the question (the
    # operating point of retrieval_fit.json: at most 5% false refusals, out of fold)
    min_answerable_probability: float = _fitted("threshold")
    # ... and answer with a weak-evidence caveat below this one (the caution point: at most 10%
    # of answerable questions under it, out of fold)
    caution_probability: float = _fitted("caution")
    # the sentences of the windows nearest to the question as asked are embedded at query time
    # for the best-sentence cosine ...
    refusal_windows: int = 8
    refusal_abstracts: int = 2  # ... and of the nearest whole abstracts


@dataclass(frozen=True)
class Retrieval:
    hits: list[Hit]
    evidence: Evidence
    # the question's distinct terms (as the lexical index stems them) with their IDF in the
    # library (empty when the library has no lexical index). Extractive answers weigh a sentence's
    # words by them
    terms: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Gathered:
    """What a search measured before it ranks (``Retriever.gather``)."""

    signals: Signals
    # per paper, the passages found by either side: chunk id -> (rank credit, text, metadata)
    passages: Mapping[str, dict[str, tuple[float, str | None, dict[str, Any] | None]]]
    dense: Mapping[str, float]  # per paper, its best passage's cosine with the question
    dense_window: Mapping[str, float]  # ... and its best abstract window's
    asked: Vector | None  # the question as asked, embedded (when asked for)


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
        evidence_model: EvidenceModel | None = None,
    ):
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.parameters = parameters or RetrievalParameters()
        self.evidence_model = evidence_model or shipped()

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
            raise InvalidRequestError(
                f"unknown retriever {retriever!r}; choose one of {', '.join(RETRIEVERS)}"
            )
        if not query.strip():
            return Retrieval([], Evidence(False, 0.0, "the question is empty", probability=0.0))
        chosen = chosen.resolved(self.store)
        if chosen.keys is not None and not chosen.keys:
            why = "no paper in the library matches the filters (collections, tags, keys)"
            return Retrieval([], Evidence(False, 0.0, why, probability=0.0))
        found = self.gather(query, retriever=retriever, filters=chosen, asked=judge)
        signals = found.signals
        fused = signals.fused(self.parameters)
        hits = self._hits(signals.order(fused, k), found.passages, found.dense, signals, k)
        terms = dict(signals.lexical.idf) if signals.lexical is not None else {}
        if not judge:
            return Retrieval(hits, Evidence(bool(hits), 0.0, "not judged"), terms)
        assert found.asked is not None
        return Retrieval(hits, self._evidence(query, found.asked, chosen, signals, fused, hits), terms)

    def gather(
        self,
        query: str,
        *,
        retriever: RetrieverName = "hybrid",
        filters: Filters | Mapping[str, Any] | None = None,
        asked: bool = False,
    ) -> Gathered:
        """What one search measures before it ranks: the signals over the papers it reached,
        and the passages each side found. ``asked``: also embed the question as asked (the
        stripped question ranks; the question as asked decides refusal)."""
        chosen = Filters.of(filters).resolved(self.store)
        params = self.parameters
        passages: dict[str, dict[str, tuple[float, str | None, dict[str, Any] | None]]] = defaultdict(dict)
        dense_passage: dict[str, float] = {}
        dense_window: dict[str, float] = {}
        stripped = strip_question(query)
        texts = [stripped, query] if asked and stripped != query else [stripped]
        vectors = self.embedder.embed(texts) if asked or retriever != "lexical" else None
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
        signals = Signals(lexical, dense_passage, dense_window, retriever)
        vector = vectors[-1] if asked and vectors is not None else None
        return Gathered(signals, passages, dense_passage, dense_window, vector)

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
        signals: Signals,
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

    def _stand_in(self, paper: Paper, signals: Signals) -> str | None:
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
            return tuple(Passage.of(c) for c in first)
        return tuple(passages)

    def _evidence(
        self,
        query: str,
        asked: Vector,
        chosen: Filters,
        signals: Signals,
        fused: np.ndarray,
        hits: Sequence[Hit],
    ) -> Evidence:
        """The calibrated judgement (``assistant.evidence``) over what this search measured and
        the closest abstract sentence and window to the question as asked."""
        if not hits:
            return Evidence(False, 0.0, "no paper in the library matches the question", probability=0.0)
        sentence, window = self.closest(asked, chosen)
        features = measure(
            signals, fused, sentence=sentence, window=window, terms=len(set(tokens(query, query=True)))
        )
        params = self.parameters
        return self.evidence_model.judge(
            features, params.min_answerable_probability, params.caution_probability
        )

    def closest(self, vector: Vector, chosen: Filters | None = None) -> tuple[float, float]:
        """The best cosine of ``vector`` with a single sentence of the abstract windows nearest
        to it (embedded now: the library stores windows, not sentences), and with a window. A
        sentence is sharper than a window or a whole abstract: an off-topic question still
        shares a theme with a window's other sentence."""
        params = self.parameters
        where = (chosen or Filters()).where()
        windows = self.store.query_chunks(vector, params.refusal_windows, where, kind="window")
        nearest = [
            *windows,
            # papers whose abstract is too short for windows have only the abstract passage
            *self.store.nearest_abstracts(vector, params.refusal_abstracts, where),
        ]
        window = max((similarity for *_, similarity in nearest), default=-1.0)
        sentences = list(dict.fromkeys(s for _, text, _, _ in nearest for s in split_sentences(text or "")))
        if not sentences:
            return -1.0, window
        return float(np.max(self.embedder.embed(sentences) @ vector)), window


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
