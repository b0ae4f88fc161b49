"""Citations are the code's job: parse what the model wrote, keep only keys of passages it was
given, number them by first appearance, and score how well the cited passages back each sentence.

Forms the model may produce, all understood: ``[@a]``, ``[@a; @b]``, ``[@a, @b]``, bare keys in
brackets (``[a]``, ``[a; b]``) and pandoc's in-text ``@a``. A bracket of numbers (``[12]``,
``[3, 4]``, ``[5-7]``) is a paper's own reference marker, never one of ours, and is left alone;
so is a bracketed word that is neither a given key nor shaped like a citation key (``[sic]``).

Hand-written: no maintained library parses pandoc citations out of model output and checks them
against a set of allowed keys (pandoc itself would need a binary and a bibliography).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from store.paper import normalise

# a citation key: BibTeX allows letters, digits and :-_./+ ; ours are lowercase letters+digits
_KEY = r"[A-Za-z0-9][\w:.+/-]*[\w]|[A-Za-z0-9]"
_ITEM = re.compile(rf"^\s*(@?)({_KEY})\s*$")
_GROUP = re.compile(r"\[([^\[\]\n]{1,400})\]")
_IN_TEXT = re.compile(rf"(?<![\w@.\[])@({_KEY})")
# shaped like a citation key even when unknown: letters then a year (smith2020deep, Smith:2020)
_KEY_SHAPED = re.compile(r"^[A-Za-z][A-Za-z-]*[:_]?(19|20)\d\d[\w:.-]*$")
_NUMBERS = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*%?")
_NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z0-9][\w-]*|[A-Z]{2,}[\w-]*)\b")  # FineCLIPER, CLIP, GPT4
_SENTENCE_END = re.compile(r"(?<=[.!?])(\s*\[[^\]]*\])?\s+(?=[A-Z0-9\[\"(])")

WEAK_SUPPORT = 0.45


@dataclass(frozen=True)
class CitationGroup:
    """One citation as written: its span in the text, the keys it names, which were allowed."""

    start: int
    end: int
    keys: tuple[str, ...]
    kept: tuple[str, ...]
    dropped: tuple[str, ...]


def _group_keys(content: str, allowed: Collection[str]) -> tuple[str, ...] | None:
    """The keys in a bracket's content, or None when the bracket is not a citation."""
    items = [i for i in re.split(r"[;,]", content)]
    parsed = [_ITEM.match(i) for i in items]
    if not items or any(m is None for m in parsed):
        return None
    matches = [m for m in parsed if m is not None]
    keys = tuple(m.group(2) for m in matches)
    if all(k.isdigit() or re.fullmatch(r"\d+[-–]\d+", k) for k in keys):
        return None  # [12], [3, 4]: the paper's own reference markers
    marked = any(m.group(1) for m in matches)
    if marked or all(k in allowed or _KEY_SHAPED.match(k) for k in keys):
        return keys
    return None


def find_citations(text: str, allowed: Collection[str]) -> list[CitationGroup]:
    """Every citation in ``text``, in order, split into kept (allowed) and dropped keys."""
    groups: list[CitationGroup] = []
    taken: list[tuple[int, int]] = []
    for m in _GROUP.finditer(text):
        keys = _group_keys(m.group(1), allowed)
        if keys is None:
            continue
        groups.append(_make_group(m.start(), m.end(), keys, allowed))
        taken.append((m.start(), m.end()))
    for m in _IN_TEXT.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        key = m.group(1)
        if key in allowed or _KEY_SHAPED.match(key):
            groups.append(_make_group(m.start(), m.end(), (key,), allowed))
    return sorted(groups, key=lambda g: g.start)


def _make_group(start: int, end: int, keys: tuple[str, ...], allowed: Collection[str]) -> CitationGroup:
    kept = tuple(dict.fromkeys(k for k in keys if k in allowed))
    dropped = tuple(dict.fromkeys(k for k in keys if k not in allowed))
    return CitationGroup(start, end, keys, kept, dropped)


@dataclass
class Numbering:
    """Reference numbers by first appearance; one object lives through a whole conversation so
    that a paper keeps its number."""

    numbers: dict[str, int] = field(default_factory=dict)

    def number(self, key: str) -> int:
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
        return self.numbers[key]


