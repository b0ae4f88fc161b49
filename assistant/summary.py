"""Paper summaries: a paper's representative passages → the model (or their most central
sentences) → a checked ``Summary``; several papers at once → ``Summaries``, one cited line per
paper and a short synthesis.

The passages come from every section of a long paper (``assistant.sections``); without a model,
the summary is their most central sentences (``assistant.extractive``). Every citation is checked
by ``assistant.grounding.check`` like an answer's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import prompts
from assistant import citations, extractive
from assistant.answer import Mode
from assistant.citations import Numbering, SentenceSupport
from assistant.errors import ContextTooLongError, NothingToSummarizeError
from assistant.grounding import Checked, ChunkVectors, Citation, Reference, check
from assistant.llm import ChatModel, Usage
from assistant.retrieval import Passage
from assistant.sections import ABSTRACT, representative_passages
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

    @property
    def text(self) -> str:
        """Citations rendered as reference numbers; invented keys and titles removed."""
        return self.checked.text

    @property
    def raw_text(self) -> str:
        """What the model wrote (or the extracted sentences), citations as ``[@key]``."""
        return self.checked.raw_text

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
        chat: ChatModel | None,
        library_papers: Callable[[], list[Paper]],
    ):
        self._chunks = chunks
        self._chunk_vectors = chunk_vectors
        self.embedder = embedder
        self.chat = chat
        self._library_papers = library_papers

    # -- one paper -------------------------------------------------------------------------------

    def summarize(
        self, paper: Paper, *, length: Length = "short", focus: str | None = None, mode: Mode | None = None
    ) -> Summary:
        mode = self._mode(mode)
        _check_length(length, mode)
        focus = focus.strip() if focus and focus.strip() else None
        focus_vector = extractive.focus_vector(focus, self.embedder.embed) if focus else None
        passages = self.passages(paper.key, words=PASSAGE_WORDS[length], focus=focus_vector)
        summary = partial(Summary, paper=paper, focus=focus, length=length, mode=mode)
        if mode == "extractive":
            raw = extractive.summary(
                passages,
                self.embedder.embed,
                SENTENCES[length],
                PER_PASSAGE[length],
                focus_vector,
                focus_text=focus,
            )
            checked = self._check(raw, passages, {paper.key: paper}, Numbering())
            return summary(passages=passages, checked=checked)
        chat = self._need_chat()
        for attempt in (0, 1):
            messages = prompts.load("summarize").messages(
                key=paper.key,
                title=paper.title or paper.label,
                year=paper.year,
                length=length,
                focus=focus,
                passages=[_shown(p) for p in passages],
            )
            try:
                completion = chat.complete(messages, max_tokens=self._max_tokens(length))
                break
            except ContextTooLongError:
                if attempt == 1 or len(passages) <= 1:
                    raise
                log.info("prompt too long for %s; retrying with half the passages", chat.describe())
                passages = _trim(passages)
        checked = self._check(completion.text, passages, {paper.key: paper}, Numbering())
        return summary(passages=passages, checked=checked, usage=completion.usage)

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
        chosen = representative_passages(key, chunks, vectors, words=words, focus=focus)
        first = chunks[0]
        return chosen or [Passage(key, first.id, first.text, first.section, first.page)]

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
        _check_length(length, mode)
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
        summaries = partial(Summaries, papers=kept, query=query, length=length, mode=mode)
        if mode == "extractive":
            passages = [p for key in chosen for p in chosen[key]]
            lines, synthesis = extractive.lines_and_synthesis(
                chosen, self.embedder.embed, SYNTHESIS_SENTENCES[length]
            )
            return self._assemble(summaries, lines, synthesis, passages, by_key, Usage())
        chat = self._need_chat()
        for attempt in (0, 1):
            messages = prompts.load("summarize_many").messages(
                papers=[
                    {
                        "key": p.key,
                        "title": p.title or p.label,
                        "year": p.year,
                        "passages": [_shown(x) for x in chosen[p.key]],
                    }
                    for p in kept
                ],
                topic=query,
                length=length,
            )
            try:
                completion = chat.complete(messages, max_tokens=self._max_tokens(length))
                break
            except ContextTooLongError:
                if attempt == 1 or all(len(x) <= 1 for x in chosen.values()):
                    raise
                log.info("prompt too long for %s; retrying with half the passages", chat.describe())
                chosen = {key: _trim(x) for key, x in chosen.items()}
        passages = [p for key in chosen for p in chosen[key]]
        written, dropped = citations.drop_titles(completion.text, set(chosen), self._titles())
        lines, synthesis = split_lines(written)
        return self._assemble(summaries, lines, synthesis, passages, by_key, completion.usage, dropped)

    def _assemble(
        self,
        summaries: Callable[..., Summaries],
        lines: list[str],
        synthesis: str,
        passages: list[Passage],
        papers: dict[str, Paper],
        usage: Usage,
        dropped: Sequence[str] = (),
    ) -> Summaries:
        raw = "\n".join(lines) + ("\n\n" if lines and synthesis else "") + synthesis
        numbering = Numbering()
        checked = self._check(raw, passages, papers, numbering)
        checked.dropped_citations += [d for d in dropped if d not in checked.dropped_citations]
        allowed = set(papers)
        return summaries(
            passages=passages,
            checked=checked,
            usage=usage,
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

    # -- the check -------------------------------------------------------------------------------

    def _check(
        self, raw: str, passages: Sequence[Passage], papers: dict[str, Paper], numbering: Numbering
    ) -> Checked:
        """The shared check, knowing every title in the library (a model may name one)."""
        embedder, vectors = self.embedder, self._chunk_vectors
        return check(raw, passages, papers, numbering, embedder, vectors, titles=self._titles())

    def _titles(self) -> set[str]:
        return {normalise(p.title) for p in self._library_papers() if p.title}

    def _mode(self, mode: Mode | None) -> Mode:
        mode = mode or ("llm" if self.chat is not None else "extractive")
        if mode == "llm" and self.chat is None:
            raise ValueError(
                "no chat endpoint is configured; set LITASSIST_LLM__BASE_URL or summarise extractively"
            )
        return mode

    def _need_chat(self) -> ChatModel:
        assert self.chat is not None  # _mode saw to it
        return self.chat

    def _max_tokens(self, length: Length) -> int | None:
        chat = self._need_chat()
        return max(chat.max_tokens, LONG_MAX_TOKENS) if length == "long" else None


def _check_length(length: str, mode: Mode) -> None:
    if length not in LENGTHS:
        raise ValueError(f"unknown summary length {length!r}; choose sentence, short or long")
    if length == "sentence" and mode != "extractive":
        raise ValueError("a one-sentence summary is extractive for now; pass mode='extractive'")


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


def _shown(passage: Passage) -> dict[str, object]:
    if passage.section == ABSTRACT:
        where = ABSTRACT
    else:
        where = ", ".join(x for x in (passage.section, f"page {passage.page}" if passage.page else None) if x)
    return {"where": where, "text": passage.text}


def _trim(passages: list[Passage]) -> list[Passage]:
    """Half the passages: the first (the abstract), then the most central, in reading order."""
    keep = max(1, len(passages) // 2)
    best = sorted(passages[1:], key=lambda p: -p.score)[: keep - 1]
    return [p for p in passages if p is passages[0] or p in best]
