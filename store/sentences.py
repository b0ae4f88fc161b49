"""Sentences of scientific prose: the one splitter, for the abstract's search windows and the
lexical index's sentence units (``split_sentences``, ``windows``) and for the spans of the
sentences of a passage or a written text whose citations are checked (``sentence_spans``).

A sentence ends at ``.!?`` before whitespace and a capital, a digit, a bracket or a quote, not
after an abbreviation ("e.g.", "et al.", "Fig.", "Sec.", "vs."); a decimal ("0.5", "Sec. 4.2")
has no space after its point. A bracketed citation just after the full stop ("… on X. [3]")
stays with its sentence.

Hand-written, measured against the libraries (issue 18; 60 aclsum papers' body text, 13,168
sentences, on 2 shared cores): pysbd splits at 388 sentences/s (34.8 s; this one 56,500/s) and
still splits "Figs. 2" and "cf. Eq. 5"; NLTK's punkt (the ``punkt_tab`` model llama-index-core
ships) splits 10,700 sentences/s but, as shipped, after "e.g.", "i.e.", "et al.", "Fig." and
"cf."; given those abbreviations it differs from this one on 45 of 400 paragraphs that hold
abbreviations or decimals, better on lowercase sentence starts and on "etc." closing a
sentence, worse on quotes ('"I like the cat." ...') and on the ". . ." of formulas, and it moves
a citation after the full stop ("X. [3] Next") to the next sentence. Not better enough to change
what every stored library has embedded.
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
