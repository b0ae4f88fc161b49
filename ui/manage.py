"""What the Library tab's reference-manager controls do, over a ``Library`` (no Gradio here):
the filtered table with its picker and counts, the edit form, and removal with undo.

Undo keeps what is needed to put a paper back without reading its file again: a copy of its
stored record, passages and vectors (``Library.copy_of``), taken just before the removal and
kept in the session's state. The removal itself happens at once (the paper leaves search and
answers, for every session, as the user expects); a deferred deletion would leave it visible to
the other sessions and to the CLI until this one ends. The copies go with the session.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from assistant import Library, LitassistError, StoredPaper
from ui import papers, render
from ui.uploads import Uploads

log = logging.getLogger(__name__)

UNDO_DEPTH = 20  # removals a session can undo, most recent first


@dataclass(frozen=True)
class LibraryView:
    rows: list[list[object]]
    choices: list[tuple[str, str]]
    count: str


class Manager:
    def __init__(self, library: Library, uploads: Uploads):
        self.library = library
        self.uploads = uploads

    def view(self, query: str = "") -> LibraryView:
        """The table, the picker's choices and the counts line, all filtered by ``query``."""
        everything = self.library.papers()
        visible = papers.shown(everything, query or "")
        return LibraryView(
            papers.rows(visible, self.uploads.original),
            papers.choices(visible),
            papers.count_line(len(everything), len(visible), query or ""),
        )

    def key_of_row(self, query: str, index: int) -> str | None:
        """The key of the ``index``-th row of the table as filtered by ``query``."""
        visible = papers.shown(self.library.papers(), query or "")
        return visible[index].key if 0 <= index < len(visible) else None

    def form(self, key: str | None) -> papers.FormValues:
        if not key:
            return papers.FormValues.of(None)
        try:
            return papers.FormValues.of(self.library.get(key))
        except LitassistError:
            return papers.FormValues.of(None)

    def save(
        self, key: str | None, title: str, authors: str, year: str, venue: str, new_key: str
    ) -> tuple[str, str | None]:
        """Store the form's changes; returns a note and the paper's key (a new one if it changed)."""
        if not key:
            return "Pick a paper to edit first.", None
        try:
            before = self.library.get(key)
            found = papers.changes(before, title, authors, year, venue, new_key)
            if not found:
                return "Nothing changed.", key
            paper = self.library.edit(key, **found)
        except LitassistError as e:
            return render.error_message(e), key
        moved = f" Its key is now `{paper.key}` (was `{key}`)." if paper.key != key else ""
        return f"Saved `{paper.key}`: {', '.join(sorted(found))}.{moved}", paper.key

    def remove(self, key: str | None, removed: Sequence[StoredPaper]) -> tuple[str, list[StoredPaper]]:
        """Remove a paper, keeping a copy to undo it; returns a note and the session's copies."""
        kept = list(removed)
        if not key:
            return "Choose a paper to remove.", kept
        try:
            copy = self.library.copy_of(key)
            paper = self.library.remove(key)
        except LitassistError as e:
            return render.error_message(e), kept
        kept = [copy, *kept][:UNDO_DEPTH]
        return f"Removed `{paper.key}` ({paper.label}) and its passages. *Undo* puts it back.", kept

    def undo(self, removed: Sequence[StoredPaper]) -> tuple[str, list[StoredPaper], str | None]:
        """Put the latest removed paper back; returns a note, the copies left, and its key."""
        kept = list(removed)
        if not kept:
            return "Nothing to undo.", kept, None
        copy, *rest = kept
        try:
            paper = self.library.restore(copy)
        except LitassistError as e:
            return render.error_message(e), rest, None
        return f"Put `{paper.key}` ({paper.label}) back, with its passages.", rest, paper.key
