"""Acronyms a library defines itself: "Diffusion Transformer (DiT)" in one abstract lets the
lexical index read "MM-DiT" in another as "diffusion transformer" too.

Hand-written: the Schwartz & Hearst (2003) matching of a parenthesised short form to the words
before it; the packages that implement it pull in spaCy or scispaCy and their models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# a parenthesised short form, and the words right before it (matched backwards from each "(":
# one pattern for both backtracks at every word of a text, 1 ms a passage)
_SHORT = re.compile(r"\(\s*([A-Za-z][\w-]{1,9})s?\s*\)")
_WORDS_BEFORE = re.compile(r"(?:[\w-]+\s+){1,12}$")


def long_form(short: str, words: list[str]) -> str | None:
    """The long form of ``short`` at the end of ``words`` (Schwartz & Hearst): every letter or
    digit of the short form, right to left, found in order in the text, the first one at the
    start of a word; None when they do not match."""
    window = words[-min(len(words), len(short) + 5, 2 * len(short)) :]
    text = " ".join(window)
    s, t = len(short) - 1, len(text) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while t >= 0 and (text[t].lower() != c or (s == 0 and t > 0 and text[t - 1].isalnum())):
            t -= 1
        if t < 0:
            return None
        t -= 1
        s -= 1
    start = text.rfind(" ", 0, t + 1) + 1
    found = text[start:].strip()
    if len(found.split()) < 2 or found.lower() == short.lower():
        return None
    return found


def mine(texts: Iterable[str]) -> dict[str, str]:
    """Lower-cased short form -> long form, for every definition in ``texts`` (first wins)."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _SHORT.finditer(text):
            short = match.group(1)
            if not any(ch.isupper() for ch in short):
                continue  # "(see)", "(ours)": not an acronym
            before = _WORDS_BEFORE.search(text, max(0, match.start() - 400), match.start())
            if before is None:
                continue
            long = long_form(short, before.group(0).split())
            if long and short.lower() not in found:
                found[short.lower()] = long
    return found


_WORD = re.compile(r"[A-Za-z0-9]+")


def expand(text: str, acronyms: dict[str, str]) -> str:
    """``text`` followed by the long forms of the acronyms it uses (written with a capital, as
    acronyms are: "MM-DiT" counts, the word "dit" would not)."""
    if not acronyms:
        return text
    extra = [
        acronyms[word.lower()]
        for word in dict.fromkeys(_WORD.findall(text))
        if word.lower() in acronyms and any(ch.isupper() for ch in word)
    ]
    return f"{text} {' '.join(extra)}" if extra else text
