"""The library's two Chroma collections and the write protocol that keeps them consistent.

``papers`` holds one record per paper (metadata, abstract as the document, the abstract chunk's
vector); ``chunks`` holds the passages with their vectors, and ``windows`` the abstracts' search
windows (a collection of their own: a filter on the kind of chunk costs Chroma time in proportion
to the whole collection, 50 ms at 100,000 chunks). A paper record has a ``status``:

* ``pending``  — written *before* its chunks; an ingest that dies leaves it behind, and
  :meth:`ChromaStore.recover` deletes it and its chunks (the key was never handed out);
* ``active``   — written *last*, the commit marker: only active papers are visible;
* ``removing`` — a removal in progress; recovery finishes it;
* ``removed``  — a tombstone that keeps the key (and the content hash) from being reused.

An active paper can also be **updating**: its content (an abstract alone, say) is being replaced
by a longer text under the same key (``updating`` true, ``update_to`` the new text's version).
The steps, each safe to be killed after: (1) the flag on the active record (the old passages
stay visible); (2) the new passages, tagged ``text_version`` = the new version (ids of their own,
never those of the old ones); (3) the commit: the record with the new metadata, chunk count and
``text_version``, still flagged; (4) the old passages deleted, the flag cleared. Recovery (or an
abort) settles a flagged record by what its ``text_version`` says: the new text committed → the
passages of any other version go; not committed → the new version's passages go. Either way
the paper keeps one whole text. The change marker and ``paper_states`` change at (3) and again
at (4), so the lexical index re-reads the paper once its passages are one text again.

A pending record is written only by a writer that holds a *claim* on its key (store/claims.py):
several processes on several machines can share one server and prefix, and a key, or a paper's
content, goes to one of them. The order of one paper's writes, and why it is safe:

1. claim ``key:<key>`` and the paper's identities (``hash:``, ``arxiv:``, ``doi:``) — a writer
   that loses the key takes the next one; one that loses an identity leaves the paper to the
   writer that holds it (and later adds its file as another source);
2. check the papers collection again (another writer may have committed and let go of its
   claims between this writer's first look and its claim: that commit is visible now);
3. the pending record (with the writer's ``claim`` token), the chunks, the commit record;
4. check after the commit: the record is active, is this writer's, and exactly ``chunk_count``
   passages are under the key; then let go of the claims.

No passage is written under a key its writer does not hold, so a passage is always under its
own paper, and no two writers commit one key. Edits of a stored paper (a source added, a
removal) claim ``edit:<key>`` around their read-modify-write, so that none is lost.

The same code runs on an embedded ``PersistentClient`` and on a ``chroma run`` server (there a
file lock per library folder also serialises the writers of one folder).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import chromadb
import httpx
import numpy as np
import numpy.typing as npt
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaClientSettings

from store.chunking import chunk_id, embedding_text
from store.claims import Claims, abandoned, writer_identity
from store.embedder import Vectors
from store.errors import EmbedderMismatchError, LibraryError
from store.paper import Chunk, Paper, has_tags, in_collections, normalise

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: windows in a collection of their own
_BATCH = 1000
_JSON_FIELDS = ("authors", "sources", "user_fields", "collections", "tags", "bibtex", "origins")
_SCALAR_FIELDS = (
    "title", "author_count", "year", "date", "venue", "arxiv_id", "doi", "url", "note",
    "source_format", "content_hash", "chunk_count", "entry_type",
)  # fmt: skip


def unreachable(error: BaseException) -> bool:
    """Whether an error says that the Chroma server stopped answering (killed, restarted, the
    network gone): chromadb lets httpx's errors through."""
    return isinstance(error, (httpx.TransportError, ConnectionError))


def embedded_client(path: Path) -> ClientAPI:
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaClientSettings(anonymized_telemetry=False)
    )


def server_client(
    host: str, port: int, *, ssl: bool = False, headers: dict[str, str] | None = None
) -> ClientAPI:
    try:
        return chromadb.HttpClient(
            host=host,
            port=port,
            ssl=ssl,
            headers=headers or {},
            settings=ChromaClientSettings(anonymized_telemetry=False),
        )
    except Exception as e:  # chromadb raises bare ValueError/ConnectionError here
        scheme = "https" if ssl else "http"
        raise LibraryError(
            f"cannot reach the Chroma server at {scheme}://{host}:{port} ({e}); start it with "
            f"`chroma run --host {host} --port {port}` or set LITASSIST_CHROMA__MODE=embedded"
        ) from e


