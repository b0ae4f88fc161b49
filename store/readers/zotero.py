"""A Zotero data directory (the folder holding ``zotero.sqlite`` and ``storage/``), read directly.

Zotero keeps its database locked while it runs, so the reader copies it (and its write-ahead
log, if any) to a temporary folder and opens the copy read-only. Zotero's data model: regular
items in ``items`` (their type by name in ``itemTypesCombined``), their fields as
``itemData`` -> ``fieldsCombined`` (by name) and ``itemDataValues``, creators through
``itemCreators`` / ``creators`` / ``creatorTypes``, collections (nested by
``parentCollectionID``) through ``collectionItems``, tags through ``itemTags``, attachments in
``itemAttachments`` (``parentItemID``, ``linkMode``, ``path``), the trash in ``deletedItems``.
Every join is on names, never on type or field numbers: those differ between databases.

A paper's key is its Better BibTeX citation key when there is one: Better BibTeX's own database
(``better-bibtex.sqlite``, table ``citationkey``), else a ``citationKey`` field, else a line
``Citation Key: …`` in ``extra``. Notes, attachments and annotations are not papers; trashed
items are skipped. An item's imported (``storage:name.pdf``, in ``storage/<attachment key>/``)
or linked (an absolute path) PDF brings its full text; one that cannot be read is reported and
the item's metadata still goes in.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from store.errors import ReadError
from store.paper import Document, Paper
from store.readers import ReadResult, pdf

DATABASE = "zotero.sqlite"
BETTER_BIBTEX = "better-bibtex.sqlite"

# item types that are not papers of their own
_NOT_PAPERS = {"note", "attachment", "annotation"}
# Zotero item type -> BibTeX entry type (for an export of a paper that came from Zotero)
ENTRY_TYPES = {
    "journalArticle": "article",
    "magazineArticle": "article",
    "newspaperArticle": "article",
    "conferencePaper": "inproceedings",
    "book": "book",
    "bookSection": "incollection",
    "thesis": "phdthesis",
    "report": "techreport",
    "preprint": "misc",
    "webpage": "misc",
    "manuscript": "unpublished",
}
_VENUE_FIELDS = (
    "publicationTitle", "proceedingsTitle", "conferenceName", "bookTitle", "repository",
    "websiteTitle", "university", "institution", "publisher",
)  # fmt: skip
_AUTHOR_TYPES = ("author", "editor", "contributor")
_CITATION_KEY = re.compile(r"^\s*Citation Key:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
# arXiv:2501.10120, arxiv.org/abs/2501.10120v1, 10.48550/arXiv.2501.10120
_ARXIV = re.compile(r"arxiv(?:\.org/(?:abs|pdf)/|:\s*|\s+|\.)(\d{4}\.\d{4,5})", re.IGNORECASE)
_LINKED_FILE = 2  # linkMode: 0 imported file, 1 imported URL (a snapshot), 2 linked file, 3 linked URL


def is_data_dir(path: Path) -> bool:
    """Whether ``path`` is a Zotero data directory (a folder holding ``zotero.sqlite``)."""
    return path.is_dir() and (path / DATABASE).is_file()


@dataclass
class _Item:
    item_id: int
    key: str
    library_id: int
    item_type: str
    fields: dict[str, str] = field(default_factory=dict)
    creators: list[tuple[str, str, str]] = field(default_factory=list)  # (type, first, last)
    collections: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    pdfs: list[Path] = field(default_factory=list)


def read(path: Path) -> ReadResult:
    """The regular items of a Zotero data directory (or of its ``zotero.sqlite``)."""
    folder = path.parent if path.is_file() else path
    database = folder / DATABASE
    if not database.is_file():
        raise ReadError(f"no {DATABASE} in {folder}; not a Zotero data directory")
    result = ReadResult()
    with _copy(database) as connection:
        items = _items(connection, folder, result)
    keys = _better_bibtex_keys(folder)
    origin_base = str(folder.resolve())
    for item in items:
        origin = f"{folder}#{item.key}"
        paper = _paper(item, keys.get(item.item_id))
        if not paper.title and not paper.abstract:
            result.problems.append((origin, "item has neither a title nor an abstract; nothing to store"))
            continue
        paper.origins = [f"{origin_base}#{item.library_id}/{item.key}"]
        document = Document(paper, origin)
        result.documents.append(document)
        for pdf_path in item.pdfs:
            if not pdf_path.is_file():
                result.problems.append((origin, f"attached PDF {pdf_path} does not exist; metadata only"))
                continue
            try:
                full = pdf.read(pdf_path).documents[0]
            except ReadError as e:
                result.problems.append((origin, f"attached PDF {pdf_path.name} not read: {e}"))
                continue
            document.sections = full.sections
            paper.abstract = paper.abstract or full.paper.abstract
            paper.sources.append(str(pdf_path.resolve()))
            break
    if not result.documents and not result.problems:
        raise ReadError("the Zotero library holds no items")
    return result


@contextmanager
def _copy(database: Path) -> Iterator[sqlite3.Connection]:
    """The database, copied (Zotero locks the original while it runs) and opened read-only."""
    with tempfile.TemporaryDirectory(prefix="litassist-zotero-") as tmp:
        copy = Path(tmp) / DATABASE
        try:
            shutil.copyfile(database, copy)
            for suffix in ("-wal", "-journal"):
                side = database.with_name(database.name + suffix)
                if side.is_file() and suffix == "-wal":
                    shutil.copyfile(side, copy.with_name(copy.name + suffix))
        except OSError as e:
            raise ReadError(f"cannot copy {database}: {e.strerror or e}") from e
        try:
            connection = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        except sqlite3.Error as e:
            raise ReadError(f"cannot open {database}: {e}") from e
        with closing(connection):
            try:
                yield connection
            except sqlite3.DatabaseError as e:
                raise ReadError(f"{database} is not a Zotero database this reader knows ({e})") from e


def _table(connection: sqlite3.Connection, *names: str) -> str | None:
    """The first of ``names`` that is a table or view of the database."""
    for name in names:
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (name,)
        ).fetchone()
        if found:
            return name
    return None


def _items(connection: sqlite3.Connection, folder: Path, result: ReadResult) -> list[_Item]:
    item_types = _table(connection, "itemTypesCombined", "itemTypes")
    fields = _table(connection, "fieldsCombined", "fields")
    if item_types is None or fields is None or _table(connection, "items") is None:
        raise ReadError(f"{folder / DATABASE} has no Zotero items table; not a Zotero database")
    trash = "SELECT itemID FROM deletedItems" if _table(connection, "deletedItems") else "SELECT NULL"
    rows = connection.execute(
        f"SELECT i.itemID, i.key, i.libraryID, t.typeName FROM items i "
        f"JOIN {item_types} t ON t.itemTypeID = i.itemTypeID "
        f"WHERE i.itemID NOT IN ({trash}) ORDER BY i.itemID"
    ).fetchall()
    items = {
        item_id: _Item(item_id, key, library_id or 1, type_name)
        for item_id, key, library_id, type_name in rows
        if type_name not in _NOT_PAPERS
    }
    for item_id, name, value in connection.execute(
        f"SELECT d.itemID, f.fieldName, v.value FROM itemData d "
        f"JOIN {fields} f ON f.fieldID = d.fieldID JOIN itemDataValues v ON v.valueID = d.valueID"
    ):
        if item_id in items and value not in (None, ""):
            items[item_id].fields[name] = str(value)
    if _table(connection, "itemCreators", "creators", "creatorTypes"):
        for item_id, creator_type, first, last in connection.execute(
            "SELECT ic.itemID, ct.creatorType, c.firstName, c.lastName FROM itemCreators ic "
            "JOIN creators c ON c.creatorID = ic.creatorID "
            "JOIN creatorTypes ct ON ct.creatorTypeID = ic.creatorTypeID ORDER BY ic.itemID, ic.orderIndex"
        ):
            if item_id in items:
                items[item_id].creators.append((creator_type, first or "", last or ""))
    for item_id, path in _collection_paths(connection):
        if item_id in items:
            items[item_id].collections.append(path)
    if _table(connection, "itemTags") and _table(connection, "tags"):
        for item_id, name in connection.execute(
            "SELECT it.itemID, t.name FROM itemTags it JOIN tags t ON t.tagID = it.tagID ORDER BY t.name"
        ):
            if item_id in items and name:
                items[item_id].tags.append(str(name))
    if _table(connection, "itemAttachments"):
        for parent, link_mode, content_type, path, key in connection.execute(
            f"SELECT a.parentItemID, a.linkMode, a.contentType, a.path, i.key FROM itemAttachments a "
            f"JOIN items i ON i.itemID = a.itemID WHERE a.itemID NOT IN ({trash}) "
            f"AND a.parentItemID IS NOT NULL ORDER BY a.itemID"
        ):
            if parent not in items or not path:
                continue
            is_pdf = content_type == "application/pdf" or str(path).lower().endswith(".pdf")
            if not is_pdf:
                continue
            located = _attachment_path(folder, str(path), str(key), link_mode)
            if located is None:
                result.problems.append(
                    (
                        f"{folder}#{items[parent].key}",
                        f"attached PDF {path!r} cannot be located; metadata only",
                    )
                )
            else:
                items[parent].pdfs.append(located)
    for item in items.values():
        item.collections.sort()
    return list(items.values())


def _collection_paths(connection: sqlite3.Connection) -> list[tuple[int, str]]:
    """(item, collection path) for every item in a collection that is not in the trash."""
    if not (_table(connection, "collections") and _table(connection, "collectionItems")):
        return []
    trashed: set[int] = set()
    if _table(connection, "deletedCollections"):
        trashed = {row[0] for row in connection.execute("SELECT collectionID FROM deletedCollections")}
    collections = {
        cid: (str(name), parent)
        for cid, name, parent in connection.execute(
            "SELECT collectionID, collectionName, parentCollectionID FROM collections"
        )
    }

    def path(cid: int) -> str | None:
        names: list[str] = []
        seen: set[int] = set()
        current: int | None = cid
        while current is not None and current in collections and current not in seen:
            if current in trashed:
                return None
            seen.add(current)
            name, parent = collections[current]
            names.append(name)
            current = parent
        return "/".join(reversed(names))

    paths = {cid: path(cid) for cid in collections}
    found = []
    for cid, item_id in connection.execute("SELECT collectionID, itemID FROM collectionItems"):
        named = paths.get(cid)
        if named:
            found.append((item_id, named))
    return found


def _attachment_path(folder: Path, path: str, key: str, link_mode: int | None) -> Path | None:
    """Where an attachment's file is: ``storage:name`` in ``storage/<key>/``, a linked file's
    absolute path; ``attachments:`` paths (relative to a base folder set in Zotero's preferences,
    which this reader does not see) cannot be located."""
    if path.startswith("storage:"):
        return folder / "storage" / key / path.removeprefix("storage:")
    if path.startswith("attachments:"):
        return None
    if link_mode == _LINKED_FILE or Path(path).is_absolute():
        return Path(path).expanduser()
    return None


def _better_bibtex_keys(folder: Path) -> dict[int, str]:
    """Better BibTeX's citation keys by item id, from its own database when it is there."""
    database = folder / BETTER_BIBTEX
    if not database.is_file():
        return {}
    try:
        with _copy_bbt(database) as connection:
            if not _table(connection, "citationkey"):
                return {}
            return {
                int(item_id): str(key)
                for item_id, key in connection.execute("SELECT itemID, citationKey FROM citationkey")
                if key
            }
    except (sqlite3.Error, ReadError):
        return {}  # keys then come from `extra`, or are made


