"""Citations are the code's job: parse what the model wrote, keep only citations of passages it
was given, number them by first appearance, and score how well the cited passages back each
sentence.

Passages reach a model under numbered labels (``[1]``, ``[2]``, …: what real small models copy;
``labels`` below is the key of each labelled passage, in order). With labels, the forms models
write are all understood: ``[1]``, ``[1, 2]``, ``[1-3]``, ``[1][2]``, ``【1】``, ``[^1]``,
``[Passage 1]``, ``(1)`` and ``(passage 2)`` at the end of a clause, "passage 1" / "passages 1
and 2" / "source 3" in the running text, and a library key written bare in the text
(``finecliper2024 extends …``). A bracketed label with no such passage (``[9]`` of five) is
removed and reported. Always understood: ``[@a]``, ``[@a; @b]``, ``[@a, @b]``, bare keys in
brackets (``[a]``, ``[a; b]``) and pandoc's in-text ``@a``.

Without labels (extractive text, exports) a bracket of numbers (``[12]``, ``[3, 4]``,
``[5-7]``) is a paper's own reference marker, never one of ours, and is left alone; so is a
bracketed word that is neither a given key nor shaped like a citation key (``[sic]``). The
passages shown to a model lose their own markers (``shown_text``), so that a number in brackets
in its answer can only be a label.

Hand-written: no maintained library parses pandoc citations and model-written passage labels out
of free text and checks them against the passages given (pandoc itself would need a binary and a
bibliography).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt

from store.paper import normalise
from store.sentences import sentence_spans

# a citation key: BibTeX allows letters, digits and :-_./+ ; ours are lowercase letters+digits
_KEY = r"[A-Za-z0-9][\w:.+/-]*[\w]|[A-Za-z0-9]"
_ITEM = re.compile(rf"^\s*(@?)({_KEY})\s*$")
_GROUP = re.compile(r"[\[【]([^\[\]【】\n]{1,400})[\]】]")
_IN_TEXT = re.compile(rf"(?<![\w@.\[])@({_KEY})")
# shaped like a citation key even when unknown: letters then a year (smith2020deep, Smith:2020)
_KEY_SHAPED = re.compile(r"^[A-Za-z][A-Za-z-]*[:_]?(19|20)\d\d[\w:.-]*$")
_NUMBERS = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*%?")
_NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z0-9][\w-]*|[A-Z]{2,}[\w-]*)\b")  # FineCLIPER, CLIP, GPT4

# passage labels as models write them
_LABEL_WORD = r"(?:passages?|sources?|refs?\.?|references?|documents?|docs?|excerpts?)"
_NUMBER = r"\^?@?\d{1,3}(?:\s*[-–]\s*\d{1,3})?"
_LABEL_LIST = (
    rf"(?:{_LABEL_WORD}\s*:?\s*)?{_NUMBER}(?:\s*(?:,|;|&|\band\b)\s*(?:{_LABEL_WORD}\s*)?{_NUMBER})*"
)
_BRACKET_LABELS = re.compile(rf"^\s*({_LABEL_LIST})\s*$", re.IGNORECASE)
_PAREN = re.compile(rf"\(\s*((?:see\s+)?{_LABEL_LIST})\s*\)", re.IGNORECASE)
_PAREN_WORDED = re.compile(rf"^(?:see\s+)?{_LABEL_WORD}", re.IGNORECASE)
_IN_TEXT_LABELS = re.compile(
    r"\b(?:passages?|sources?)\s+(\d{1,3}(?:\s*(?:,|&|\band\b|-|–)\s*\d{1,3})*)\b(?![.,]\d)", re.IGNORECASE
)
# a paper's own reference markers in a passage: [12], [3, 4], [5-7]
_OWN_MARKER = re.compile(r"\s?\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]")

WEAK_SUPPORT = 0.45
MAX_RANGE = 20  # [1-30] is not a citation of thirty passages


@dataclass(frozen=True)
class CitationGroup:
    """One citation as written: its span in the text, the keys it names, which were allowed,
    and (for passage labels) which passages it names, as indices into the labelled passages."""

    start: int
    end: int
    keys: tuple[str, ...]
    kept: tuple[str, ...]
    dropped: tuple[str, ...]
    passages: tuple[int, ...] = ()


def shown_text(text: str) -> str:
    """A passage as a model reads it: without the paper's own reference markers ([12], [3, 4]),
    so that a bracketed number in the answer can only be one of our labels."""
    return _OWN_MARKER.sub("", text)


def _label_numbers(content: str) -> list[int] | None:
    """The numbers a label list names (``1, 2``, ``1-3``, ``passages 1 and 2``), or None."""
    numbers: list[int] = []
    for m in re.finditer(r"(\d{1,3})(?:\s*[-–]\s*(\d{1,3}))?", content):
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) else low
        if high < low or high - low > MAX_RANGE:
            return None
        numbers.extend(range(low, high + 1))
    return numbers or None


def _label_group(
    start: int, end: int, numbers: Sequence[int], labels: Sequence[str], allowed: Collection[str]
) -> CitationGroup:
    """A group of labels: numbers with no passage are dropped (reported as ``[n]``)."""
    passages = tuple(dict.fromkeys(n - 1 for n in numbers if 1 <= n <= len(labels)))
    keys = tuple(dict.fromkeys(labels[i] for i in passages))
    kept = tuple(k for k in keys if k in allowed)
    dropped = tuple(f"[{n}]" for n in dict.fromkeys(numbers) if not 1 <= n <= len(labels))
    dropped += tuple(k for k in keys if k not in allowed)
    return CitationGroup(start, end, keys, kept, dropped, tuple(i for i in passages if labels[i] in allowed))


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


def find_citations(
    text: str, allowed: Collection[str], labels: Sequence[str] | None = None
) -> list[CitationGroup]:
    """Every citation in ``text``, in order, split into kept (allowed) and dropped keys.
    ``labels``: the key of each passage the model saw under the label ``[1]``, ``[2]``, …"""
    groups: list[CitationGroup] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    def add(group: CitationGroup) -> None:
        groups.append(group)
        taken.append((group.start, group.end))

    for m in _GROUP.finditer(text):
        content = m.group(1)
        if labels is not None and _BRACKET_LABELS.match(content):
            numbers = _label_numbers(content)
            if numbers is not None:
                add(_label_group(m.start(), m.end(), numbers, labels, allowed))
                continue
        keys = _group_keys(content, allowed)
        if keys is not None:
            add(_make_group(m.start(), m.end(), keys, allowed))
    if labels is not None:
        for m in _PAREN.finditer(text):
            numbers = _label_numbers(m.group(1))
            if numbers is None or not free(m.start(), m.end()):
                continue
            worded = bool(_PAREN_WORDED.match(m.group(1)))
            closes = re.match(r"\s*(?:[.,;:!?)\]]|$|\n)", text[m.end() :]) is not None
            # "(1) extract, (2) classify" is a list, "(2023)" a year: only in-range labels that
            # close a clause, or say "passage"
            if (worded or closes) and all(1 <= n <= len(labels) for n in numbers):
                add(_label_group(m.start(), m.end(), numbers, labels, allowed))
        for m in _IN_TEXT_LABELS.finditer(text):
            numbers = _label_numbers(m.group(1))
            if numbers and free(m.start(), m.end()) and all(1 <= n <= len(labels) for n in numbers):
                add(_label_group(m.start(), m.end(), numbers, labels, allowed))
        bare = _bare_keys(tuple(sorted(k for k in allowed if _bare_key_ok(k))))
        for m in bare.finditer(text) if bare is not None else ():
            if free(m.start(), m.end()):
                add(_make_group(m.start(), m.end(), (m.group(0),), allowed))
    for m in _IN_TEXT.finditer(text):
        if not free(m.start(), m.end()):
            continue
        key = m.group(1)
        if key in allowed or _KEY_SHAPED.match(key):
            add(_make_group(m.start(), m.end(), (key,), allowed))
    return sorted(groups, key=lambda g: g.start)


def _bare_key_ok(key: str) -> bool:
    """Keys a model may write bare in its text: long or year-bearing ones (``fer`` or ``clip``
    would catch ordinary words)."""
    return len(key) >= 5 and (any(c.isdigit() for c in key) or len(key) >= 8)


@cache
def _bare_keys(keys: tuple[str, ...]) -> re.Pattern[str] | None:
    if not keys:
        return None
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![\w@./:\[-])(?:{alternatives})(?![\w-]|\.\w|:\w)")


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

    def copy(self) -> Numbering:
        return Numbering(dict(self.numbers))


Style = Callable[[Sequence[int], Sequence[str]], str]


def numbered(numbers: Sequence[int], keys: Sequence[str]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def pandoc_keys(numbers: Sequence[int], keys: Sequence[str]) -> str:
    return "[" + "; ".join(f"@{k}" for k in keys) + "]"


def render(
    text: str,
    allowed: Collection[str],
    numbering: Numbering,
    style: Style = numbered,
    labels: Sequence[str] | None = None,
) -> str:
    """``text`` with its citations rendered by ``style`` and invented keys removed (a citation
    left with no allowed key disappears, with the space before it)."""
    out: list[str] = []
    position = 0
    for group in find_citations(text, allowed, labels):
        before = text[position : group.start]
        if group.kept:
            out.append(before)
            out.append(style([numbering.number(k) for k in group.kept], group.kept))
        else:
            out.append(before.rstrip(" ") if before.endswith(" ") else before)
        position = group.end
    out.append(text[position:])
    return "".join(out)


def canonical(text: str, allowed: Collection[str], labels: Sequence[str] | None = None) -> str:
    """``text`` with every citation written as pandoc's ``[@key]`` (labels resolved to their
    papers' keys) and invented ones removed: the form exports and the check read."""
    return render(text, allowed, Numbering(), pandoc_keys, labels)


