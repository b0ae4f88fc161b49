"""The records the store keeps: a paper, the text a reader found for it, and its chunks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field


class Paper(BaseModel):
    """One paper in the library, as its `papers` record holds it.

    ``key`` is the citation key (``he2025pasa``); it is empty on a paper a reader has just
    produced and set when the library commits it. ``date`` is ISO (``2024-07-17``) when the
    source gives a full date, else as printed (``Jan 14``). ``author_count`` keeps a count a
    listing shows without the names ("• 6 authors"). ``user_fields`` names the fields a user
    corrected by hand: re-adding the paper's file keeps them.

    ``collections`` (paths such as ``Literature search/Explainability``) and ``tags`` come from a
    reference manager (Zotero). ``entry_type`` and ``bibtex`` keep a user's own BibTeX entry (its
    type, and every field as written, in order) so that an export reproduces it; ``origins``
    names the entries it was read from (``/abs/refs.bib#key``, ``/abs/Zotero#1/ABCD2345``), so
    that reading the same source again updates the paper instead of adding another.
    """

    key: str = ""
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    author_count: int | None = None
    year: int | None = None
    date: str | None = None
    venue: str | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None
    abstract: str | None = None
    note: str | None = None
    sources: list[str] = Field(default_factory=list)
    source_format: str | None = None
    content_hash: str = ""
    added_at: datetime | None = None
    chunk_count: int = 0
    # the fields a user set by hand (Library.edit): what a reader finds later never overwrites them
    user_fields: list[str] = Field(default_factory=list)
    collections: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    entry_type: str | None = None
    bibtex: list[tuple[str, str]] = Field(default_factory=list)
    origins: list[str] = Field(default_factory=list)

    def authors_line(self, limit: int = 3) -> str:
        """The first ``limit`` authors, "et al." when there are more; a listing's count
        ("6 authors") when it gave no names."""
        names = self.authors[:limit]
        if not names:
            return f"{self.author_count} authors" if self.author_count else ""
        more = len(self.authors) > limit or (self.author_count or 0) > limit
        return ", ".join(names) + (" et al." if more else "")

    @property
    def label(self) -> str:
        """A title to show: the real one, else the first words of the abstract."""
        if self.title:
            return self.title
        words = (self.abstract or "").split()
        return " ".join(words[:12]) + (" …" if len(words) > 12 else "") or self.key


@dataclass(frozen=True)
class Section:
    """A run of a paper's text with where it came from (a PDF page, a heading)."""

    text: str
    page: int | None = None
    heading: str | None = None


@dataclass
class Document:
    """What a reader produced for one paper: its metadata and its full text, not yet stored.

    ``origin`` names where it came from for reports: a file, or ``file#entry`` for one paper of
    a file that holds many.
    """

    paper: Paper
    origin: str
    sections: list[Section] = field(default_factory=list)
    # the key of the stored paper this document is read again for (the same reference-manager
    # entry: store/reimport.py): its text replaces the stored one when it brings a full text, or
    # a new abstract no thinner than the stored text
    replaces: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage of a paper as the `chunks` collection holds it."""

    id: str
    paper_key: str
    text: str
    ordinal: int
    section: str | None = None
    page: int | None = None
    # "passage": text a reader sees; "window": two sentences of the abstract, a finer unit for
    # search only (never shown, never counted as the paper's passages)
    kind: str = "passage"


def in_collections(paths: Iterable[str], names: Iterable[str]) -> bool:
    """Whether a paper in the collections ``paths`` is in one of ``names`` (none named: any
    paper): a name is a path (``Literature search/Explainability``) or a collection's own name,
    and a collection holds its subcollections' papers; case ignored."""
    wanted = [n.strip().strip("/").casefold() for n in names if n.strip().strip("/")]
    if not wanted:
        return True
    for path in paths:
        parts = [p.casefold() for p in path.split("/")]
        for name in wanted:
            named = name.split("/")
            # the name's parts appear in order, contiguously, from some level of the path down
            for start in range(len(parts) - len(named) + 1):
                if parts[start : start + len(named)] == named:
                    return True
    return False


def has_tags(tags: Iterable[str], names: Iterable[str]) -> bool:
    """Whether a paper with ``tags`` has one of ``names`` (none named: any paper); case ignored."""
    wanted = {n.strip().casefold() for n in names if n.strip()}
    return not wanted or bool(wanted & {t.casefold() for t in tags})


_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# a new-style arXiv identifier (2401.01234, a version suffix dropped), as readers find it in
# eprint fields, URLs, PDF margins and listings: group 1 is the identifier
ARXIV_ID = r"(\d{4}\.\d{4,5})(?:v\d+)?"


def normalise(text: str | None) -> str:
    """Lower-case alphanumerics only: the form content hashes and matching compare."""
    return _NON_ALNUM.sub("", (text or "").lower())


def content_hash(document: Document) -> str:
    """The identity of a paper's content: the same abstract (or, without one, the same text)
    from two files is the same paper, whatever the whitespace, case or punctuation."""
    basis = document.paper.abstract or " ".join(s.text for s in document.sections)
    if not normalise(basis):
        basis = document.paper.title or ""
    return hashlib.sha256(normalise(basis).encode()).hexdigest()[:32]
