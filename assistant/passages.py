"""What a search finds and every writer reads: passages (a chunk of a paper shown to a model or
a reader) and hits (one paper found, with its strong passages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.paper import Chunk, Paper

__all__ = ["Hit", "Passage"]


@dataclass(frozen=True)
class Passage:
    """A chunk of a paper shown to a model or a reader."""

    key: str
    chunk_id: str
    text: str
    section: str | None = None
    page: int | None = None
    score: float = 0.0

    @classmethod
    def of(cls, chunk: Chunk, score: float = 0.0) -> Passage:
        """A stored chunk as a passage."""
        return cls(chunk.paper_key, chunk.id, chunk.text, chunk.section, chunk.page, round(score, 4))


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