# the end of a text that may still become a citation: held back by a stream
_OPEN_PAREN = re.compile(
    rf"\(\s*(?:see\s+)?(?:{_LABEL_WORD}\s*:?\s*)?[\d,;&\s–-]*(?:and\s*)?$", re.IGNORECASE
)
_CLOSED_PAREN = re.compile(r"\(\s*(?:see\s+)?[\w\s,;&–-]{0,40}\)\s*$", re.IGNORECASE)
_OPEN_IN_TEXT = re.compile(
    r"\b(?:p(?:a(?:s(?:s(?:a(?:g(?:es?)?)?)?)?)?)?|s(?:o(?:u(?:r(?:c(?:es?)?)?)?)?)?)"
    r"(?:\s+\d{0,3}(?:\s*(?:,|&|a|an|and|-|–)\s*\d{0,3})*)?\s*$",
    re.IGNORECASE,
)


def safe_end(text: str, allowed: Collection[str] = (), labels: Sequence[str] | None = None) -> int:
    """Where a text being streamed can be cut without splitting a citation that the rest may
    complete (what is before the cut renders now as it will in the whole text): before
    an unclosed bracket, a trailing ``@key``, a label still being written ("passage 1 and"), a
    parenthesis that may be a label (and the one just closed, until the next character says
    whether it ends a clause), a word that may become a bare key, and trailing spaces (a dropped
    citation takes the space before it)."""
    cut = len(text)
    open_bracket = max(text.rfind("["), text.rfind("【"))
    if open_bracket > max(text.rfind("]"), text.rfind("】")) and len(text) - open_bracket < 400:
        cut = open_bracket
    at = re.search(r"@[\w:.+/-]*$", text[:cut])
    if at:
        cut = at.start()
    while True:  # each hold may uncover another at the new end
        before = cut
        if labels is not None:
            for pattern in (_OPEN_PAREN, _CLOSED_PAREN, _OPEN_IN_TEXT):
                m = pattern.search(text[:cut])
                if m:
                    cut = m.start()
            word = re.search(r"[\w-]+$", text[:cut])
            if word and any(k.startswith(word.group(0)) and _bare_key_ok(k) for k in allowed):
                cut = word.start()
        while cut > 0 and text[cut - 1] == " ":
            cut -= 1
        if cut == before:
            return cut


