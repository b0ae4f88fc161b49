"""A paper's sections, as far as its passages tell, and the passages that stand for them.

The store keeps the sections a reader found (S2ORC and Markdown give them); a PDF's text comes
without structure, so the section of a PDF passage is read from the headings printed in it: top-
level numbered headings ("4 Methodology", then "5 Experiments" — the numbers must come in order,
which rules out list items, years and the contents of figures) or, in a paper without numbered
headings, a usual heading word where a passage or sentence starts ("Introduction Deep learning
is ..."). Passages with no section found are grouped by page.

Used by summaries: a long paper is summarised from every section, not from its first chunk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from assistant.passages import Passage
from store.paper import Chunk

Vector = npt.NDArray[np.float32]

ABSTRACT = "Abstract"
MIN_PROSE = 0.55  # the share of plain words below which a passage is a table or equations
MAX_SECTION_PAGES = 4  # a section read over more pages than this counts each page as a section

_NUMBERED_HEADINGS = (
    r"Introduction|Related Work|Background|Preliminaries|Problem (?:Formulation|Definition|Setup|Statement)"
    r"|Methodology|Methods?|Proposed Method|Approach|Model|Framework|Datasets?|Data|Experiments?"
    r"|Experimental (?:Setup|Settings?|Results)|Results(?: and Discussion)?|Evaluation|Analysis"
    r"|Discussion|Ablation Stud(?:y|ies)|Limitations|Conclusions?(?: and Future Work)?|Future Work"
    r"|Theory|Applications?|Case Stud(?:y|ies)|Implementation|Overview|Acknowledge?ments|Appendix"
)
# without a number, only words that rarely start a sentence of prose followed by a capital
_PLAIN_HEADINGS = (
    r"Introduction|Related Work|Background|Methodology|Methods|Experiments|Results|Discussion"
    r"|Conclusions?|Theory|Limitations|Acknowledge?ments"
)
_NUMBERED = re.compile(rf"(?<![\w.,:;/(\[–-])(\d{{1,2}})\.?\s+({_NUMBERED_HEADINGS})(?=\s+[A-Z0-9]|\s*$)")
_PLAIN = re.compile(rf"(?:^|(?<=[.!?]\s))({_PLAIN_HEADINGS})(?=\s+[A-Z])")
# a numbered heading outside the vocabulary counts when its first subsection follows ("3 Data 3.1")
_NUMBERED_ANY = re.compile(r"(?<![\w.,:;/(\[–-])(\d{1,2})\.?\s+([A-Z][\w-]*(?:\s+[\w-]+){0,4}?)\s+\1\.1\s")
SKIPPED_SECTIONS = re.compile(r"^(references|bibliography|acknowledge?ments?)$", re.IGNORECASE)


def label_sections(chunks: Sequence[Chunk]) -> list[str | None]:
    """Each chunk's section (chunks in reading order): its stored one, else the heading in force
    over most of its text."""
    labels: list[str | None] = []
    current: str | None = None
    expected = 1  # the next top-level number
    for chunk in chunks:
        if chunk.section:
            labels.append(chunk.section)
            continue
        headings, expected = _headings(chunk.text, expected)
        label = current
        for position, name in headings:
            if position < len(chunk.text) / 2:
                label = name
            current = name
        labels.append(label)
    return labels


def _headings(text: str, expected: int) -> tuple[list[tuple[int, str]], int]:
    """The headings in one chunk's text, as (position, name), and the next number expected."""
    found: list[tuple[int, str]] = []
    numbered = sorted(
        [(m.start(), int(m.group(1)), m.group(2)) for m in _NUMBERED.finditer(text)]
        + [(m.start(), int(m.group(1)), m.group(2)) for m in _NUMBERED_ANY.finditer(text)]
    )
    for position, number, name in numbered:
        if number == expected:
            found.append((position, name))
            expected += 1
    if expected == 1:  # no numbered heading yet: the paper may not number them
        found += [(m.start(), m.group(1)) for m in _PLAIN.finditer(text)]
    return sorted(found), expected


