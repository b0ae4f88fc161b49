"""Sentences of scientific prose: the one splitter, for the abstract's search windows and the
lexical index's sentence units (``split_sentences``, ``windows``) and for the spans of the
sentences of a passage or a written text whose citations are checked (``sentence_spans``).

A sentence ends at ``.!?`` before whitespace and a capital, a digit, a bracket or a quote, not
after an abbreviation ("e.g.", "et al.", "Fig.", "Sec.", "vs."); a decimal ("0.5", "Sec. 4.2")
has no space after its point. A bracketed citation just after the full stop ("… on X. [3]")
stays with its sentence.

Hand-written, measured (issue 18; ``tests/bench/bench_sentences.py``, the body text of 60 aclsum
papers, 4,196 paragraphs, 1,486 of them with abbreviations or decimals, on 2 shared cores): this
splitter runs at 90,000-130,000 sentences/s; pysbd 0.3.4 at 740/s (over 100 times slower) and
still splits "Figs. 2" and "cf. Eq. 5"; NLTK's punkt (the ``punkt_tab`` model llama-index-core
ships) at 13,000/s, but as shipped it splits after "e.g.", "i.e.", "et al.", "Fig." and "cf."
(503 of the 1,486 paragraphs split otherwise). Given those abbreviations it still differs on 147:
better on sentences that start in lower case, worse on quotes ('"I like the cat." ...') and on
the ". . ." of formulas, and it moves a citation after the full stop ("X. [3] Next") to the next
sentence, which the citation check needs kept. Not better enough to change what every stored
library has embedded: on the seeds' and aclsum's 350 abstracts this splitter gives the same
windows as the one it replaced.
"""

from __future__ import annotations

import re

# a sentence end: the full stop, a citation that may follow it, the whitespace before the next
_END = re.compile(r"(?<=[.!?])(\s*\[[^\]]*\])?\s+(?=[A-Z0-9\[\"(])")
# the words after which a full stop does not end a sentence (compared in lower case; "al." of
# "et al."). Not "etc.": before a capital it closes a sentence ("sarcasm, etc. Similar to ...")
ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "al.", "vs.", "cf.", "fig.", "figs.", "eq.", "eqs.", "sec.", "no."}
)
MIN_CHARS = 25  # a shorter sentence joins the one before it in ``split_sentences``


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences in ``text`` (a citation after the full stop stays
    with its sentence); spans of only whitespace are left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        if _abbreviation_before(text, m.start()):
            continue
        spans.append((start, m.end(1) if m.group(1) else m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _abbreviation_before(text: str, end: int) -> bool:
    words = text[:end].rsplit(None, 1)
    return bool(words) and words[-1].lower().lstrip("([{\"'").rstrip("]") in ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings, a fragment shorter than ``MIN_CHARS`` joined to the
    sentence before it (a heading's "Results." or a lone "(2020)." is no sentence to embed)."""
    sentences: list[str] = []
    for a, b in sentence_spans(text):
        part = text[a:b].strip()
        if sentences and len(part) < MIN_CHARS:
            sentences[-1] += " " + part
        else:
            sentences.append(part)
    return sentences


def windows(text: str, size: int = 2) -> list[str]:
    """Overlapping runs of ``size`` consecutive sentences (stride one); short texts give one."""
    sentences = split_sentences(text)
    if len(sentences) <= size:
        return [" ".join(sentences)] if sentences else []
    return [" ".join(sentences[i : i + size]) for i in range(len(sentences) - size + 1)]
