"""Extractive summaries: the most central sentences of a paper's passages (by the local
embedder), in reading order, each cited; and for several papers, each one's most central
sentence and the sentences closest to what they share.

A sentence's centrality is its cosine with the centroid of the candidate sentences' vectors.
Candidates are whole sentences of prose: fragments cut by a passage's edge, captions, footnotes,
equations and reference-list entries are left out, and a sentence that leans on the one before
("It ...", "However, ...") is offered after the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assistant import citations
from assistant.retrieval import Passage
from assistant.sections import prose_share, strip_heading
from store.paper import normalise

Vectors = npt.NDArray[np.float32]
Embed = Callable[[Sequence[str]], Vectors]

FOCUS_WEIGHT = 0.5  # with a focus: centrality and closeness to the focus, half each
REDUNDANT = 0.85  # a sentence this close to one already picked adds nothing
DANGLING_PENALTY = 0.1
MIN_WORDS, MAX_WORDS = 8, 60
FALLBACK_WORDS = 60  # a paper with no whole sentence: its first passage's first words

_JUNK = re.compile(
    r"arxiv|doi[:.]|https?:|www\.|proceedings|\bpp\.|©|copyright|∗|†|@\w|equal contribution"
    r"|corresponding author|^(?:figure|fig\.|table)\s*\d|[=<>≤≥∆∑∏∫ˆ′±×→∈√≈≠|]|\(\d{1,2}\)\s",
    re.IGNORECASE,
)
_YEAR_CITATION = re.compile(r"\b(?:19|20)\d\d[a-z]?\)|et al\.,? (?:19|20)\d\d")
_DANGLING = re.compile(
    r"^(?:It|Its|This|These|That|Those|They|Their|Such|Here|Then|Thus|Hence|Also|However|Moreover|"
    r"Furthermore|Additionally|In addition|Subsequently|Finally|Lastly|Similarly|Specifically|"
    r"Therefore|Consequently|For each|For this)\b"
)


@dataclass(frozen=True)
class Sentence:
    """A sentence an extractive summary may take, with its place in the paper."""

    key: str
    text: str
    order: tuple[int, int]  # (passage, sentence)

    @property
    def dangling(self) -> bool:
        return bool(_DANGLING.match(self.text))

    def cited(self) -> str:
        return f"{self.text.rstrip().rstrip('.').strip()} [@{self.key}]."


def candidates(passages: Sequence[Passage]) -> list[Sentence]:
    """The sentences a summary may take: whole sentences of prose, each once (passages
    overlap), without the heading printed before them. Split as the cite-check splits them, so
    that each one is checked as one sentence."""
    seen: set[str] = set()
    found: list[Sentence] = []
    for p_index, passage in enumerate(passages):
        for s_index, (a, b) in enumerate(citations.sentences(passage.text)):
            text = strip_heading(passage.text[a:b].strip())
            if text is None or not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                continue
            if not re.match(r"[A-Z]", text) or not re.search(r"[.!]['\")\]]?$", text):
                continue  # cut off by the passage's edge, or a question
            if _JUNK.search(text) or len(_YEAR_CITATION.findall(text)) >= 3 or prose_share(text) < 0.6:
                continue
            norm = normalise(text)
            if norm not in seen:
                seen.add(norm)
                found.append(Sentence(passage.key, text, (p_index, s_index)))
    return found


def summary(
    passages: Sequence[Passage], embed: Embed, n: int, per_passage: int, focus: Vectors | None = None
) -> str:
    """A paper's ``n`` most central sentences (with a ``focus``: also the closest to it), at
    most ``per_passage`` from one passage while others are left, in reading order, each cited."""
    found = candidates(passages)
    if not found:
        return _fallback(passages[0])
    vectors = embed([c.text for c in found])
    scores = _scores(found, vectors, vectors.mean(axis=0))
    if focus is not None:
        scores = (1 - FOCUS_WEIGHT) * scores + FOCUS_WEIGHT * (vectors @ _unit(focus))
    picked = pick(scores, vectors, n, group=[c.order[0] for c in found], per_group=per_passage)
    return " ".join(found[i].cited() for i in sorted(picked, key=lambda i: found[i].order))


def lines_and_synthesis(
    passages: dict[str, list[Passage]], embed: Embed, synthesis_sentences: int
) -> tuple[list[str], str]:
    """For several papers (their passages by key): each paper's most central sentence, cited;
    then up to ``synthesis_sentences`` sentences closest to the centroid of all the papers
    (each paper's centroid counting once), from different papers, in the papers' order."""
    per_paper = {key: candidates(chosen) for key, chosen in passages.items()}
    everything = [c for found in per_paper.values() for c in found]
    vectors = embed([c.text for c in everything]) if everything else None
    lines: list[str] = []
    used: list[int] = []
    centroids: list[Vectors] = []
    start = 0
    for key, found in per_paper.items():
        if not found or vectors is None:
            lines.append(_fallback(passages[key][0]))
            continue
        block = vectors[start : start + len(found)]
        centroid = _unit(block.mean(axis=0))
        best = int(np.argmax(_scores(found, block, centroid)))
        lines.append(found[best].cited())
        centroids.append(centroid)
        used.append(start + best)
        start += len(found)
    if len(centroids) < 2 or vectors is None:
        return lines, ""
    scores = _scores(everything, vectors, np.mean(centroids, axis=0))
    scores[used] = -np.inf  # not the papers' own lines again
    order = list(per_paper)
    groups = [order.index(c.key) for c in everything]
    picked = pick(scores, vectors, synthesis_sentences, group=groups, per_group=1, fill=False)
    return lines, " ".join(everything[i].cited() for i in sorted(picked, key=lambda i: groups[i]))


def pick(
    scores: np.ndarray, vectors: Vectors, n: int, *, group: Sequence[int], per_group: int, fill: bool = True
) -> list[int]:
    """The ``n`` best-scored sentences, at most ``per_group`` from one group (then, with
    ``fill``, from any group until there are ``n``), none nearly repeating one already picked."""
    picked: list[int] = []
    taken: dict[int, int] = {}
    order = [int(i) for i in np.argsort(-scores) if np.isfinite(scores[i])]
    for capped in (True, False) if fill else (True,):
        for i in order:
            if len(picked) == n:
                return picked
            if i in picked or (capped and taken.get(group[i], 0) >= per_group):
                continue
            if picked and float(np.max(vectors[picked] @ vectors[i])) > REDUNDANT:
                continue
            picked.append(i)
            taken[group[i]] = taken.get(group[i], 0) + 1
    return picked


def _scores(found: Sequence[Sentence], vectors: Vectors, centre: np.ndarray) -> np.ndarray:
    """Cosine with ``centre``, less a penalty for sentences that lean on the one before."""
    dangling = np.array([c.dangling for c in found], dtype=np.float32)
    return np.asarray(vectors @ _unit(centre) - DANGLING_PENALTY * dangling)


def _fallback(passage: Passage) -> str:
    words = passage.text.split()
    more = " …" if len(words) > FALLBACK_WORDS else ""
    return f"{' '.join(words[:FALLBACK_WORDS])}{more} [@{passage.key}]."


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)
