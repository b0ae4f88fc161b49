"""The Library tab as a reference manager, as plain rows and strings (no Gradio here): the
filtered table and picker, the counts line, readable source names, the "missing metadata"
badge, and what the edit form shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from assistant import Paper, missing_metadata

COLUMNS = ["key", "title", "metadata", "authors", "year", "sources"]
WIDTHS: list[str | int] = ["12%", "38%", "12%", "17%", "6%", "15%"]
BADGE = "⚠ missing: "


def matches(paper: Paper, words: Sequence[str]) -> bool:
    """Every word occurs in the key, the title, the authors, the year or the venue."""
    haystack = " ".join(
        [paper.key, paper.label, " ".join(paper.authors), str(paper.year or ""), paper.venue or ""]
    ).lower()
    return all(w in haystack for w in words)


def shown(papers: Sequence[Paper], query: str = "") -> list[Paper]:
    words = query.lower().split()
    return [p for p in papers if matches(p, words)]


def source_name(source: str, original: Callable[[Path], str | None] | None = None) -> str:
    """A paper's source as a reader knows it: the file name it was uploaded under (``original``
    maps a kept copy back to it), the file's name, or the URL; ``file#entry`` for one entry."""
    where, _, entry = source.partition("#")
    if urlsplit(where).scheme in ("http", "https"):
        return source
    path = Path(where)
    name = (original(path) if original else None) or path.name
    return f"{name} › {entry}" if entry else name


def badge(paper: Paper) -> str:
    missing = missing_metadata(paper)
    return BADGE + ", ".join(missing) if missing else ""


def rows(papers: Sequence[Paper], original: Callable[[Path], str | None] | None = None) -> list[list[object]]:
    return [
        [
            p.key,
            p.label,
            badge(p),
            p.authors_line(),
            p.year or "",
            ", ".join(source_name(s, original) for s in p.sources),
        ]
        for p in papers
    ]


def choices(papers: Sequence[Paper]) -> list[tuple[str, str]]:
    """(label, key) for the paper picker."""
    return [(f"{p.key} - {p.label[:80]}", p.key) for p in papers]


def count_line(total: int, visible: int, query: str) -> str:
    papers = f"{total} paper{'s' if total != 1 else ''}"
    if not query.strip():
        return f"**{papers}**"
    return f"**{papers}, {visible} shown** (filter: “{query.strip()}”)"


@dataclass(frozen=True)
class FormValues:
    """What the edit form shows for a paper."""

    title: str
    authors: str  # one name a line
    year: str
    venue: str
    key: str
    note: str  # what is missing, and which fields the user set

    @classmethod
    def of(cls, paper: Paper | None) -> FormValues:
        if paper is None:
            return cls("", "", "", "", "", "Pick a paper (click its row) to edit its metadata.")
        missing = missing_metadata(paper)
        bits = [f"{BADGE}{', '.join(missing)}." if missing else "Nothing missing."]
        if paper.user_fields:
            bits.append(f"Set by you: {', '.join(paper.user_fields)} (kept when the file is added again).")
        return cls(
            paper.title or "",
            "\n".join(paper.authors),
            str(paper.year or ""),
            paper.venue or "",
            paper.key,
            " ".join(bits),
        )


def changes(before: Paper, title: str, authors: str, year: str, venue: str, key: str) -> dict[str, object]:
    """The fields of the form that differ from the paper (what ``Library.edit`` is given)."""
    found: dict[str, object] = {}
    if title.strip() != (before.title or ""):
        found["title"] = title
    names = [n.strip() for n in authors.replace(";", "\n").splitlines() if n.strip()]
    if names != before.authors:
        found["authors"] = names
    if year.strip() != str(before.year or ""):
        found["year"] = year
    if venue.strip() != (before.venue or ""):
        found["venue"] = venue
    if key.strip() != before.key:
        found["key"] = key.strip()
    return found
