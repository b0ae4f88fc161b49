"""Paper summaries: a paper's representative passages → the model (or their most central
sentences) → a checked ``Summary``; several papers at once → ``Summaries``, one cited line per
paper and a short synthesis.

The passages come from every section of a long paper (``assistant.sections``); without a model,
the summary is their most central sentences (``assistant.extractive``). The model writes through
the shared core (``assistant.generation``), whose check every citation passes, as an answer's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from assistant import citations, extractive
from assistant.citations import Numbering, SentenceSupport
from assistant.errors import InvalidRequestError, NothingToSummarizeError
from assistant.generation import Job, Mode, Writer, WritingParameters, Written, choose_mode
from assistant.grounding import Checked, ChunkVectors, Citation, Reference
from assistant.llm import Chat, Usage
from assistant.passages import Passage
from assistant.sections import representative_passages
from store.embedder import Embedder, Vectors
from store.paper import Chunk, Paper, normalise

log = logging.getLogger(__name__)

Length = Literal["sentence", "short", "long"]
LENGTHS: tuple[Length, ...] = ("sentence", "short", "long")
# words of passages read for one paper, and per paper when several are summarised together
PASSAGE_WORDS: dict[str, int] = {"sentence": 1200, "short": 1200, "long": 2400}
PAPER_WORDS: dict[str, int] = {"sentence": 300, "short": 300, "long": 600}
MANY_WORDS = 3000
# extractive: how many sentences, at most how many from one passage, how many for a synthesis
SENTENCES: dict[str, int] = {"sentence": 1, "short": 3, "long": 8}
PER_PASSAGE: dict[str, int] = {"sentence": 1, "short": 1, "long": 2}
SYNTHESIS_SENTENCES: dict[str, int] = {"sentence": 1, "short": 2, "long": 3}
LONG_MAX_TOKENS = 1000  # four paragraphs need more than an answer's default budget


def _passages(passages: Sequence[Passage]) -> list[dict[str, object]]:
    return [
        {"key": p.key, "chunk_id": p.chunk_id, "section": p.section, "page": p.page, "text": p.text}
        for p in passages
    ]


@dataclass(kw_only=True)
class _Checked:
    """What summaries share: the checked text and its parts."""

    mode: Mode
    length: Length
    passages: list[Passage]
    checked: Checked
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)  # a retry after the model declined, a fallback

    @property
    def text(self) -> str:
        """Citations rendered as reference numbers; invented keys and titles removed."""
        return self.checked.text

    @property
    def raw_text(self) -> str:
        """What the model wrote (or the extracted sentences), citations as ``[@key]``."""
        return self.checked.raw_text

    @property
    def model_text(self) -> str:
        """What the model wrote, as it wrote it ("" for an extractive text)."""
        return self.checked.model_text

    @property
    def citations(self) -> list[Citation]:
        return self.checked.citations

    @property
    def references(self) -> list[Reference]:
        return self.checked.references

    @property
    def dropped_citations(self) -> list[str]:
        """Keys (or bracketed titles) the model cited that were not among its passages."""
        return self.checked.dropped_citations

    @property
    def sentences(self) -> list[SentenceSupport]:
        return self.checked.sentences

    @property
    def grounded(self) -> bool:
        """Whether the text cites at least one of its passages."""
        return bool(self.citations)

    def _common(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "length": self.length,
            **self.checked.to_dict(),
            "grounded": self.grounded,
            "notes": self.notes,
            "passages": _passages(self.passages),
            "usage": self.usage.to_dict(),
        }

    def _reference_lines(self) -> list[str]:
        return ["", *(str(r) for r in self.references)] if self.references else []

    def __str__(self) -> str:
        return self.text


@dataclass(kw_only=True)
class Summary(_Checked):
    """A paper's summary, cited to the passages it was made from."""

    paper: Paper
    focus: str | None = None

    @property
    def key(self) -> str:
        return self.paper.key

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"key": self.key, "title": self.paper.title, "year": self.paper.year, "focus": self.focus} | (
            self._common()
        )

    def markdown(self) -> str:
        """A heading, the summary, its numbered references."""
        label = "extractive summary" if self.mode == "extractive" else "summary"
        year = f" ({self.paper.year})" if self.paper.year else ""
        return "\n".join(
            [f"## {self.paper.label}{year}", "", f"*{label}*", "", self.text, *self._reference_lines()]
        )

    def __repr__(self) -> str:
        return f"<Summary {self.mode} {self.length}: {self.key}>"


