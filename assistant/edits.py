"""A user's corrections of a paper's metadata (title, authors, year, venue, key), checked before
they are stored, and the signs that a paper's metadata needs them.

Readers guess a paper's metadata from what a file shows: a listing may give no authors, an
abstract's first words stand in for a missing title, and the key is made from what was found
(``fer``, ``vit``). ``Library.edit`` stores a correction and names the corrected fields in the
paper's ``user_fields``, so that re-adding the same file never overwrites them.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import LibraryError
from store.keys import valid_key
from store.paper import Paper, normalise

EDITABLE = ("title", "authors", "year", "venue", "key")
# a title of this many words or more is taken for the start of an abstract
ABSTRACT_LIKE_WORDS = 25


class PaperEdit(BaseModel):
    """The fields a correction sets (``None`` or ``""`` clears one; the key cannot be cleared)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = None
    authors: list[str] | None = None
    year: int | None = Field(None, ge=1000, le=2999)
    venue: str | None = None
    key: str | None = None

    @field_validator("authors", mode="before")
    @classmethod
    def _authors(cls, value: Any) -> Any:
        if isinstance(value, str):  # "A. Smith; B. Jones" or one name a line
            value = re.split(r"\s*(?:;|\n)\s*", value)
        if isinstance(value, list):
            value = [str(v).strip() for v in value if str(v).strip()]
        return value

    @field_validator("year", mode="before")
    @classmethod
    def _year(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not valid_key(value):
            raise ValueError(
                "a key is 1-64 letters, digits and _:.-+/, starting with a letter or digit: smith2020deep"
            )
        return value

    @classmethod
    def of(cls, changes: dict[str, Any]) -> PaperEdit:
        """The checked edit, or ``LibraryError`` naming each field that is wrong and why."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise LibraryError(
                f"cannot edit {', '.join(unknown)}: the fields that can be edited are {', '.join(EDITABLE)}"
            )
        given = {k: (None if v == "" else v) for k, v in changes.items()}
        if "key" in given and given["key"] is None:
            raise LibraryError("a paper's key cannot be empty - give a new key, or leave it as it is")
        try:
            return cls.model_validate(given)
        except ValidationError as e:
            wrong = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            raise LibraryError(f"the edit was not saved: {wrong}") from None

    def new_key(self, key: str) -> str | None:
        """The key the paper moves to, if the edit changes it."""
        wanted = self.key if "key" in self.model_fields_set else None
        return wanted if wanted and wanted != key else None

    def apply(self, paper: Paper) -> None:
        """Set the given fields on ``paper`` and mark them as the user's."""
        fields = sorted(self.model_fields_set - {"key"})
        for name in fields:
            value = getattr(self, name)
            setattr(paper, name, [] if name == "authors" and value is None else value)
        if "key" in self.model_fields_set:
            fields.append("key")
        paper.user_fields = sorted(set(paper.user_fields) | set(fields))


def missing_metadata(paper: Paper) -> list[str]:
    """What a paper's metadata lacks, as a reader would put it: "no authors" (or "no author
    names": a listing's count of them only), "no year", "title
    looks like an abstract" (no title, the abstract's own first words, or a very long one)."""
    missing = []
    if not paper.authors:
        missing.append("no author names" if paper.author_count else "no authors")
    if not paper.year:
        missing.append("no year")
    if "title" not in paper.user_fields and _abstract_like(paper):
        missing.append("title looks like an abstract")
    return missing


def _abstract_like(paper: Paper) -> bool:
    title = (paper.title or "").strip()
    if not title:
        return True
    if len(title.split()) >= ABSTRACT_LIKE_WORDS:
        return True
    start = normalise(title)
    return bool(paper.abstract) and len(start) >= 20 and normalise(paper.abstract or "").startswith(start)
