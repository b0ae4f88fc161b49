"""Citation keys: stable, unique, human-readable, BibTeX style, never reused.

``lastnameYEARfirstword`` when the authors and year are known (``he2025pasa``); otherwise the
title's first words (``scutfbp5500diverse``), or for an untitled abstract the method it names
(``unipose``) or its first words. A user's own BibTeX key wins when it is free. Clashes get a
letter suffix (``smith2020deepa``, ``...b``).
"""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from collections.abc import Container, Iterator

from store.paper import Paper

_STOPWORDS = frozenset(
    """a an the on of in for to and with from by at as is are via towards toward using beyond into
    over under what when how why do does can we our""".split()
)
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_:.\-+/]{0,63}$")
_NAME = r"([A-Z][\w^]*(?:-[\w^]+)*)"  # a coined name: "UniPose", "Face-MLLM", "UniF^2ace"
# "namely X", "termed X", "called X": the name follows the cue directly
_NAMING_CUE = re.compile(r"\b(?:namely|termed|called|dubbed|named|coined)\s+(?:as\s+)?" + _NAME)
# "we propose [a new framework] X": the name within a few words of the verb
_METHOD_CUE = re.compile(
    r"\b(?:propose|proposes|present|presents|introduce|introduces|develop|develops)\s+"
    r"(?:(?:a|an|the|[a-z][\w-]*),?\s+){0,6}?" + _NAME
)
_COINED = re.compile(r"\b([A-Z][a-z]*[A-Z][\w^]*(?:-[\w^]+)*|[A-Z]{2,}[a-z]*[A-Z0-9]*)\b")


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ascii_fold(text).lower())


def _words(text: str) -> list[str]:
    return [w for w in (_slug(w) for w in re.split(r"[\s\-–—:/]+", text)) if w]


def method_name(abstract: str) -> str | None:
    """The coined name an abstract introduces ('UniPose', 'Face-MLLM'), if it names one."""
    for cue in (_NAMING_CUE, _METHOD_CUE):
        for match in cue.finditer(abstract):
            name = match.group(1)
            if sum(ch.isupper() for ch in name) >= 2 and len(name) >= 3:
                return name
    counts: dict[str, int] = {}
    for word in _COINED.findall(abstract):
        if len(word) >= 3:
            counts[word] = counts.get(word, 0) + 1
    repeated = [w for w, n in counts.items() if n >= 2]
    return max(repeated, key=lambda w: counts[w]) if repeated else None


def base_key(paper: Paper) -> str:
    """The key a paper would get if no other paper had it."""
    title_words = _words(paper.title or "")
    first_word = next((w for w in title_words if w not in _STOPWORDS), "")
    if paper.authors and paper.year:
        last = _words(paper.authors[0].split()[-1])
        lastname = last[-1] if last else ""
        if not first_word and paper.abstract:
            first_word = _slug(method_name(paper.abstract) or "")
        if lastname:
            return f"{lastname}{paper.year}{first_word}"
    if title_words:
        # "ColorMAE: Exploring ..." -> colormae; else the first content words, with the year
        head, colon, _ = (paper.title or "").partition(":")
        if colon and 1 <= len(head.split()) <= 3:
            stem = _slug(head)
        else:
            content = [w for w in title_words if w not in _STOPWORDS] or title_words
            stem = content[0] if paper.year else "".join(content[:2])
        return f"{stem[:32]}{paper.year or ''}"
    if paper.abstract:
        name = method_name(paper.abstract)
        if name:
            return _slug(name)[:40]
        content = [w for w in _words(paper.abstract) if w not in _STOPWORDS]
        return "".join(content[:3])[:40]
    return "paper"


def valid_key(key: str) -> bool:
    """Whether ``key`` can be a citation key (BibTeX- and URL-safe, at most 64 characters)."""
    return bool(_SAFE_KEY.match(key))


def assign_key(paper: Paper, taken: Container[str]) -> str:
    """A key for ``paper`` that is not in ``taken`` (every key the library has ever used)."""
    own = paper.key.strip()
    if own and _SAFE_KEY.match(own) and own not in taken:
        return own
    base = base_key(paper) or "paper"
    if base[0].isdigit():
        base = f"p{base}"
    if base not in taken:
        return base
    for suffix in _suffixes():
        if f"{base}{suffix}" not in taken:
            return f"{base}{suffix}"
    raise AssertionError("unreachable: suffixes are unbounded")


def _suffixes() -> Iterator[str]:  # a..z, aa..zz, ...
    for n in itertools.count(1):
        for letters in itertools.product(string.ascii_lowercase, repeat=n):
            yield "".join(letters)