def strip_heading(sentence: str) -> str | None:
    """A sentence without the heading printed before it ("1 Introduction Academic search ..." →
    "Academic search ..."); None when it starts with a numbered heading we cannot take off."""
    m = re.match(rf"^(?:\d{{1,2}}(?:\.\d{{1,2}})*\.?\s+)?(?:{_NUMBERED_HEADINGS})\s+(?=[A-Z])", sentence)
    if m:
        return sentence[m.end() :]
    if re.match(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+[A-Z]", sentence):
        return None
    return sentence


def prose_share(text: str) -> float:
    """The share of a text's tokens that are plain words: low for tables, equations and lists of
    references."""
    tokens = text.split()
    words = [t for t in tokens if re.fullmatch(r"[(\"'‘“]?[A-Za-z][a-z]+(?:-[a-z]+)*[.,;:)\"'’”]*", t)]
    return len(words) / max(1, len(tokens))


def representative_passages(
    chunks: Sequence[Chunk],
    vectors: Mapping[str, Vector],
    *,
    words: int,
    focus: Vector | None = None,
) -> list[Passage]:
    """The passages that stand for a paper, in reading order, within ``words``: its abstract,
    then, round by round, each section's next most central passage (cosine with the centroid of
    the paper's passages; the best of each page first), sections with the more central passages
    first. With ``focus``, the passages closest to it instead, wherever they are. Tables,
    equations, references and acknowledgements are left out."""
    labels = label_sections(chunks)
    body: list[tuple[Chunk, str | None]] = []
    abstract: list[Chunk] = []
    for chunk, label in zip(chunks, labels, strict=True):
        if label == ABSTRACT:
            abstract.append(chunk)
        elif not (label and SKIPPED_SECTIONS.match(label)) and prose_share(chunk.text) >= MIN_PROSE:
            body.append((chunk, label))
    scores = _scores([*abstract, *(c for c, _ in body)], vectors, focus)
    chosen: list[tuple[Chunk, str | None]] = [(c, ABSTRACT) for c in abstract[:1]]
    budget = words - sum(len(c.text.split()) for c, _ in chosen)
    for chunk, label in _in_turn(body, scores, by_section=focus is None):
        size = len(chunk.text.split())
        if size <= budget or not chosen:
            chosen.append((chunk, label))
            budget -= size
    chosen.sort(key=lambda pair: pair[0].ordinal)
    # shown under the section's label (the abstract's included), not the chunk's raw heading
    return [replace(Passage.of(c, scores.get(c.id, 0.0)), section=label) for c, label in chosen]


def _scores(chunks: Sequence[Chunk], vectors: Mapping[str, Vector], focus: Vector | None) -> dict[str, float]:
    """Each chunk's cosine with ``focus``, or with the centroid of the chunks."""
    known = [c.id for c in chunks if c.id in vectors]
    if not known:
        return {}
    matrix = np.stack([vectors[i] for i in known])
    matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    target = focus if focus is not None else matrix.mean(axis=0)
    target = target / max(float(np.linalg.norm(target)), 1e-9)
    return {i: float(s) for i, s in zip(known, matrix @ target, strict=True)}


def _in_turn(
    body: Sequence[tuple[Chunk, str | None]], scores: Mapping[str, float], *, by_section: bool
) -> list[tuple[Chunk, str | None]]:
    """The order in which passages are offered to the budget."""

    def score(pair: tuple[Chunk, str | None]) -> float:
        return scores.get(pair[0].id, -1.0)

    if not by_section:
        return sorted(body, key=score, reverse=True)
    pages: dict[str | None, set[int | None]] = {}
    for chunk, label in body:
        pages.setdefault(label, set()).add(chunk.page)
    groups: dict[tuple[str | None, int | None], list[tuple[Chunk, str | None]]] = {}
    for chunk, label in body:
        # a section read over many pages (or none read at all) counts each page as a section
        by_page = label is None or len(pages[label]) > MAX_SECTION_PAGES
        groups.setdefault((label, chunk.page if by_page else None), []).append((chunk, label))
    queues = []
    for members in groups.values():
        # within a section: each page's best passage first, then the second best of each page ...
        depth: dict[int | None, int] = {}
        ranked = []
        for pair in sorted(members, key=score, reverse=True):
            page = pair[0].page
            ranked.append((depth.get(page, 0), -score(pair), pair))
            depth[page] = depth.get(page, 0) + 1
        queues.append([pair for _, _, pair in sorted(ranked, key=lambda r: (r[0], r[1]))])
    order: list[tuple[Chunk, str | None]] = []
    for round_ in range(max((len(q) for q in queues), default=0)):
        offered = [q[round_] for q in queues if round_ < len(q)]
        order += sorted(offered, key=score, reverse=True)
    return order