@contextmanager
def _copy_bbt(database: Path) -> Iterator[sqlite3.Connection]:
    with tempfile.TemporaryDirectory(prefix="litassist-bbt-") as tmp:
        copy = Path(tmp) / database.name
        shutil.copyfile(database, copy)
        with closing(sqlite3.connect(f"file:{copy}?mode=ro", uri=True)) as connection:
            yield connection


def _paper(item: _Item, better_bibtex_key: str | None) -> Paper:
    fields = item.fields
    extra = fields.get("extra", "")
    key = better_bibtex_key or fields.get("citationKey")
    if not key and (match := _CITATION_KEY.search(extra)):
        key = match.group(1)
    names: dict[str, list[str]] = defaultdict(list)
    for creator_type, first, last in item.creators:
        names[creator_type].append(" ".join(part for part in (first.strip(), last.strip()) if part))
    authors = next((names[t] for t in _AUTHOR_TYPES if names.get(t)), [])
    year, date = _date(fields.get("date", ""))
    arxiv = None
    for text in (fields.get("archiveID", ""), fields.get("url", ""), fields.get("DOI", ""), extra):
        if match := _ARXIV.search(text):
            arxiv = match.group(1)
            break
    doi = fields.get("DOI")
    if doi and doi.lower().startswith("10.48550/arxiv."):
        doi = None  # arXiv's own DOI: the arXiv id says it
    return Paper(
        key=key or "",
        title=_clean(fields.get("title")),
        authors=[a for a in authors if a],
        year=year,
        date=date,
        venue=next((_clean(fields[f]) for f in _VENUE_FIELDS if fields.get(f)), None),
        doi=doi,
        url=fields.get("url"),
        arxiv_id=arxiv,
        abstract=_clean(fields.get("abstractNote")),
        collections=item.collections,
        tags=item.tags,
        entry_type=ENTRY_TYPES.get(item.item_type, "misc"),
        source_format="zotero",
    )


def _clean(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())
    return cleaned or None


def _date(value: str) -> tuple[int | None, str | None]:
    """Zotero's dates are ``YYYY-MM-DD original`` with zeros for the unknown parts
    (``2020-05-00 May 2020``): the year, and the date as ISO as far as it is known."""
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    if not match:
        found = re.search(r"\b(\d{4})\b", value)
        return (int(found.group(1)), None) if found else (None, None)
    year, month, day = match.groups()
    if year == "0000":
        return None, None
    if month == "00":
        return int(year), year
    return int(year), f"{year}-{month}" if day == "00" else f"{year}-{month}-{day}"