@dataclass(frozen=True)
class PaperLine:
    """One paper's line in ``Summaries``: ``key`` is the first paper it cites."""

    key: str | None
    text: str
    raw_text: str


@dataclass(kw_only=True)
class Summaries(_Checked):
    """Several papers summarised together: one cited line per paper, then a short synthesis."""

    papers: list[Paper]
    query: str | None = None
    lines: list[PaperLine] = field(default_factory=list)
    synthesis: str = ""  # citations rendered as numbers

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "papers": [{"key": p.key, "title": p.title, "year": p.year} for p in self.papers],
            "query": self.query,
            "lines": [{"key": line.key, "text": line.text, "raw_text": line.raw_text} for line in self.lines],
            "synthesis": self.synthesis,
        } | self._common()

    def markdown(self) -> str:
        """A bullet per paper, the synthesis, the numbered references."""
        parts = [f"- {line.text}" for line in self.lines]
        if self.synthesis:
            parts += ["", self.synthesis] if parts else [self.synthesis]
        return "\n".join(parts + self._reference_lines())

    def __repr__(self) -> str:
        return f"<Summaries {self.mode} {self.length}: {', '.join(p.key for p in self.papers)}>"


class Summarizer:
    """Summaries: the store gives a paper's passages, the chat model (if any) writes, the code
    checks."""

    def __init__(
        self,
        chunks: Callable[[str], list[Chunk]],
        chunk_vectors: ChunkVectors,
        embedder: Embedder,
        chat: Chat | None,
        library_papers: Callable[[], list[Paper]],
        writing: WritingParameters | None = None,
    ):
        self._chunks = chunks
        self._chunk_vectors = chunk_vectors
        self.embedder = embedder
        self.chat = chat
        self._library_papers = library_papers
        self.writing = writing

    # -- one paper -------------------------------------------------------------------------------

    def summarize(
        self, paper: Paper, *, length: Length = "short", focus: str | None = None, mode: Mode | None = None
    ) -> Summary:
        mode = self._mode(mode)
        _check_length(length)
        focus = focus.strip() if focus and focus.strip() else None
        focus_vector = extractive.focus_vector(focus, self.embedder.embed) if focus else None
        passages = self.passages(paper.key, words=PASSAGE_WORDS[length], focus=focus_vector)
        summary = partial(Summary, paper=paper, focus=focus, length=length)
        job = Job(
            prompt="summarize",
            values={
                "title": paper.title or paper.label,
                "year": paper.year,
                "length": length,
                "focus": focus,
            },
            passages=passages,
            papers={paper.key: paper},
            fallback=lambda chosen: extractive.summary(
                chosen,
                self.embedder.embed,
                SENTENCES[length],
                PER_PASSAGE[length],
                focus_vector,
                focus_text=focus,
            ),
            task="summarise the paper.",
            max_tokens=self._max_tokens(length),
            trim=_trim,
            titles=self._titles(),
        )
        written = self._write(job, mode)
        return summary(
            mode=written.mode, passages=written.passages, checked=written.checked, usage=written.usage,
            notes=written.notes,
        )  # fmt: skip

    def passages(self, key: str, *, words: int, focus: Vectors | None = None) -> list[Passage]:
        """The passages that stand for a paper (``assistant.sections``); the first passage
        when none is prose."""
        chunks = self._chunks(key)
        if not chunks:
            raise NothingToSummarizeError(
                f"The paper {key!r} has no passages to summarise - add it again from a file with its "
                "abstract or full text"
            )
        vectors = self._chunk_vectors([c.id for c in chunks])
        chosen = representative_passages(chunks, vectors, words=words, focus=focus)
        first = chunks[0]
        return chosen or [Passage.of(first)]

    # -- several papers --------------------------------------------------------------------------

    def summarize_many(
        self,
        papers: Sequence[Paper],
        *,
        length: Length = "short",
        mode: Mode | None = None,
        query: str | None = None,
    ) -> Summaries:
        mode = self._mode(mode)
        _check_length(length)
        words = min(PAPER_WORDS[length], max(150, MANY_WORDS // max(1, len(papers))))
        chosen: dict[str, list[Passage]] = {}
        for paper in papers:
            try:
                chosen[paper.key] = self.passages(paper.key, words=words)
            except NothingToSummarizeError:
                log.warning("left out %s: it has no passages", paper.key)
        kept = [p for p in papers if p.key in chosen]
        if not kept:
            raise NothingToSummarizeError("None of the papers has passages to summarise")
        by_key = {p.key: p for p in kept}
        passages = [p for key in chosen for p in chosen[key]]

        def fallback(given: list[Passage]) -> str:
            left = {key: [p for p in given if p.key == key] for key in chosen}
            lines, synthesis = extractive.lines_and_synthesis(
                {key: found for key, found in left.items() if found},
                self.embedder.embed,
                SYNTHESIS_SENTENCES[length],
            )
            return _joined(lines, synthesis)

        job = Job(
            prompt="summarize_many",
            values={"topic": query, "length": length},
            passages=passages,
            papers=by_key,
            fallback=fallback,
            task="write the line for each paper, then the synthesis.",
            max_tokens=self._max_tokens(length),
            trim=lambda given: [p for key in chosen for p in _trim([x for x in given if x.key == key])],
            arrange=lambda rows: {"papers": _by_paper(rows, kept)},
            titles=self._titles(),
            prepare=lambda text: _joined(*split_lines(text)),
            structured=False,  # one line per paper: the layout is the text's own
        )
        written = self._write(job, mode)
        lines, synthesis = split_lines(written.checked.raw_text)
        numbering = Numbering()  # as the check numbered: by first appearance
        allowed = set(by_key)
        return Summaries(
            papers=kept,
            query=query,
            length=length,
            mode=written.mode,
            passages=written.passages,
            checked=written.checked,
            usage=written.usage,
            notes=written.notes,
            lines=[
                PaperLine(
                    next(iter(citations.cited_keys(line, allowed)), None),
                    citations.render(line, allowed, numbering),
                    line,
                )
                for line in lines
            ],
            synthesis=citations.render(synthesis, allowed, numbering),
        )

    # -- writing ---------------------------------------------------------------------------------

    def _write(self, job: Job, mode: Mode) -> Written:
        writer = Writer(self.chat, self.embedder, self._chunk_vectors, self.writing)
        if mode == "extractive":
            return writer.extractive(job, Numbering())
        return writer.write(job, Numbering())

    def _titles(self) -> set[str]:
        return {normalise(p.title) for p in self._library_papers() if p.title}

    def _mode(self, mode: Mode | None) -> Mode:
        return choose_mode(mode, self.chat, "summarise")

    def _max_tokens(self, length: Length) -> int | None:
        if self.chat is None or length != "long":
            return None
        return max(self.chat.max_tokens, LONG_MAX_TOKENS)


def _check_length(length: str) -> None:
    if length not in LENGTHS:
        raise InvalidRequestError(f"unknown summary length {length!r}; choose sentence, short or long")


# -- the model's text ----------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_HEADING = re.compile(r"^\W*(?:synthesis|summary|overall|in common|together)\W*(?::\W*|$)", re.IGNORECASE)


def split_lines(written: str) -> tuple[list[str], str]:
    """A model's ``summarize_many`` text as per-paper lines and a synthesis: bullets are paper
    lines and the rest the synthesis; without bullets, every line but the last paragraph."""
    rows = [r.strip() for r in written.strip().splitlines()]
    bullets = [_BULLET.sub("", r) for r in rows if _BULLET.match(r)]
    if bullets:
        rest = [r for r in rows if r and not _BULLET.match(r)]
    else:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", written.strip()) if p.strip()]
        if len(paragraphs) > 1:
            bullets = [r.strip() for p in paragraphs[:-1] for r in p.splitlines() if r.strip()]
            rest = [" ".join(paragraphs[-1].split())]
        else:
            lines = [r for r in rows if r]
            bullets, rest = lines[:-1], lines[-1:]
    rest = [_HEADING.sub("", r).strip() for r in rest]
    return [b for b in bullets if b], " ".join(r for r in rest if r)


def _joined(lines: Sequence[str], synthesis: str) -> str:
    """Per-paper lines and a synthesis as one text (a blank line between)."""
    return "\n".join(lines) + ("\n\n" if lines and synthesis else "") + synthesis


def _by_paper(rows: list[dict[str, object]], papers: Sequence[Paper]) -> list[dict[str, object]]:
    """The labelled passages grouped under their papers, in the papers' order."""
    return [
        {"title": p.title or p.label, "year": p.year, "passages": [r for r in rows if r["key"] == p.key]}
        for p in papers
    ]


def _trim(passages: list[Passage]) -> list[Passage]:
    """Half the passages: the first (the abstract), then the most central, in reading order."""
    keep = max(1, len(passages) // 2)
    best = sorted(passages[1:], key=lambda p: -p.score)[: keep - 1]
    return [p for p in passages if p is passages[0] or p in best]
