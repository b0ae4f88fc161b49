"""A small Zotero data directory for tests, written here from Zotero's data model (its table and
column names: zotero/zotero ``resource/schema/``), not copied from Zotero's SQL.

The ids are deliberately not Zotero's (a reader must join on type and field names): field and
type numbers are shuffled, and the plain ``fields`` / ``itemTypes`` tables hold only a few of
the names that ``fieldsCombined`` / ``itemTypesCombined`` hold, as in databases where fields
were added by a schema update.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader, PdfWriter

_TABLES = """
CREATE TABLE itemTypes (itemTypeID INTEGER PRIMARY KEY, typeName TEXT, templateItemTypeID INT, display INT);
CREATE TABLE itemTypesCombined (
    itemTypeID INT NOT NULL PRIMARY KEY, typeName TEXT NOT NULL, templateItemTypeID INT,
    display INT NOT NULL DEFAULT 1, custom INT NOT NULL
);
CREATE TABLE fields (fieldID INTEGER PRIMARY KEY, fieldName TEXT, fieldFormatID INT);
CREATE TABLE fieldsCombined (
    fieldID INT NOT NULL PRIMARY KEY, fieldName TEXT NOT NULL, label TEXT, fieldFormatID INT,
    custom INT NOT NULL
);
CREATE TABLE creatorTypes (creatorTypeID INTEGER PRIMARY KEY, creatorType TEXT);
CREATE TABLE libraries (
    libraryID INTEGER PRIMARY KEY, type TEXT NOT NULL, editable INT NOT NULL, filesEditable INT NOT NULL
);
CREATE TABLE items (
    itemID INTEGER PRIMARY KEY, itemTypeID INT NOT NULL,
    dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    libraryID INT NOT NULL, key TEXT NOT NULL, version INT NOT NULL DEFAULT 0,
    synced INT NOT NULL DEFAULT 0, UNIQUE (libraryID, key)
);
CREATE TABLE itemDataValues (valueID INTEGER PRIMARY KEY, value UNIQUE);
CREATE TABLE itemData (itemID INT, fieldID INT, valueID, PRIMARY KEY (itemID, fieldID));
CREATE TABLE itemNotes (itemID INTEGER PRIMARY KEY, parentItemID INT, note TEXT, title TEXT);
CREATE TABLE itemAttachments (
    itemID INTEGER PRIMARY KEY, parentItemID INT, linkMode INT, contentType TEXT, charsetID INT,
    path TEXT, syncState INT DEFAULT 0, storageModTime INT, storageHash TEXT
);
CREATE TABLE creators (
    creatorID INTEGER PRIMARY KEY, firstName TEXT, lastName TEXT, fieldMode INT,
    UNIQUE (lastName, firstName, fieldMode)
);
CREATE TABLE itemCreators (
    itemID INT NOT NULL, creatorID INT NOT NULL, creatorTypeID INT NOT NULL DEFAULT 1,
    orderIndex INT NOT NULL DEFAULT 0, PRIMARY KEY (itemID, orderIndex)
);
CREATE TABLE collections (
    collectionID INTEGER PRIMARY KEY, collectionName TEXT NOT NULL, parentCollectionID INT DEFAULT NULL,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, libraryID INT NOT NULL,
    key TEXT NOT NULL, version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0
);
CREATE TABLE collectionItems (
    collectionID INT NOT NULL, itemID INT NOT NULL, orderIndex INT NOT NULL DEFAULT 0,
    PRIMARY KEY (collectionID, itemID)
);
CREATE TABLE tags (tagID INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE itemTags (
    itemID INT NOT NULL, tagID INT NOT NULL, type INT NOT NULL, PRIMARY KEY (itemID, tagID)
);
CREATE TABLE deletedItems (itemID INTEGER PRIMARY KEY, dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL);
"""

# shuffled numbers; only the names mean anything
_TYPES = {"note": 31, "attachment": 14, "journalArticle": 7, "conferencePaper": 22, "preprint": 40, "book": 3}
_FIELDS = {
    "title": 110, "abstractNote": 92, "date": 16, "url": 41, "DOI": 73, "extra": 5,
    "publicationTitle": 38, "proceedingsTitle": 119, "archiveID": 131, "repository": 132,
}  # fmt: skip
_OLD_FIELDS = ("title", "date", "url")  # the plain `fields` table knows only these
_CREATOR_TYPES = {"author": 8, "editor": 2, "contributor": 5}


@dataclass
class Item:
    key: str
    item_type: str
    fields: dict[str, str]
    authors: list[tuple[str, str]] = field(default_factory=list)  # (first, last)
    collections: list[str] = field(default_factory=list)  # paths: "Literature search/Explainability"
    tags: list[str] = field(default_factory=list)
    pdf: Path | None = None  # imported into storage/<key>-PDF/
    linked_pdf: Path | None = None  # a linked file, where it is
    trashed: bool = False
    notes: list[str] = field(default_factory=list)  # child notes


def short_pdf(source: Path, target: Path, pages: int = 2) -> Path:
    """The first ``pages`` pages of a real PDF (reading a whole paper costs seconds)."""
    writer = PdfWriter()
    for page in PdfReader(source).pages[:pages]:
        writer.add_page(page)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as f:
        writer.write(f)
    return target


def build(folder: Path, items: list[Item], *, better_bibtex: dict[str, str] | None = None) -> Path:
    """Write ``folder/zotero.sqlite`` (and ``storage/``, and ``better-bibtex.sqlite`` with
    ``better_bibtex``: item key -> citation key) holding ``items``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "zotero.sqlite"
    database.unlink(missing_ok=True)
    db = sqlite3.connect(database)
    db.executescript(_TABLES)
    db.execute("INSERT INTO libraries VALUES (1, 'user', 1, 1)")
    for name, number in _TYPES.items():
        db.execute("INSERT INTO itemTypesCombined VALUES (?, ?, NULL, 1, 0)", (number, name))
        if name in ("note", "attachment", "book"):
            db.execute("INSERT INTO itemTypes VALUES (?, ?, NULL, 1)", (number, name))
    for name, number in _FIELDS.items():
        db.execute("INSERT INTO fieldsCombined VALUES (?, ?, NULL, NULL, 0)", (number, name))
        if name in _OLD_FIELDS:
            db.execute("INSERT INTO fields VALUES (?, ?, NULL)", (number, name))
    for name, number in _CREATOR_TYPES.items():
        db.execute("INSERT INTO creatorTypes VALUES (?, ?)", (number, name))
    collections: dict[str, int] = {}
    tags: dict[str, int] = {}
    next_id = iter(range(1000, 100000, 7))

    def collection(path: str) -> int:
        if path not in collections:
            parent, _, name = path.rpartition("/")
            parent_id = collection(parent) if parent else None
            collections[path] = next(next_id)
            db.execute(
                "INSERT INTO collections (collectionID, collectionName, parentCollectionID, libraryID, key) "
                "VALUES (?, ?, ?, 1, ?)",
                (collections[path], name, parent_id, f"C{collections[path]:07d}"),
            )
        return collections[path]

    def new_item(type_name: str, key: str) -> int:
        item_id = next(next_id)
        db.execute(
            "INSERT INTO items (itemID, itemTypeID, libraryID, key) VALUES (?, ?, 1, ?)",
            (item_id, _TYPES[type_name], key),
        )
        return item_id

    def value(text: str) -> int:
        found = db.execute("SELECT valueID FROM itemDataValues WHERE value = ?", (text,)).fetchone()
        if found:
            return int(found[0])
        return int(db.execute("INSERT INTO itemDataValues (value) VALUES (?)", (text,)).lastrowid or 0)

    for item in items:
        item_id = new_item(item.item_type, item.key)
        for name, text in item.fields.items():
            db.execute("INSERT INTO itemData VALUES (?, ?, ?)", (item_id, _FIELDS[name], value(text)))
        for index, (first, last) in enumerate(item.authors):
            db.execute(
                "INSERT OR IGNORE INTO creators (firstName, lastName, fieldMode) VALUES (?, ?, 0)",
                (first, last),
            )
            (creator,) = db.execute(
                "SELECT creatorID FROM creators WHERE firstName = ? AND lastName = ?", (first, last)
            ).fetchone()
            db.execute(
                "INSERT INTO itemCreators VALUES (?, ?, ?, ?)",
                (item_id, creator, _CREATOR_TYPES["author"], index),
            )
        for path in item.collections:
            db.execute("INSERT INTO collectionItems VALUES (?, ?, 0)", (collection(path), item_id))
        for tag in item.tags:
            if tag not in tags:
                tags[tag] = int(db.execute("INSERT INTO tags (name) VALUES (?)", (tag,)).lastrowid or 0)
            db.execute("INSERT INTO itemTags VALUES (?, ?, 0)", (item_id, tags[tag]))
        if item.trashed:
            db.execute("INSERT INTO deletedItems (itemID) VALUES (?)", (item_id,))
        if item.pdf is not None:
            attachment_key = f"{item.key[:4]}PDF1"
            attachment = new_item("attachment", attachment_key)
            stored = folder / "storage" / attachment_key / item.pdf.name
            stored.parent.mkdir(parents=True, exist_ok=True)
            if item.pdf.exists():
                shutil.copyfile(item.pdf, stored)
            db.execute(
                "INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) "
                "VALUES (?, ?, 0, 'application/pdf', ?)",
                (attachment, item_id, f"storage:{item.pdf.name}"),
            )
        if item.linked_pdf is not None:
            attachment = new_item("attachment", f"{item.key[:4]}LNK1")
            db.execute(
                "INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) "
                "VALUES (?, ?, 2, 'application/pdf', ?)",
                (attachment, item_id, str(item.linked_pdf)),
            )
        for index, note in enumerate(item.notes):
            child = new_item("note", f"{item.key[:4]}NOT{index}")
            db.execute(
                "INSERT INTO itemNotes VALUES (?, ?, ?, ?)", (child, item_id, f"<p>{note}</p>", note[:20])
            )
    db.commit()
    if better_bibtex is not None:
        ids = dict(db.execute("SELECT key, itemID FROM items"))
        bbt_path = folder / "better-bibtex.sqlite"
        bbt_path.unlink(missing_ok=True)
        bbt = sqlite3.connect(bbt_path)
        bbt.execute(
            "CREATE TABLE citationkey (itemID NOT NULL, itemKey NOT NULL, libraryID NOT NULL, "
            "citationKey NOT NULL, pinned DEFAULT 0)"
        )
        for item_key, citation_key in better_bibtex.items():
            bbt.execute(
                "INSERT INTO citationkey VALUES (?, ?, 1, ?, 0)", (ids[item_key], item_key, citation_key)
            )
        bbt.commit()
        bbt.close()
    db.close()
    return folder
