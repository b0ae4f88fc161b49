"""Split a paper into chunks: the abstract is always a chunk of its own, the body is split by
llama-index's SentenceSplitter within each section, sizes counted in the embedder's tokens.

The abstract also gives search windows: runs of two sentences, so that a question about one
detail of a paper meets that detail, not the whole abstract's average
(tests/bench/bench_retrieval.py measures what they add)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from store.paper import Chunk, Document
from store.sentences import windows

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter


class Chunker:
    def __init__(self, *, chunk_size: int, chunk_overlap: int, tokenizer: Callable[[str], list[int]]):
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._tokenizer = tokenizer

    @cached_property
    def _splitter(self) -> SentenceSplitter:
        # imported on first use: llama-index takes ~2 s to import, and only ingest needs it
        from llama_index.core.node_parser import SentenceSplitter

        # our tokenizer, so llama-index never fetches tiktoken's encodings
        return SentenceSplitter(
            chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap, tokenizer=self._tokenizer
        )

    def chunks(self, document: Document, key: str) -> list[Chunk]:
        pieces: list[tuple[str, str | None, int | None]] = []
        if document.paper.abstract:
            pieces.append((document.paper.abstract, "Abstract", None))
        for section in document.sections:
            for text in self._splitter.split_text(section.text):
                if text.strip():
                    pieces.append((text, section.heading, section.page))
        if not pieces and document.paper.title:
            pieces.append((document.paper.title, None, None))  # a title-only BibTeX entry
        chunks = [
            Chunk(
                id=chunk_id(key, ordinal, text),
                paper_key=key,
                text=text,
                ordinal=ordinal,
                section=heading,
                page=page,
            )
            for ordinal, (text, heading, page) in enumerate(pieces)
        ]
        abstract_windows = windows(document.paper.abstract or "")
        if len(abstract_windows) > 1:
            chunks += [
                Chunk(
                    chunk_id(key, len(chunks) + i, text),
                    key,
                    text,
                    len(chunks) + i,
                    "Abstract",
                    kind="window",
                )
                for i, text in enumerate(abstract_windows)
            ]
        return chunks


def chunk_id(key: str, ordinal: int, text: str) -> str:
    return f"{key}:{ordinal:05d}:{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def paper_key_of(chunk_id: str) -> str:
    """The key of the paper a chunk id belongs to (a key may itself hold colons)."""
    return chunk_id.rsplit(":", 2)[0]


def ordinal_of(chunk_id: str) -> int:
    """A chunk's place in its paper (the ordinal in its id): passages in reading order."""
    return int(chunk_id.rsplit(":", 2)[1])


def embedding_text(title: str | None, text: str, kind: str = "passage") -> str:
    """What the embedder sees for a chunk: the paper's title, then the passage (windows are
    embedded alone: the title would pull every window of a paper to the same place)."""
    return f"{title}\n\n{text}" if title and kind == "passage" else text
