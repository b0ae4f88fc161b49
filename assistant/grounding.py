"""The check every generated text goes through (answers, summaries, drafts): resolve the
citations the writer wrote (passage labels or keys) to the passages it was given, remove the
others and report them, attribute a sentence left uncited to the passage that backs it clearly
(marked as attributed), number the cited papers, and score each sentence's support.

A ``Checker`` belongs to one set of given passages; ``finish`` checks a whole text and
``StreamCheck`` the same text while it streams, sentence by sentence, so that what a reader saw
streaming is exactly the checked text: the decision about a sentence (its citation, or the one
attributed to it) is taken once, when the sentence is complete, and the stream holds back only
what may still change — a citation being written, and the full stop before which an attributed
citation goes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from assistant import citations
from assistant.attribution import AttributionParameters, Attributor, named_papers
from assistant.citations import Numbering, SentenceSupport
from assistant.passages import Passage
from store.embedder import Embedder, Vectors
from store.paper import Paper, normalise

log = logging.getLogger(__name__)

ChunkVectors = Callable[[Sequence[str]], dict[str, np.ndarray]]
# who put a citation on a sentence: the writer (a label or a key), the code because the sentence
# names the paper, or the code because one passage clearly backs it
Origin = Literal["model", "name", "support"]


@dataclass(frozen=True)
class Citation:
    """One cited paper in one sentence: the passage it points to and how well it backs it.
    ``attributed``: the code, not the writer, put this citation on the sentence."""

    key: str
    number: int
    passage: Passage
    support: float
    sentence: int
    attributed: bool = False


@dataclass(frozen=True)
class Reference:
    number: int
    paper: Paper

    def __str__(self) -> str:
        return f"[{self.number}] {self.paper.label}"


@dataclass
class Checked:
    """A generated text after the check."""

    raw_text: str = ""  # citations as [@key], attributed ones included, invented ones removed
    text: str = ""  # citations rendered as numbers
    cited_keys: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    dropped_citations: list[str] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)
    model_text: str = ""  # what the writer wrote, as it wrote it (labels and all)

    @property
    def attributed(self) -> int:
        """Sentences whose citation the code added."""
        return sum(s.attributed for s in self.sentences)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "text": self.text,
            "raw_text": self.raw_text,
            "model_text": self.model_text,
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
            "attributed": c.attributed,
            "chunk_id": c.passage.chunk_id,
            "section": c.passage.section,
            "page": c.passage.page,
            "passage": c.passage.text,
        }
        for c in cites
    ]


def sentences_json(sentences: Sequence[SentenceSupport]) -> list[dict[str, object]]:
    return [
        {
            "text": s.text,
            "keys": list(s.keys),
            "support": s.score,
            "weak": s.weak,
            "attributed": s.attributed,
            "flagged": s.flagged,
        }
        for s in sentences
    ]


@dataclass(frozen=True)
class _Claim:
    """One sentence, decided: its text with citations as ``[@key]`` (an attributed one
    inserted), its keys, who cited them, and the passages (indices) it points to per key."""

    text: str
    bare: str  # without citations
    keys: tuple[str, ...]
    origin: Origin | None
    passages: dict[str, tuple[int, ...]]
    dropped: tuple[str, ...] = ()  # citations removed: of passages not given, or titles


_END = re.compile(r"(\s*[.!?;:]+[\"'”’)\]]*)?\s*$")


class Checker:
    """The check of texts written from one set of ``passages``. ``labelled``: the writer saw
    the passages under the labels ``[1]``, ``[2]``, … (in this order); ``attribute``: a sentence
    it left uncited gets the passage that backs it clearly. ``titles``: normalised titles, beside
    those of ``papers``, that a writer may put in brackets as if they were citations."""

    def __init__(
        self,
        passages: Sequence[Passage],
        papers: dict[str, Paper],
        embedder: Embedder,
        chunk_vectors: ChunkVectors,
        *,
        labelled: bool = False,
        attribute: bool = False,
        titles: Collection[str] = (),
        parameters: AttributionParameters | None = None,
    ):
        self.passages = list(passages)
        self.papers = papers
        self.embedder = embedder
        self.allowed = {p.key for p in self.passages}
        self.labels = [p.key for p in self.passages] if labelled else None
        self.titles = {normalise(p.title) for p in papers.values() if p.title} | set(titles)
        found = chunk_vectors([p.chunk_id for p in self.passages]) if self.passages else {}
        self._passage_vectors = [found.get(p.chunk_id) for p in self.passages]
        self._attributor = (
            Attributor([p.text for p in self.passages], self._passage_vectors, parameters)
            if attribute and self.passages
            else None
        )
        self._named = [papers[k] for k in dict.fromkeys(p.key for p in self.passages) if k in papers]
        self._claims: dict[str, _Claim] = {}
        self._vectors: dict[str, Vectors] = {}

    # -- one sentence --------------------------------------------------------------------------

    def claim(self, sentence: str) -> _Claim:
        """The decision about one sentence, taken once (a stream and the final check agree)."""
        if sentence not in self._claims:
            self._claims[sentence] = self._decide(sentence)
        return self._claims[sentence]

    def _decide(self, sentence: str) -> _Claim:
        groups = citations.find_citations(sentence, self.allowed, self.labels)
        dropped = tuple(dict.fromkeys(k for g in groups for k in g.dropped))
        keys = tuple(dict.fromkeys(k for g in groups for k in g.kept))
        passages: dict[str, list[int]] = {}
        for g in groups:
            for i in g.passages:
                passages.setdefault(self.passages[i].key, []).append(i)
        bare = citations.strip_citations(sentence, self.allowed, self.labels)
        text = citations.canonical(sentence, self.allowed, self.labels)
        origin: Origin | None = "model" if keys else None
        if not keys and self._attributor is not None and bare:
            named = named_papers(bare, self._named)
            attributed = None if named else self._attributor.attribute(bare, self._vector(bare))
            if named:
                keys, origin = tuple(named), "name"
            elif attributed is not None:
                index, _ = attributed
                keys, origin = (self.passages[index].key,), "support"
                passages[keys[0]] = [index]
            if keys:
                m = _END.search(text)
                end = m.start() if m else len(text)
                text = f"{text[:end].rstrip()} [{'; '.join('@' + k for k in keys)}]{text[end:]}"
        return _Claim(text, bare, keys, origin, {k: tuple(v) for k, v in passages.items()}, dropped)

    def _vector(self, text: str) -> Vectors:
        if not text:  # nothing but citations: nothing to compare
            return np.zeros(self.embedder.dimension, dtype=np.float32)
        if text not in self._vectors:
            self._prefetch([text])
        return self._vectors[text]

    def _prefetch(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t and t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.embedder.embed(missing), strict=True))

    # -- a whole text --------------------------------------------------------------------------

    def readable(self, written: str) -> tuple[str, list[str]]:
        """``written`` without the bracketed citations no check can read (titles), which are
        returned; a locator (``[@key, p. 3]``) is cut to its key."""
        return citations.drop_titles(written, self.allowed, self.titles, self.labels)

    def canonical(self, text: str) -> str:
        """``text`` with every sentence decided: citations as ``[@key]``."""
        parts, position = [], 0
        for a, b in citations.claims(text):
            parts += [text[position:a], self.claim(text[a:b]).text]
            position = b
        parts.append(text[position:])
        return "".join(parts)

    def finish(self, written: str, numbering: Numbering) -> Checked:
        """``written`` checked: numbered in ``numbering`` (which carries on across a
        conversation), every citation resolved or removed and reported."""
        text, titles = self.readable(written)
        sentences = [text[a:b] for a, b in citations.claims(text)]
        if self._attributor is not None:  # one embedder call for every sentence that may need it
            undecided = [s for s in sentences if s not in self._claims]
            self._prefetch([citations.strip_citations(s, self.allowed, self.labels) for s in undecided])
        decided = [self.claim(s) for s in sentences]
        dropped = list(dict.fromkeys([*(d for c in decided for d in c.dropped), *titles]))
        if dropped:
            log.warning("removed citations of passages that were not given: %s", ", ".join(dropped))
        raw = self.canonical(text)
        result = Checked(raw_text=raw, model_text=written, dropped_citations=dropped)
        result.text = citations.render(raw, self.allowed, numbering)
        result.cited_keys = list(dict.fromkeys(k for c in decided for k in c.keys))
        self._prefetch([c.bare for c in decided if c.keys])
        for index, c in enumerate(decided):
            support, cites = self._support(c, index, numbering)
            result.sentences.append(support)
            result.citations += cites
        result.references = [Reference(numbering.number(k), self.papers[k]) for k in result.cited_keys]
        return result

    def _support(self, c: _Claim, index: int, numbering: Numbering) -> tuple[SentenceSupport, list[Citation]]:
        """A decided sentence's support (against the passages it points to, else all those of
        the papers it cites) and its citations, each naming the passage that backs it best."""
        sentence = " ".join(c.text.split())
        if not c.keys:
            return SentenceSupport(sentence, (), None, None), []
        vector = self._vector(c.bare)
        chosen = [i for k in c.keys for i in (c.passages.get(k) or self._of(k))]
        evidence = [(self.passages[i].text, v) for i in chosen if (v := self._passage_vectors[i]) is not None]
        score, similarity, numbers, names = citations.score_sentence(c.bare, vector, evidence)
        attributed = c.origin in ("name", "support")
        support = SentenceSupport(sentence, c.keys, score, similarity, numbers, names, attributed)
        cites = []
        for key in c.keys:
            candidates = list(c.passages.get(key) or self._of(key))
            best = max(candidates, key=lambda i: _shared_words(c.bare, self.passages[i].text))
            cites.append(Citation(key, numbering.number(key), self.passages[best], score, index, attributed))
        return support, cites

    def _of(self, key: str) -> list[int]:
        return [i for i, p in enumerate(self.passages) if p.key == key]


def _shared_words(a: str, b: str) -> int:
    return len(set(re.findall(r"\w+", a.lower())) & set(re.findall(r"\w+", b.lower())))


class StreamCheck:
    """A text checked while it streams: ``feed`` takes the writer's deltas and returns the
    checked text to show so far; ``close`` the rest. Their concatenation is exactly
    ``Checker.finish(...).text`` for the whole text. ``hold``: while it says so of the text so
    far, nothing is shown (a writer's refusal must not reach the reader before it is judged)."""

    def __init__(self, checker: Checker, numbering: Numbering, hold: Callable[[str], bool] | None = None):
        self.checker = checker
        self._start = numbering.copy()
        self._hold = hold
        self.written = ""
        self.shown = ""

    def feed(self, delta: str) -> str:
        self.written += delta
        return self._show(final=False)

    def close(self) -> str:
        return self._show(final=True)

    def _show(self, *, final: bool) -> str:
        c = self.checker
        text = self.written
        if not final:
            if not self.shown and self._hold is not None and self._hold(text):
                return ""
            text = text[: citations.safe_end(text, c.allowed, c.labels)]
        text = c.readable(text)[0]
        spans = citations.claims(text)
        ready, tail = text, ""
        if not final and spans:
            # the last sentence may still grow: shown without its final stop, not yet decided
            a, _ = spans[-1]
            ready, tail = text[:a], text[a:]
            m = _END.search(tail)
            tail = tail[: m.start()] if m and m.group(1) else tail.rstrip()
        canonical = c.canonical(ready) + citations.canonical(tail, c.allowed, c.labels)
        shown = citations.render(canonical, c.allowed, self._start.copy())
        if not shown.startswith(self.shown):
            # a title in brackets completed, or a sentence split differently: show nothing more
            # until the end, where the whole checked text replaces what was held
            log.debug("stream check: shown text would change; holding")
            return "" if not final else self._replace(shown)
        new, self.shown = shown[len(self.shown) :], shown
        return new

    def _replace(self, shown: str) -> str:
        """At the end, a shown text that is not a prefix of the checked one: the rest after the
        common part (the stream's consumer sees the checked text; kept rare by the holds)."""
        common = 0
        for x, y in zip(self.shown, shown, strict=False):
            if x != y:
                break
            common += 1
        log.info("stream check: %d characters shown differ from the checked text", len(self.shown) - common)
        self.shown = shown
        return shown[common:]
