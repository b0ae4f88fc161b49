"""Reading a source again is an update, not a duplicate.

A paper read from an entry of a reference manager's export (a ``.bib`` entry, a Zotero item)
records that entry in ``Paper.origins`` (``/abs/refs.bib#key``, ``/abs/Zotero#1/ABCD2345``).
When the same entry is read again, :class:`Reimport` compares it with the stored paper: an
unchanged entry is skipped, a changed one updates the paper's metadata in place under the same
key (title, authors, year, venue, identifiers, the BibTeX entry, Zotero collections and tags).
Entries the source no longer holds are listed (:meth:`Reimport.missing`); nothing is removed
unless the caller asks (``prune``). An entry that brings text (a full text: a PDF attached in
Zotero since, a ``file`` field; or a changed abstract) goes on to the ingest marked
``Document.replaces``: its text replaces the stored one under the same key, by the same update
protocol as a full text that comes later (a changed abstract only where the stored text is no
fuller: a stored full text is kept, and the report says so). Fields the user corrected by hand
(``Paper.user_fields``) stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

from store.chroma import ChromaStore
from store.paper import Document, Paper

# what an update copies from the entry read again (collections and tags only from a source that
# has them: Zotero; the BibTeX entry only from a .bib file)
_METADATA = ("title", "authors", "year", "date", "venue", "doi", "url", "arxiv_id")
_ZOTERO = ("collections", "tags")
_BIBTEX = ("entry_type", "bibtex")


@dataclass(frozen=True)
class Change:
    """What reading an entry again did to a stored paper."""

    origin: str
    key: str
    fields: tuple[str, ...]  # the fields that changed (empty: unchanged)
    text_changed: bool = False  # its abstract (or text) is not the stored one


@dataclass
class Reimport:
    """The hook ``Ingest`` calls with each file's papers before it decides what is new."""

    store: ChromaStore
    changes: list[Change] = field(default_factory=list)
    _index: dict[str, Paper] | None = None
    _seen: set[str] = field(default_factory=set)  # the origins read in this run
    _sources: set[str] = field(default_factory=set)  # the sources they belong to

    def index(self) -> dict[str, Paper]:
        if self._index is None:
            self._index = {origin: p for p in self.store.papers() for origin in p.origins}
        return self._index

    def __call__(self, documents: list[Document]) -> list[Document]:
        """Update the stored papers these documents were read from before; return the others
        (new entries) for the usual ingest."""
        rest = []
        for document in documents:
            paper = document.paper
            self._seen.update(paper.origins)
            self._sources.update(source_of(o) for o in paper.origins)
            index = self.index() if paper.origins else {}
            stored = next((index[o] for o in paper.origins if o in index), None)
            if stored is None:
                rest.append(document)
                continue
            changed = _changed(stored, paper)
            text_changed = bool(paper.content_hash) and paper.content_hash != stored.content_hash
            if changed:
                edited = self.store.edit(stored.key, partial(_apply, new=paper))
                if edited is None:  # removed meanwhile: read as a new paper
                    rest.append(document)
                    continue
                for origin in edited.origins:
                    index[origin] = edited
            self.changes.append(Change(document.origin, stored.key, tuple(changed), text_changed))
            if text_changed or document.sections:  # the ingest decides whether its text is new
                document.replaces = stored.key
                rest.append(document)
        return rest

    def missing(self) -> list[Paper]:
        """Stored papers read from the sources of this run whose entries these sources no
        longer hold (deleted in Zotero, removed from the .bib)."""
        if not self._sources:
            return []
        found = []
        for paper in self.store.papers():
            here = [o for o in paper.origins if source_of(o) in self._sources]
            if here and not any(o in self._seen for o in here):
                found.append(paper)
        return found

    def only_from_these(self, paper: Paper) -> bool:
        """Whether every entry and file ``paper`` was read from is in this run's sources, or in
        one of its folders (a Zotero library's ``storage/``): removing it loses nothing another
        source still has."""
        return all(source_of(o) in self._sources for o in paper.origins) and all(
            any(s == source or s.startswith(source.rstrip("/") + "/") for source in self._sources)
            for s in paper.sources
        )


def source_of(origin: str) -> str:
    """The file or folder an origin names (``/abs/refs.bib#key`` -> ``/abs/refs.bib``)."""
    return origin.rsplit("#", 1)[0]


def _changed(stored: Paper, new: Paper) -> list[str]:
    names = [*_METADATA]
    if new.source_format == "zotero":
        names += _ZOTERO
    if new.bibtex:
        names += _BIBTEX
    # a field the user corrected by hand (Library.edit) is theirs: the source does not overwrite it
    mine = set(stored.user_fields)
    return [n for n in names if n not in mine and _value(getattr(stored, n)) != _value(getattr(new, n))]


def _value(value: object) -> object:
    if isinstance(value, Iterable) and not isinstance(value, str):
        return [tuple(v) if isinstance(v, (list, tuple)) else v for v in value]
    return value if value != "" else None


def _apply(stored: Paper, new: Paper) -> None:
    for name in _changed(stored, new):
        setattr(stored, name, getattr(new, name))
    stored.origins.extend(o for o in new.origins if o not in stored.origins)
