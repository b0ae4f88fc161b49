"""Sentences of scientific prose, for the abstract's search windows.

Hand-written: a regex split at ``.!?`` before a capital, digit or bracket, with abbreviations
("e.g.", "et al.") and short fragments joined back — llama-index's sentence splitter chunks by
size rather than returning sentences, and nltk's punkt would need its model downloaded.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
_ABBREVIATION = re.compile(r"\b(e\.g|i\.e|et al|vs|cf|Fig|Figs|Eq|Eqs|Sec|No)\.$")
MIN_CHARS = 25


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for part in _BOUNDARY.split(text.strip()):
        part = part.strip()
        if not part:
            continue
        if sentences and (len(part) < MIN_CHARS or _ABBREVIATION.search(sentences[-1])):
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