Style = Callable[[Sequence[int], Sequence[str]], str]


def numbered(numbers: Sequence[int], keys: Sequence[str]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def render(text: str, allowed: Collection[str], numbering: Numbering, style: Style = numbered) -> str:
    """``text`` with its citations rendered by ``style`` and invented keys removed (a citation
    left with no allowed key disappears, with the space before it)."""
    out: list[str] = []
    position = 0
    for group in find_citations(text, allowed):
        before = text[position : group.start]
        if group.kept:
            out.append(before)
            out.append(style([numbering.number(k) for k in group.kept], group.kept))
        else:
            out.append(before.rstrip(" ") if before.endswith(" ") else before)
        position = group.end
    out.append(text[position:])
    return "".join(out)


class StreamRenderer:
    """Renders a stream of text deltas without ever splitting a citation: text from an
    unclosed ``[`` (or a trailing ``@key``) is held back until it is complete."""

    _HOLD_LIMIT = 400

    def __init__(self, allowed: Collection[str], numbering: Numbering, style: Style = numbered):
        self.allowed, self.numbering, self.style = allowed, numbering, style
        self._pending = ""

    def feed(self, delta: str) -> str:
        self._pending += delta
        cut = self._safe_end(self._pending)
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return render(ready, self.allowed, self.numbering, self.style) if ready else ""

    def close(self) -> str:
        ready, self._pending = self._pending, ""
        return render(ready, self.allowed, self.numbering, self.style) if ready else ""

    def _safe_end(self, text: str) -> int:
        cut = len(text)
        open_bracket = text.rfind("[")
        if open_bracket > text.rfind("]") and len(text) - open_bracket < self._HOLD_LIMIT:
            cut = open_bracket
        at = re.search(r"@[\w:.+/-]*$", text[:cut])
        if at:
            cut = at.start()
        # hold a trailing space too, so that a dropped citation can take it away
        while cut > 0 and text[cut - 1] == " ":
            cut -= 1
        return cut


# -- support -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentenceSupport:
    """How well the cited passages back one sentence of an answer."""

    text: str
    keys: tuple[str, ...]
    score: float | None  # None: the sentence cites nothing
    similarity: float | None
    missing_numbers: tuple[str, ...] = ()
    missing_names: tuple[str, ...] = ()

    @property
    def weak(self) -> bool:
        return self.score is not None and self.score < WEAK_SUPPORT

    @property
    def cited(self) -> bool:
        return bool(self.keys)


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences in ``text`` (a citation after the full stop stays with its sentence)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if _abbreviation_before(text, m.start()):
            continue
        spans.append((start, m.end(1) if m.group(1) else m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _abbreviation_before(text: str, end: int) -> bool:
    word = text[:end].rsplit(None, 1)[-1] if text[:end].split() else ""
    return word.lower().rstrip("]") in {"e.g.", "i.e.", "et al.", "al.", "vs.", "fig.", "eq.", "cf.", "etc."}


def strip_citations(text: str, allowed: Collection[str]) -> str:
    out, position = [], 0
    for group in find_citations(text, allowed):
        out.append(text[position : group.start])
        position = group.end
    out.append(text[position:])
    return re.sub(r"\s+([.,;:])", r"\1", "".join(out)).strip()


def unsupported(claim: str, evidence: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Numbers and names in ``claim`` that do not occur in ``evidence``."""
    flat = evidence.lower()
    digits = re.sub(r"[\s,]", "", flat)
    numbers = tuple(
        n for n in dict.fromkeys(_NUMBERS.findall(claim)) if re.sub(r"[\s,]", "", n.lower()) not in digits
    )
    names = tuple(n for n in dict.fromkeys(_NAME.findall(claim)) if n.lower() not in flat)
    return numbers, names


def support(
    text: str,
    allowed: Collection[str],
    evidence: dict[str, list[tuple[str, npt.NDArray[np.float32]]]],
    embed: Callable[[Sequence[str]], npt.NDArray[np.float32]],
) -> list[SentenceSupport]:
    """Score every sentence of ``text``: the best cosine between the sentence (citations
    removed) and a passage of a paper it cites — 1.0 when the sentence is quoted from one: a
    sentence's cosine with the whole passage around it can be low — lowered by a quarter for
    each number or name the cited passages do not contain (at most by half). ``evidence`` maps
    a key to its passages with their (unit) vectors."""
    spans = sentences(text)
    claims = [(text[a:b], find_citations(text[a:b], allowed)) for a, b in spans]
    to_embed = [strip_citations(s, allowed) for s, groups in claims if any(g.kept for g in groups)]
    vectors = iter(embed(to_embed)) if to_embed else iter(())
    result: list[SentenceSupport] = []
    for sentence, groups in claims:
        keys = tuple(dict.fromkeys(k for g in groups for k in g.kept))
        if not keys:
            result.append(SentenceSupport(sentence.strip(), (), None, None))
            continue
        vector = next(vectors)
        passages = [p for k in keys for p in evidence.get(k, [])]
        claim = strip_citations(sentence, allowed)
        quoted = len(normalise(claim)) >= 20 and any(normalise(claim) in normalise(t) for t, _ in passages)
        similarity = 1.0 if quoted else max((float(vector @ v) for _, v in passages), default=0.0)
        numbers, names = unsupported(claim, " ".join(t for t, _ in passages))
        penalty = min(0.5, 0.25 * (len(numbers) + len(names)))
        result.append(
            SentenceSupport(
                sentence.strip(),
                keys,
                round(similarity * (1 - penalty), 4),
                round(similarity, 4),
                numbers,
                names,
            )
        )
    return result


_BRACKET = re.compile(r" ?\[([^\[\]\n]{1,300})\]")
_MARKED = re.compile(r"^@([A-Za-z0-9][\w:.+/-]*[\w])\s*(?:,.*)?$")


def drop_titles(raw: str, allowed: Collection[str], titles: Collection[str] = ()) -> tuple[str, list[str]]:
    """``raw`` without the bracketed citations the check cannot read: ``[@key, p. 3]`` keeps its
    key when it was given; a bracketed title (``[@Made-Up Paper]``, a library paper's title, or
    words in title case) is removed and returned. ``titles``: normalised titles of papers the
    model may name (``store.paper.normalise``)."""
    taken = [(g.start, g.end) for g in find_citations(raw, allowed)]
    out: list[str] = []
    dropped: list[str] = []
    position = 0
    for m in _BRACKET.finditer(raw):
        if any(a <= m.start(1) < b for a, b in taken):
            continue
        content = m.group(1).strip()
        items = [i.strip() for i in content.split(";")]
        marked = [_MARKED.match(i) for i in items]
        if content.startswith("@") and all(marked):
            keys = [k.group(1) for k in marked if k]
            replacement = "; ".join(f"@{k}" for k in keys)
            out += [raw[position : m.start(1) - 1], f"[{replacement}]"]
            position = m.end()
            continue  # a locator: the check keeps the given keys and drops the others
        if content.startswith("@") or _is_title(content, titles):
            dropped.append(content.lstrip("@").strip())
            out.append(raw[position : m.start()])
            position = m.end()
    out.append(raw[position:])
    return "".join(out), dropped


def _is_title(content: str, titles: Collection[str]) -> bool:
    text = re.sub(r",?\s*\(?(?:19|20)\d\d\)?$", "", content).strip()
    norm = normalise(text)
    words = text.split()
    if len(norm) >= 10 and any(t == norm or (len(words) >= 4 and t.startswith(norm)) for t in titles):
        return True
    content_words = [
        w for w in words if w.lower() not in {"a", "an", "the", "of", "for", "and", "in", "on", "with", "to"}
    ]
    capitalised = [w for w in content_words if w[:1].isupper()]
    return len(words) >= 3 and len(capitalised) >= max(2, 2 * len(content_words) / 3)


def cited_keys(text: str, allowed: Collection[str]) -> list[str]:
    """Allowed keys in order of first citation."""
    return list(dict.fromkeys(k for g in find_citations(text, allowed) for k in g.kept))


def dropped_keys(text: str, allowed: Collection[str]) -> list[str]:
    return list(dict.fromkeys(k for g in find_citations(text, allowed) for k in g.dropped))