class ChromaStore:
    def __init__(
        self,
        client: ClientAPI,
        *,
        embedder_name: str,
        dimension: int,
        chunk_size: int,
        chunk_overlap: int,
        search_ef: int,
        prefix: str = "",
        where: str = "the library",
    ):
        self.client = client
        self.search_ef = search_ef
        self.where = where
        identity: dict[str, Any] = {
            "litassist_schema": SCHEMA_VERSION,
            "embedder": embedder_name,
            "dimension": dimension,
            "chunk_size": chunk_size,
            "chunk_overlap": chunk_overlap,
        }
        self.papers_collection = self._collection(f"{prefix}papers", identity, where)
        self.chunks_collection = self._collection(f"{prefix}chunks", identity, where)
        self.windows_collection = self._collection(f"{prefix}windows", identity, where)
        self.claims = Claims(client, prefix)
        meta = self.chunks_collection.metadata or {}
        if int(meta.get("litassist_schema", 1)) < 2:
            self._move_windows()
        self.chunk_size = int(meta.get("chunk_size", chunk_size))
        self.chunk_overlap = int(meta.get("chunk_overlap", chunk_overlap))
        if (self.chunk_size, self.chunk_overlap) != (chunk_size, chunk_overlap):
            log.warning(
                "%s was chunked with size %d/overlap %d; keeping those (settings say %d/%d)",
                where,
                self.chunk_size,
                self.chunk_overlap,
                chunk_size,
                chunk_overlap,
            )

    def _move_windows(self, batch: int = 1000) -> None:
        """Schema 1 kept windows among the passages: move them to their own collection."""
        while True:
            found = self.chunks_collection.get(
                where={"kind": "window"}, limit=batch, include=["embeddings", "documents", "metadatas"]
            )
            if not found["ids"]:
                break
            self.windows_collection.upsert(
                ids=found["ids"],
                embeddings=found["embeddings"],
                documents=found["documents"],
                metadatas=found["metadatas"],
            )
            self.chunks_collection.delete(ids=found["ids"])
        meta = dict(self.chunks_collection.metadata or {})
        self.chunks_collection.modify(metadata={**meta, "litassist_schema": SCHEMA_VERSION})
        log.info("moved the abstracts' search windows to a collection of their own")

    def _collection(self, name: str, identity: dict[str, Any], where: str) -> Collection:
        collection = self.client.get_or_create_collection(
            name,
            embedding_function=None,
            metadata=identity,
            configuration={"hnsw": {"space": "cosine", "ef_search": self.search_ef}},
        )
        self._widen_search(collection)
        meta = collection.metadata or {}
        for field in ("embedder", "dimension"):
            if field in meta and meta[field] != identity[field]:
                raise EmbedderMismatchError(
                    f"{where} was built with embedder {meta.get('embedder')!r} "
                    f"(dimension {meta.get('dimension')}), but the configured embedder is "
                    f"{identity['embedder']!r} (dimension {identity['dimension']}). Mixing them would "
                    "corrupt search: configure the library's embedder again, or use a new library folder."
                )
        return collection

    def _widen_search(self, collection: Collection) -> None:
        """The breadth of the dense search (HNSW ``ef_search``, the one index parameter Chroma
        lets change) as the settings say: a collection made before (at Chroma's default, 100)
        or with another setting is changed, and searches so from the next time the library is
        opened (Chroma keeps a loaded index's breadth until then)."""
        hnsw = (collection.configuration_json or {}).get("hnsw") or {}
        if hnsw.get("ef_search") == self.search_ef:
            return
        try:
            collection.modify(configuration={"hnsw": {"ef_search": self.search_ef}})
        except Exception as e:  # a read-only server, an older one: search as it is
            log.warning("could not widen the search of %s (%s); searching as before", collection.name, e)
        else:
            log.info(
                "%s: dense search breadth set to %d (from the next open)", collection.name, self.search_ef
            )

    # -- reading -------------------------------------------------------------------------------

    def papers(self) -> list[Paper]:
        result = self.papers_collection.get(where={"status": "active"}, include=["metadatas", "documents"])
        papers = [_paper(id_, meta, doc) for id_, meta, doc in _rows(result)]
        return sorted(papers, key=lambda p: (p.added_at or datetime.min.replace(tzinfo=UTC), p.key))

    def keys_in(self, *, collections: Iterable[str] = (), tags: Iterable[str] = ()) -> set[str]:
        """The active papers in any of ``collections`` (by path or name, subcollections
        included) and, when tags are given, with any of ``tags``; case ignored."""
        result = self.papers_collection.get(where={"status": "active"}, include=["metadatas"])
        return {
            key
            for key, meta, _ in _rows(result)
            if in_collections(json.loads(meta.get("collections") or "[]"), collections)
            and has_tags(json.loads(meta.get("tags") or "[]"), tags)
        }

    def get(self, key: str) -> Paper | None:
        result = self.papers_collection.get(ids=[key], include=["metadatas", "documents"])
        for id_, meta, doc in _rows(result):
            if meta.get("status") == "active":
                return _paper(id_, meta, doc)
        return None

    def all_keys(self) -> set[str]:
        """Every key ever handed out or reserved: active, pending, removing and removed."""
        return set(self.papers_collection.get(include=[])["ids"])

    def identify(self, papers: Sequence[Paper]) -> dict[str, dict[str, tuple[Paper, str]]]:
        """Stored papers (active or removed) with the content hash, arXiv id, DOI or title
        (``title_key``: normalised; records written before it was kept have none) of one of
        ``papers``, in one read per batch: field -> value -> (paper, status)."""
        fields = ("content_hash", "arxiv_id", "doi")
        found: dict[str, dict[str, tuple[Paper, str]]] = {f: {} for f in (*fields, "title_key")}
        for start in range(0, len(papers), _BATCH):
            some = papers[start : start + _BATCH]
            clauses = []
            for field in fields:
                values = sorted({str(v) for v in (getattr(p, field) for p in some) if v})
                if values:
                    clauses.append({field: {"$in": values}})
            titles = sorted({normalise(p.title) for p in some if p.title and normalise(p.title)})
            if titles:
                clauses.append({"title_key": {"$in": titles}})
            if not clauses:
                continue
            result = self.papers_collection.get(
                where=_where(
                    {
                        "$and": [
                            clauses[0] if len(clauses) == 1 else {"$or": clauses},
                            {"status": {"$in": ["active", "removed"]}},
                        ]
                    }
                ),
                include=["metadatas", "documents"],
            )
            for id_, meta, doc in _rows(result):
                for field in (*fields, "title_key"):
                    value = str(meta.get(field) or "")
                    known = found[field].get(value)
                    # an active paper wins over a tombstone with the same identity (a re-keyed
                    # paper leaves one under its old key)
                    if value and (known is None or known[1] != "active"):
                        found[field][value] = (_paper(id_, meta, doc), str(meta["status"]))
        return found

    def chunks(self, key: str, *, kind: str = "passage") -> list[Chunk]:
        """A paper's chunks of one kind (passages, or the abstract's search windows), in order."""
        result = self._of(kind).get(where={"paper_key": key}, include=["metadatas", "documents"])
        chunks = [
            Chunk(
                id=id_,
                paper_key=key,
                text=doc or "",
                ordinal=int(meta.get("ordinal", 0)),
                section=meta.get("section"),
                page=meta.get("page"),
                kind=str(meta.get("kind", "passage")),
            )
            for id_, meta, doc in _rows(result)
        ]
        return sorted(chunks, key=lambda c: c.ordinal)

    def _of(self, kind: str) -> Collection:
        return self.windows_collection if kind == "window" else self.chunks_collection

    def count_chunks(self) -> int:
        """Passages and windows."""
        return self.chunks_collection.count() + self.windows_collection.count()

    def get_many(self, keys: Sequence[str]) -> dict[str, Paper]:
        """The active papers among ``keys``, in one read."""
        if not keys:
            return {}
        result = self.papers_collection.get(ids=list(dict.fromkeys(keys)), include=["metadatas", "documents"])
        return {
            id_: _paper(id_, meta, doc) for id_, meta, doc in _rows(result) if meta.get("status") == "active"
        }

    def paper_states(self) -> dict[str, str]:
        """Every visible paper's key with what identifies its chunks (count and content hash):
        derived indexes (the lexical one) compare it with what they indexed."""
        result = self.papers_collection.get(where={"status": "active"}, include=["metadatas"])
        return {key: _state(meta) for key, meta, _ in _rows(result)}

    def change_marker(self) -> str | None:
        """A value every commit and removal changes (in the papers collection's metadata): a
        cheap sign, for every reader of the library, that ``paper_states`` may have changed."""
        collection = self.client.get_collection(self.papers_collection.name)
        return cast("str | None", (collection.metadata or {}).get("changed"))

    def _mark_changed(self) -> None:
        identity = {k: v for k, v in (self.papers_collection.metadata or {}).items() if k != "changed"}
        self.papers_collection.modify(metadata={**identity, "changed": uuid.uuid4().hex})

    def chunks_of(
        self, keys: Sequence[str], *, batch: int = 200
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """The passages of these papers: (id, text, metadata)."""
        for start in range(0, len(keys), batch):
            some = list(keys[start : start + batch])
            result = self.chunks_collection.get(
                where=_where({"paper_key": {"$in": some}}), include=["documents", "metadatas"]
            )
            for id_, meta, doc in _rows(result):
                yield id_, doc or "", meta

    def iter_chunks(self, *, batch: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every passage of an active paper: (id, text, metadata), in pages of ``batch``."""
        active = {
            key for key, _, _ in _rows(self.papers_collection.get(where={"status": "active"}, include=[]))
        }
        offset = 0
        while True:
            result = self.chunks_collection.get(
                include=["documents", "metadatas"], limit=batch, offset=offset
            )
            if not result["ids"]:
                return
            for id_, meta, doc in _rows(result):
                if meta.get("paper_key") in active:
                    yield id_, doc or "", meta
            offset += len(result["ids"])

    def query_chunks(
        self,
        vector: npt.NDArray[np.float32],
        n: int,
        where: dict[str, Any] | None = None,
        *,
        kind: str = "passage",
        texts: bool = True,
        metadata: bool = True,
    ) -> list[tuple[str, str | None, dict[str, Any], float]]:
        """Nearest chunks of a kind (passages or windows): (id, text, metadata, cosine
        similarity), best first. Reading texts
        and metadata is most of a query's time, and a search shows only a few of the chunks it
        ranks (``chunk_texts`` reads those): ``texts=False`` gives ``None`` for the text,
        ``metadata=False`` an empty dict (the paper's key is in the id: ``paper_key_of``)."""
        include: list[Any] = ["distances"]
        include += ["documents"] if texts else []
        include += ["metadatas"] if metadata else []
        # n may exceed the collection's size: Chroma returns what there is
        result = self._of(kind).query(
            query_embeddings=[vector.tolist()],
            n_results=n,
            where=_where(where) if where else None,
            include=include,
        )
        ids = result["ids"][0]
        docs = (result.get("documents") or [[]])[0] or [""] * len(ids)
        metas = (result.get("metadatas") or [[]])[0] or [{}] * len(ids)
        dists = (result.get("distances") or [[]])[0] or [1.0] * len(ids)
        return [
            (i, (d or "") if texts else None, dict(m or {}), 1.0 - float(x))
            for i, d, m, x in zip(ids, docs, metas, dists, strict=True)
        ]

    def nearest_abstracts(
        self, vector: npt.NDArray[np.float32], n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, str | None, dict[str, Any], float]]:
        """The abstracts of the ``n`` active papers nearest to ``vector`` (a paper record holds
        its abstract's vector), like ``query_chunks``; under a filter on chunk metadata, the
        abstract passages that match it."""
        if where is not None:
            clause = {"$and": [where, {"section": "Abstract"}]}
            return self.query_chunks(vector, n, clause)
        result = self.papers_collection.query(
            query_embeddings=[vector.tolist()],
            n_results=3 * n,
            include=["documents", "metadatas", "distances"],
        )
        rows = zip(
            result["ids"][0],
            (result["documents"] or [[]])[0],
            (result["metadatas"] or [[]])[0],
            (result["distances"] or [[]])[0],
            strict=True,
        )
        found: list[tuple[str, str | None, dict[str, Any], float]] = [
            (key, doc or "", dict(meta), 1.0 - float(distance))
            for key, doc, meta, distance in rows
            if meta and meta.get("status") == "active" and meta.get("has_abstract")
        ]
        return found[:n]

    def chunk_texts(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of these chunks."""
        if not ids:
            return {}
        result = self.chunks_collection.get(ids=list(ids), include=["documents", "metadatas"])
        return {id_: (doc or "", meta) for id_, meta, doc in _rows(result)}

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        """The stored vectors of these chunks."""
        return _vectors(self.chunks_collection, ids)

    def paper_vectors(self, keys: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        """The stored vectors of these papers (their title and abstract)."""
        return _vectors(self.papers_collection, keys)

    # -- the write protocol --------------------------------------------------------------------

    def begin(self, papers: Sequence[Paper], vectors: Vectors) -> None:
        """Pending records, written before any chunk (the keys must be claimed: ``claims``)."""
        self._upsert_papers(papers, vectors, status="pending")

    def write_chunks(
        self,
        chunks: Sequence[Chunk],
        vectors: Vectors,
        years: dict[str, int | None],
        versions: dict[str, str] | None = None,
    ) -> None:
        """``versions``: the text version of the papers being updated (their new passages carry it)."""
        versions = versions or {}
        for kind in ("passage", "window"):
            rows = [i for i, c in enumerate(chunks) if (c.kind == "window") == (kind == "window")]
            for start in range(0, len(rows), _BATCH):
                batch = rows[start : start + _BATCH]
                self._of(kind).upsert(
                    ids=[chunks[i].id for i in batch],
                    embeddings=vectors[batch],
                    documents=[chunks[i].text for i in batch],
                    metadatas=[
                        _chunk_metadata(
                            chunks[i], years.get(chunks[i].paper_key), versions.get(chunks[i].paper_key)
                        )
                        for i in batch
                    ],
                )

    def commit(
        self, papers: Sequence[Paper], vectors: Vectors, updates: dict[str, str] | None = None
    ) -> None:
        """The commit marker: the paper records, written last. ``updates``: the papers among
        them whose text replaces another (key -> new version): still flagged (``finish_updates``)."""
        self._upsert_papers(papers, vectors, status="active", updates=updates or {})
        self._mark_changed()

    def begin_updates(self, updates: dict[str, tuple[str, str]]) -> None:
        """Flag active papers as updating to a new text version, before any of its passages is
        written (the edit claim on each key must be held): key -> (version, the id of an old
        passage the new text keeps as it is, its abstract, or ""). The old passages stay visible."""
        if not updates:
            return
        keys = list(updates)
        self.papers_collection.update(
            ids=keys,
            metadatas=[
                {
                    "updating": True,
                    "update_to": updates[k][0],
                    "update_keep": updates[k][1],
                    "claim": self.claims.token,
                    **_writer(),
                }
                for k in keys
            ],
        )

    def chunk_ids(self, key: str) -> set[str]:
        """The ids of a paper's passages."""
        return set(self.chunks_collection.get(where={"paper_key": key}, include=[])["ids"])

    def finish_updates(self, keys: Sequence[str]) -> None:
        """After the commit of updates: the passages of other versions go, the flag is cleared."""
        for key, meta in self.records(keys).items():
            if meta.get("updating"):
                self._settle_update(key, meta)
        if keys:
            self._mark_changed()

    def _settle_update(self, key: str, meta: dict[str, Any]) -> None:
        """A flagged record becomes one text again: the new one if it was committed (its
        ``text_version`` is the one it was updating to), else the old one."""
        target = str(meta.get("update_to") or "")
        keep = str(meta.get("update_keep") or "")
        committed = bool(target) and meta.get("text_version") == target
        for collection in (self.chunks_collection, self.windows_collection):
            found = collection.get(where={"paper_key": key}, include=["metadatas"])
            gone = [
                id_
                for id_, chunk_meta, _ in _rows(found)
                if id_ != keep and (chunk_meta.get("text_version") == target) != committed
            ]
            for start in range(0, len(gone), _BATCH):
                collection.delete(ids=gone[start : start + _BATCH])
        self.papers_collection.update(ids=[key], metadatas=[{"updating": False}])
        log.debug("%s: %s", key, "its new text is in" if committed else "kept its old text")

    def verify(self, papers: Sequence[Paper]) -> dict[str, str]:
        """The check after a commit: for each paper whose stored state is not what this writer
        committed, what is wrong (the record gone, not active, written by another writer, or
        another number of passages under its key)."""
        keys = [p.key for p in papers]
        records = {k: m for k, m, _ in _rows(self.papers_collection.get(ids=keys, include=["metadatas"]))}
        counts: dict[str, int] = {}
        for start in range(0, len(keys), _BATCH):
            found = self.chunks_collection.get(
                where=_where({"paper_key": {"$in": keys[start : start + _BATCH]}}), include=["metadatas"]
            )
            for _, chunk_meta, _ in _rows(found):
                key = str(chunk_meta.get("paper_key"))
                counts[key] = counts.get(key, 0) + 1
        problems = {}
        for paper in papers:
            meta = records.get(paper.key)
            if meta is None:
                problems[paper.key] = "its record is gone"
            elif meta.get("status") != "active":
                problems[paper.key] = f"its record is {meta.get('status')}"
            elif meta.get("claim") != self.claims.token or meta.get("content_hash") != paper.content_hash:
                problems[paper.key] = f"its record was written by another writer ({meta.get('writer')})"
            elif counts.get(paper.key, 0) != paper.chunk_count:
                problems[paper.key] = (
                    f"{counts.get(paper.key, 0)} passages under it, {paper.chunk_count} written"
                )
        return problems

    def records(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records (any status) with these keys: key -> metadata."""
        if not keys:
            return {}
        result = self.papers_collection.get(ids=list(dict.fromkeys(keys)), include=["metadatas"])
        return {key: meta for key, meta, _ in _rows(result)}

    def edit(self, key: str, change: Callable[[Paper], None]) -> Paper | None:
        """Change an active paper's metadata (another source, filled-in fields) as read now,
        under the ``edit:<key>`` claim so that two writers' edits do not overwrite each other.
        Returns the paper as stored, or None when it is no longer active."""
        with self._editing(key):
            paper = self.get(key)
            if paper is None:
                return None
            change(paper)
            # Chroma merges an update into the stored metadata: a field cleared is deleted (None)
            cleared: dict[str, Any] = dict.fromkeys(_SCALAR_FIELDS)
            self.papers_collection.update(ids=[key], metadatas=[{**cleared, **_metadata(paper, "active")}])
            self._mark_changed()
            return paper

    def retitle(self, key: str, embed: Callable[[Sequence[str]], Vectors]) -> bool:
        """Embed a paper's passages again under its current title (the embedder reads the title
        with each passage, and the record's vector is its first passage's), so that a corrected
        title reaches search; the record then carries the title's state, which tells the lexical
        index to read the paper again. Vectors first, then the record: a writer stopped between
        leaves the old title with new vectors, which the next retitle puts right. False when the
        paper is no longer active."""
        with self._editing(key):
            paper = self.get(key)
            if paper is None:
                return False
            found = self.chunks_collection.get(where={"paper_key": key}, include=["documents", "metadatas"])
            rows = sorted(_rows(found), key=lambda row: int(row[1].get("ordinal", 0)))
            record: dict[str, Any] = {"title_state": _title_state(paper.title)}
            if rows:
                vectors = embed([embedding_text(paper.title, doc or "", "passage") for _, _, doc in rows])
                for start in range(0, len(rows), _BATCH):
                    batch = rows[start : start + _BATCH]
                    self.chunks_collection.update(
                        ids=[id_ for id_, _, _ in batch], embeddings=vectors[start : start + len(batch)]
                    )
                self.papers_collection.update(ids=[key], embeddings=vectors[:1], metadatas=[record])
            else:
                self.papers_collection.update(ids=[key], metadatas=[record])
            self._mark_changed()
            return True

    def remove(self, key: str) -> Paper | None:
        with self._editing(key):
            paper = self.get(key)
            if paper is None:
                return None
            self.papers_collection.update(ids=[key], metadatas=[{"status": "removing", **_writer()}])
            self._delete_chunks(key)
            self.papers_collection.update(ids=[key], metadatas=[{"status": "removed"}])
            self._mark_changed()
            return paper

    def copy(self, key: str) -> StoredPaper | None:
        """Everything stored for an active paper (its record, passages and windows, with their
        vectors): enough to put it back after a removal without reading its file again."""
        result = self.papers_collection.get(ids=[key], include=["metadatas", "documents", "embeddings"])
        rows = list(_rows(result))
        if not rows or rows[0][1].get("status") != "active":
            return None
        _, meta, document = rows[0]
        parts = {}
        for kind in ("passage", "window"):
            found = self._of(kind).get(
                where={"paper_key": key}, include=["documents", "metadatas", "embeddings"]
            )
            vectors = found.get("embeddings")
            parts[kind] = StoredChunks(
                list(found["ids"]),
                [d or "" for d in found.get("documents") or []],
                [dict(m or {}) for m in found.get("metadatas") or []],
                np.asarray(vectors if vectors is not None and len(vectors) else [], dtype=np.float32),
            )
        return StoredPaper(
            paper=_paper(key, meta, document),
            vector=np.asarray(cast("Any", result.get("embeddings"))[0], dtype=np.float32),
            passages=parts["passage"],
            windows=parts["window"],
        )

    def restore(self, stored: StoredPaper) -> Paper:
        """Put a removed paper back as it was (``copy`` taken before the removal), under its own
        key: the tombstone becomes the paper again. Refused when the key is active (the paper
        came back meanwhile, e.g. its file was added again)."""
        key = stored.paper.key
        with self._editing(key):
            record = self.records([key]).get(key)
            if record is not None and record.get("status") not in ("removed", None):
                raise LibraryError(f"{key} is in the library again ({record.get('status')}); nothing to undo")
            self._write_copy(stored, stored.paper)
            return stored.paper

    def rekey(self, key: str, new_key: str, change: Callable[[Paper], None] | None = None) -> Paper:
        """Give a paper another key: its record, passages and windows are written under
        ``new_key`` (passage ids follow the key), committed, then the old key becomes a
        tombstone (never reused). ``change``: other edits of the record, made on the way."""
        name = f"key:{new_key}"
        with self._editing(key):
            if new_key in self.all_keys():
                raise LibraryError(f"the key {new_key!r} is taken (keys are never reused); choose another")
            if not self.claims.claim_one(name, timeout=5.0):
                raise LibraryError(f"another writer is using the key {new_key!r}; choose another")
            try:
                stored = self.copy(key)
                if stored is None:
                    raise LibraryError(f"{key} is no longer in the library")
                paper = stored.paper.model_copy(deep=True)
                paper.key = new_key
                if change is not None:
                    change(paper)
                moved = StoredPaper(
                    paper,
                    stored.vector,
                    stored.passages.under(new_key),
                    stored.windows.under(new_key),
                )
                self._write_copy(moved, paper)
                self.papers_collection.update(ids=[key], metadatas=[{"status": "removing", **_writer()}])
                self._delete_chunks(key)
                self.papers_collection.update(
                    ids=[key], metadatas=[{"status": "removed", "moved_to": new_key}]
                )
                self._mark_changed()
                return paper
            finally:
                self.claims.release([name])

    def _write_copy(self, stored: StoredPaper, paper: Paper) -> None:
        """The write protocol for a paper whose chunks are at hand: pending record, chunks,
        commit record."""
        vector = stored.vector[None, :]
        self._upsert_papers([paper], vector, status="pending")
        for kind, part in (("passage", stored.passages), ("window", stored.windows)):
            for start in range(0, len(part.ids), _BATCH):
                end = start + _BATCH
                self._of(kind).upsert(
                    ids=part.ids[start:end],
                    embeddings=part.vectors[start:end],
                    documents=part.texts[start:end],
                    metadatas=cast("Any", part.metadatas[start:end]),
                )
        self.commit([paper], vector)

    @contextmanager
    def _editing(self, key: str) -> Iterator[None]:
        name = f"edit:{key}"
        if not self.claims.claim_one(name):
            raise LibraryError(
                f"another writer has been changing the paper {key} for a minute; try again later"
            )
        try:
            yield
        finally:
            self.claims.release([name])

    def recover(self, *, stale_after: float = 3600.0) -> list[str]:
        """Finish what an interrupted process left: its pending papers and their chunks go,
        its half-done removals complete. Records of a writer that is still at work (a live
        process on this host, or one on another host heard from within ``stale_after``
        seconds) are left alone. Returns the keys that were cleaned up."""
        result = self.papers_collection.get(
            where=_where({"status": {"$in": ["pending", "removing"]}}), include=["metadatas"]
        )
        abandoned_ = [(key, meta) for key, meta, _ in _rows(result) if abandoned(meta, stale_after)]
        self._clean(abandoned_)
        updating = self.papers_collection.get(where={"updating": True}, include=["metadatas"])
        unfinished = [(key, meta) for key, meta, _ in _rows(updating) if abandoned(meta, stale_after)]
        for key, meta in unfinished:
            self._settle_update(key, meta)
        if unfinished:
            self._mark_changed()
            abandoned_ += unfinished
        self.claims.recover(stale_after=stale_after)
        if abandoned_:
            log.info("cleaned up after an interrupted run: %s", ", ".join(key for key, _ in abandoned_))
        return [key for key, _ in abandoned_]

    def abort(self, keys: Sequence[str]) -> None:
        """Undo this process's own unfinished writes (a group that failed midway)."""
        result = self.papers_collection.get(ids=list(keys), include=["metadatas"])
        rows = list(_rows(result))
        self._clean([(key, meta) for key, meta, _ in rows if meta.get("status") == "pending"])
        flagged = [(key, meta) for key, meta, _ in rows if meta.get("updating")]
        for key, meta in flagged:
            self._settle_update(key, meta)
        if flagged:
            self._mark_changed()

    def _clean(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        for key, meta in records:
            self._delete_chunks(key)
            if meta.get("status") == "pending":
                self.papers_collection.delete(ids=[key])
            else:
                self.papers_collection.update(ids=[key], metadatas=[{"status": "removed"}])
        if records:
            self._mark_changed()

    def _delete_chunks(self, key: str) -> None:
        self.chunks_collection.delete(where={"paper_key": key})
        self.windows_collection.delete(where={"paper_key": key})

    def _upsert_papers(
        self, papers: Sequence[Paper], vectors: Vectors, *, status: str, updates: dict[str, str] | None = None
    ) -> None:
        if not papers:
            return
        updates = updates or {}
        self.papers_collection.upsert(
            ids=[p.key for p in papers],
            embeddings=vectors,
            documents=[p.abstract or p.title or p.key for p in papers],
            metadatas=[
                {
                    **_metadata(p, status),
                    "claim": self.claims.token,
                    **(_writer() if status == "pending" else {}),
                    **(
                        {
                            "updating": True,
                            "update_to": updates[p.key],
                            "text_version": updates[p.key],
                            **_writer(),
                        }
                        if p.key in updates
                        else {}
                    ),
                }
                for p in papers
            ],
        )


@dataclass(frozen=True)
class StoredChunks:
    """A paper's chunks of one kind as stored: ids, texts, metadata and vectors."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    vectors: npt.NDArray[np.float32]

    def under(self, key: str) -> StoredChunks:
        """The same chunks under another paper key (ids follow the key, as in chunking)."""
        metadatas = [{**m, "paper_key": key} for m in self.metadatas]
        ids = [chunk_id(key, int(m.get("ordinal", 0)), t) for m, t in zip(metadatas, self.texts, strict=True)]
        return StoredChunks(ids, list(self.texts), metadatas, self.vectors)


@dataclass(frozen=True)
class StoredPaper:
    """What ``ChromaStore.copy`` keeps of a paper: enough to write it again as it was."""

    paper: Paper
    vector: npt.NDArray[np.float32]
    passages: StoredChunks
    windows: StoredChunks


def _state(meta: dict[str, Any]) -> str:
    """What identifies a paper's passages: their count, the content hash, the text version, and
    ``~`` while an update is unfinished (its passages may be of two texts)."""
    state = f"{meta.get('chunk_count')}:{meta.get('content_hash')}"
    if meta.get("text_version"):
        state += f":{meta['text_version']}"
    if meta.get("title_state"):  # a title edited since it was read
        state += f":t{meta['title_state']}"
    return state + ("~" if meta.get("updating") else "")


def _vectors(collection: Collection, ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
    if not ids:
        return {}
    result = collection.get(ids=list(ids), include=["embeddings"])
    embeddings = result.get("embeddings")
    if embeddings is None:
        return {}
    return {i: np.asarray(v, dtype=np.float32) for i, v in zip(result["ids"], embeddings, strict=True)}


def _writer() -> dict[str, str]:
    """Who is writing a pending record, so that recovery can tell abandoned work from work
    in progress in another process."""
    return writer_identity()


def _where(clause: dict[str, Any]) -> Where:
    return cast("Where", clause)  # chromadb's Where type does not admit lists of strings for $in


def _title_state(title: str | None) -> str:
    return hashlib.sha1((title or "").encode()).hexdigest()[:8]


def _rows(result: Any) -> Iterable[tuple[str, dict[str, Any], str | None]]:
    ids = result["ids"]
    metadatas = result.get("metadatas") or [{}] * len(ids)
    documents = result.get("documents") or [None] * len(ids)
    for id_, meta, doc in zip(ids, metadatas, documents, strict=True):
        yield id_, dict(meta or {}), doc


def _metadata(paper: Paper, status: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"status": status, "has_abstract": bool(paper.abstract)}
    if paper.title and normalise(paper.title):
        meta["title_key"] = normalise(paper.title)
    for field in _SCALAR_FIELDS:
        value = getattr(paper, field)
        if value is not None and value != "":
            meta[field] = value
    for field in _JSON_FIELDS:
        meta[field] = json.dumps(getattr(paper, field), ensure_ascii=False)
    added = paper.added_at or datetime.now(UTC)
    meta["added_at"] = added.isoformat()
    return meta


def _paper(key: str, meta: dict[str, Any], document: str | None) -> Paper:
    fields: dict[str, Any] = {f: meta[f] for f in _SCALAR_FIELDS if f in meta}
    for field in _JSON_FIELDS:
        fields[field] = json.loads(meta.get(field) or "[]")
    if "added_at" in meta:
        fields["added_at"] = datetime.fromisoformat(str(meta["added_at"]))
    return Paper(key=key, abstract=document if meta.get("has_abstract") else None, **fields)


def _chunk_metadata(chunk: Chunk, year: int | None, version: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"paper_key": chunk.paper_key, "ordinal": chunk.ordinal, "kind": chunk.kind}
    if version:
        meta["text_version"] = version
    if chunk.section:
        meta["section"] = chunk.section
    if chunk.page is not None:
        meta["page"] = chunk.page
    if year is not None:
        meta["year"] = year
    return meta
