"""The check every generated text goes through (answers, summaries, drafts): keep only the
citations of passages the model was given, number them, score each sentence's support, and name
the passage each citation points to."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant import citations
from assistant.citations import Numbering, SentenceSupport
from assistant.retrieval import Passage
from store.embedder import Embedder, Vectors
from store.paper import Paper, normalise

log = logging.getLogger(__name__)

ChunkVectors = Callable[[Sequence[str]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Citation:
    """One cited paper in one sentence: the passage it points to and how well it backs it."""

    key: str
    number: int
    passage: Passage
    support: float
    sentence: int


@dataclass(frozen=True)
class Reference:
    number: int
    paper: Paper

    def __str__(self) -> str:
        return f"[{self.number}] {self.paper.label}"


@dataclass
class Checked:
    """A generated text after the check."""

    raw_text: str = ""
    text: str = ""  # citations rendered as numbers, invented keys removed
    cited_keys: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    dropped_citations: list[str] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "text": self.text,
            "raw_text": self.raw_text,
            "references": references_json(self.references),
            "citations": citations_json(self.citations),
            "dropped_citations": self.dropped_citations,
            "sentences": sentences_json(self.sentences),
        }


def references_json(references: Sequence[Reference]) -> list[dict[str, object]]:
    return [
        {"number": r.number, "key": r.paper.key, "title": r.paper.title, "year": r.paper.year}
        for r in references
    ]


def citations_json(cites: Sequence[Citation]) -> list[dict[str, object]]:
    return [
        {
            "key": c.key,
            "number": c.number,
            "sentence": c.sentence,
            "support": c.support,
            "chunk_id": c.passage.chunk_id,
            "section": c.passage.section,
            "page": c.passage.page,
            "passage": c.passage.text,
        }
        for c in cites
    ]


def sentences_json(sentences: Sequence[SentenceSupport]) -> list[dict[str, object]]:
    return [{"text": s.text, "keys": list(s.keys), "support": s.score, "weak": s.weak} for s in sentences]


def check(
    raw: str,
    passages: Sequence[Passage],
    papers: dict[str, Paper],
    numbering: Numbering,
    embedder: Embedder,
    chunk_vectors: ChunkVectors,
    *,
    titles: Collection[str] = (),
) -> Checked:
    """``raw`` (citations as ``[@key]``) checked against the ``passages`` the model was given.
    A title written as a citation (``[@Some Paper]``, ``[A Paper Title]``; ``titles``: more
    normalised titles to recognise besides those of ``papers``) is removed and reported too."""
    allowed = {p.key for p in passages}
    known = {normalise(p.title) for p in papers.values() if p.title} | set(titles)
    raw, named = citations.drop_titles(raw, allowed, known)
    result = Checked(raw_text=raw)
    result.dropped_citations = list(dict.fromkeys([*citations.dropped_keys(raw, allowed), *named]))
    if result.dropped_citations:
        log.warning("removed citations of keys that were not given: %s", ", ".join(result.dropped_citations))
    kept = citations.cited_keys(raw, allowed)
    result.cited_keys = kept
    # a streamed text has numbered its citations already; the numbering gives them again
    result.text = citations.render(raw, allowed, numbering)
    vectors = chunk_vectors([p.chunk_id for p in passages if p.key in kept])
    evidence: dict[str, list[tuple[str, Vectors]]] = {}
    for p in passages:
        if p.key in kept and p.chunk_id in vectors:
            evidence.setdefault(p.key, []).append((p.text, vectors[p.chunk_id]))
    result.sentences = citations.support(raw, allowed, evidence, embedder.embed)
    by_key = {p.key: p for p in reversed(passages)}  # the first passage of each key
    for index, sentence in enumerate(result.sentences):
        for key in sentence.keys:
            passage = _best_passage(sentence, key, passages, evidence) or by_key[key]
            result.citations.append(
                Citation(key, numbering.number(key), passage, sentence.score or 0.0, index)
            )
    result.references = [Reference(numbering.number(key), papers[key]) for key in kept if key in papers]
    return result


def _best_passage(
    sentence: SentenceSupport,
    key: str,
    passages: Sequence[Passage],
    evidence: dict[str, list[tuple[str, Vectors]]],
) -> Passage | None:
    """The cited paper's passage sharing the most words with the sentence."""
    texts = {t for t, _ in evidence.get(key, [])}
    candidates = [p for p in passages if p.key == key and p.text in texts]
    if not candidates:
        return None
    words = set(re.findall(r"\w+", sentence.text.lower()))
    return max(candidates, key=lambda p: len(words & set(re.findall(r"\w+", p.text.lower()))))
