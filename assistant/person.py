"""Third person for a paper's own claims quoted in someone else's text.

An extractive related-work draft quotes each paper's sentence that says what it does; papers say
it in the first person ("we propose X", "our method"), and quoted as they are, the draft reads as
if its user had done the work. ``third_person`` rewrites such a sentence about the paper: "we
propose X" → "PaSa proposes X" (the paper's name: the name part of its title, else its first
author "et al.", else "the authors"), later "we" → "they", "our" → "their", "us" → "them", "this
paper" → the name.

Hand-written: the rewrite touches a closed set of words (the first-person pronouns and the verb
right after "we"); a general inflection library (lemminflect, pattern) would be a large
dependency for what a dozen suffix rules do on the verbs papers use.
"""

from __future__ import annotations

import re

from store.paper import Paper

FIRST_PERSON = re.compile(r"\b(?:[Ww]e|[Oo]ur|[Oo]urs|[Oo]urselves|us)\b")
_LEAD_IN = re.compile(
    r"^(?:(?:In|Within|Throughout)\s+this\s+(?:paper|work|study|article|letter|report|thesis)|Here|Herein"
    r"|In\s+(?:summary|short|particular|addition)|To\s+this\s+end|Finally|First|Second|Third|Then|Next"
    r"|Moreover|Furthermore|Additionally|Specifically|Concretely)\s*,?\s+(?=[Ww]e\b)"
)
_THIS_PAPER = re.compile(r"\b[Tt]his\s+(?:paper|work|study|article|letter|report|thesis)\b")
_WE = re.compile(r"\b[Ww]e\b")
_ADVERB = (
    r"(?:also|further|then|first|additionally|next|finally|empirically|experimentally|extensively|"
    r"thoroughly|successfully|carefully|newly|therefore|thus|hence|subsequently|instead|further|"
    r"systematically|comprehensively|specifically|here|now|mainly|primarily|theoretically)"
)
_AFTER_WE = re.compile(rf"^(\s+(?:{_ADVERB}\s+){{0,2}})([a-z]+)\b")
_MODALS = frozenset("can could will would may might must shall should".split())
_IRREGULAR = {"have": "has", "are": "is", "were": "was", "do": "does", "go": "goes", "am": "is"}
_POSSESSIVE = {"our": "their", "ours": "theirs", "ourselves": "themselves", "us": "them"}


def paper_name(paper: Paper) -> tuple[str, bool]:
    """How a draft names ``paper`` as the subject of its claims, and whether that name takes a
    singular verb: the name part of its title ("PaSa: An LLM Agent ..." → "PaSa"), else its
    first author's surname with "et al.", else "the authors"."""
    title = (paper.title or "").strip()
    head, colon, _ = title.partition(":")
    if colon and 0 < len(head.split()) <= 4:
        return head.strip(), True
    if paper.authors:
        surname = paper.authors[0].replace(",", " ").split()
        if surname:
            last = surname[0] if "," in paper.authors[0] else surname[-1]
            return (f"{last} et al." if len(paper.authors) > 1 else last), len(paper.authors) == 1
    return "the authors", False


def third_person(sentence: str, name: str, singular: bool) -> str:
    """``sentence`` with its first-person claims about the paper named ``name`` in the third
    person (a sentence without them is returned as it is)."""
    if not FIRST_PERSON.search(sentence) and not _THIS_PAPER.search(sentence):
        return sentence
    text = _LEAD_IN.sub("", sentence, count=1)
    # the first "we" (or "this paper") becomes the name, its verb agreeing; later ones "they"
    found = [m for m in (_WE.search(text), _THIS_PAPER.search(text)) if m is not None]
    if found:
        first = min(found, key=lambda m: m.start())
        rest = text[first.end() :]
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", rest):  # "we introduce PaSa, ..."
            name, singular = "the authors", False
        if first.re is _THIS_PAPER and not singular:
            name, singular = "that work", True
        if singular and first.re is _WE:
            rest = _AFTER_WE.sub(lambda m: m.group(1) + _singular(m.group(2)), rest, count=1)
        text = text[: first.start()] + (_capital(name) if first.start() == 0 else name) + rest
    text = _WE.sub(lambda m: "They" if m.start() == 0 else "they", text)
    text = _THIS_PAPER.sub("that work", text)
    text = re.sub(
        r"\b([Oo]urselves|[Oo]urs|[Oo]ur|us)\b",
        lambda m: _same_case(_POSSESSIVE[m.group(1).lower()], m.group(1)),
        text,
    )
    return text


def first_person(text: str) -> bool:
    """Whether ``text`` speaks in the first person plural ("we", "our", "us")."""
    return FIRST_PERSON.search(text) is not None


def _singular(verb: str) -> str:
    """A verb after "we" as it reads after a singular subject: "propose" → "proposes"; past
    forms, modals and "-ing" forms stay."""
    if verb in _MODALS or verb.endswith(("ed", "ing")) or verb in ("also", "not"):
        return verb
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(verb) > 2 and verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _same_case(word: str, like: str) -> str:
    return _capital(word) if like[:1].isupper() else word