# -- support -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentenceSupport:
    """How well the cited passages back one sentence of a text. ``attributed``: the citation
    was added by the code (the writer left the sentence uncited, and one given passage backs
    it clearly); ``score`` None: the sentence cites nothing (``flagged`` when it makes a claim)."""

    text: str
    keys: tuple[str, ...]
    score: float | None  # None: the sentence cites nothing
    similarity: float | None
    missing_numbers: tuple[str, ...] = ()
    missing_names: tuple[str, ...] = ()
    attributed: bool = False

    @property
    def weak(self) -> bool:
        return self.score is not None and self.score < WEAK_SUPPORT

    @property
    def cited(self) -> bool:
        return bool(self.keys)

    @property
    def flagged(self) -> bool:
        """A sentence that cites nothing: nothing in the passages backs it clearly."""
        return not self.keys


def claims(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of a written text, lines apart: a model's bullet or heading line
    is a sentence of its own even without a full stop."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        for a, b in sentence_spans(line):
            part = line[a:b]
            a += len(part) - len(part.lstrip())
            b -= len(part) - len(part.rstrip())
            if spans and _ONLY_CITATIONS.match(text[offset + a : offset + b]):
                spans[-1] = (spans[-1][0], offset + b)  # "[1]" alone belongs to what precedes it
            else:
                spans.append((offset + a, offset + b))
        offset += len(line) + 1
    return spans


_ONLY_CITATIONS = re.compile(r"^(?:\s*(?:\[[^\]]*\]|【[^】]*】|\(\s*\d[\d,\s–-]*\)))+\s*[.;,]?\s*$")


def strip_citations(text: str, allowed: Collection[str], labels: Sequence[str] | None = None) -> str:
    out, position = [], 0
    for group in find_citations(text, allowed, labels):
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


def quoted(claim: str, passage: str) -> bool:
    """Whether ``claim`` (20 letters or more) is copied from ``passage``, whatever the case,
    punctuation or the passage's own reference markers."""
    norm = normalise(claim)
    return len(norm) >= 20 and norm in normalise(shown_text(passage))


def score_sentence(
    claim: str,
    vector: npt.NDArray[np.float32],
    passages: Sequence[tuple[str, npt.NDArray[np.float32]]],
) -> tuple[float, float, tuple[str, ...], tuple[str, ...]]:
    """(score, similarity, missing numbers, missing names) of a claim (citations removed)
    against the passages it cites: the best cosine with one of them — 1.0 when the claim is
    quoted from one: a sentence's cosine with the whole passage around it can be low — lowered
    by a quarter for each number or name the passages do not contain (at most by half)."""
    is_quoted = any(quoted(claim, t) for t, _ in passages)
    similarity = 1.0 if is_quoted else max((float(vector @ v) for _, v in passages), default=0.0)
    numbers, names = unsupported(claim, " ".join(t for t, _ in passages))
    penalty = min(0.5, 0.25 * (len(numbers) + len(names)))
    return round(similarity * (1 - penalty), 4), round(similarity, 4), numbers, names


_BRACKET = re.compile(r" ?\[([^\[\]\n]{1,300})\]")
_MARKED = re.compile(r"^@([A-Za-z0-9][\w:.+/-]*[\w])\s*(?:,.*)?$")


def drop_titles(
    raw: str, allowed: Collection[str], titles: Collection[str] = (), labels: Sequence[str] | None = None
) -> tuple[str, list[str]]:
    """``raw`` without the bracketed citations the check cannot read: ``[@key, p. 3]`` keeps its
    key when it was given; a bracketed title (``[@Made-Up Paper]``, a library paper's title, or
    words in title case) is removed and returned. ``titles``: normalised titles of papers the
    model may name (``store.paper.normalise``)."""
    taken = [(g.start, g.end) for g in find_citations(raw, allowed, labels)]
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


def cited_keys(text: str, allowed: Collection[str], labels: Sequence[str] | None = None) -> list[str]:
    """Allowed keys in order of first citation."""
    return list(dict.fromkeys(k for g in find_citations(text, allowed, labels) for k in g.kept))


def dropped_keys(text: str, allowed: Collection[str], labels: Sequence[str] | None = None) -> list[str]:
    return list(dict.fromkeys(k for g in find_citations(text, allowed, labels) for k in g.dropped))
