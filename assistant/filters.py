"""Which papers a search may return: a year range, keys, Zotero collections and tags; read from
what callers pass (a mapping or ``Filters``) and turned into a Chroma ``where`` clause."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.errors import InvalidRequestError
from store.chroma import ChromaStore

__all__ = ["Filters"]


@dataclass(frozen=True)
class Filters:
    """Which papers a search may return: a year range (inclusive; papers without a year are
    left out when one is given), a set of keys, and/or Zotero collections and tags (a paper in
    any of the ``collections``, a collection's subcollections included, named by path
    ``Literature search/Explainability`` or by name; with any of the ``tags``; case ignored)."""

    years: tuple[int | None, int | None] | None = None
    keys: frozenset[str] | None = None
    collections: frozenset[str] | None = None
    tags: frozenset[str] | None = None

    @classmethod
    def of(cls, value: Filters | Mapping[str, Any] | None) -> Filters:
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value
        unknown = set(value) - {"years", "year_from", "year_to", "keys", "collections", "tags"}
        if unknown:
            raise InvalidRequestError(
                f"unknown filters {sorted(unknown)}; use years=(from, to), year_from, year_to, keys, "
                "collections, tags"
            )
        years = value.get("years")
        if years is None and ("year_from" in value or "year_to" in value):
            years = (value.get("year_from"), value.get("year_to"))
        keys = value.get("keys")
        named = {}
        for name in ("collections", "tags"):
            given = value.get(name)
            if isinstance(given, str):
                given = [given]
            named[name] = frozenset(given) if given else None
        return cls(
            years=tuple(years) if years is not None else None,
            keys=frozenset(keys) if keys is not None else None,
            **named,
        )

    def resolved(self, store: ChromaStore) -> Filters:
        """These filters with collections and tags turned into the keys of the papers in them
        (Chroma cannot filter on list metadata; one read of every paper's metadata)."""
        if not self.collections and not self.tags:
            return self
        found = store.keys_in(collections=self.collections or (), tags=self.tags or ())
        keys = found if self.keys is None else found & self.keys
        return Filters(years=self.years, keys=frozenset(keys))

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.years is not None:
            low, high = self.years
            if low is not None:
                clauses.append({"year": {"$gte": int(low)}})
            if high is not None:
                clauses.append({"year": {"$lte": int(high)}})
        if self.keys is not None:
            clauses.append({"paper_key": {"$in": sorted(self.keys)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
