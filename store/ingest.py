"""The ingest pipeline: files -> papers -> chunks -> vectors -> Chroma, with a report.

Papers are written in groups (a few hundred chunks) so that the embedder sees length-sorted
batches and Chroma sees few large writes. A writer thread embeds and writes one group while the
calling thread reads and splits the next files. Each group follows the store's pending -> chunks
-> commit protocol, so a killed run leaves nothing half-visible and the next run resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from store.chroma import ChromaStore
from store.chunking import Chunker, embedding_text
from store.embedder import Embedder
from store.errors import LitassistError, ReadError
from store.keys import assign_key
from store.paper import Chunk, Document, Paper, content_hash
from store.readers import UnsupportedFileError, read, walk

log = logging.getLogger(__name__)

_FILL_FIELDS = ("title", "year", "date", "venue", "arxiv_id", "doi", "url", "author_count")


@dataclass(frozen=True)
class Outcome:
    """A file or entry that was skipped or failed, and why."""

    source: str
    reason: str
    key: str | None = None


@dataclass
class IngestReport:
    added: list[Paper] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [{"key": p.key, "title": p.label, "sources": p.sources} for p in self.added],
            "skipped": [vars(o) for o in self.skipped],
            "failed": [vars(o) for o in self.failed],
        }


@dataclass(frozen=True)
class IngestEvent:
    """Progress, for whoever draws it: ``files`` (count = files found), ``file`` (one file read;
    ``count`` = papers in it), ``chunks`` (count = chunks newly planned), ``embedded`` (count =
    chunks just embedded), ``committed`` (a paper is in)."""

    kind: Literal["files", "file", "chunks", "embedded", "committed"]
    count: int = 0
    path: str | None = None
    key: str | None = None


Progress = Callable[[IngestEvent], None]


@dataclass
class _Planned:
    document: Document
    chunks: list[Chunk]


class Ingest:
    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        chunker: Chunker,
        *,
        progress: Progress | None = None,
        group_chunks: int = 256,
        embed_batch: int = 32,
    ):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.progress = progress or (lambda event: None)
        self.group_chunks = group_chunks
        self.embed_batch = embed_batch
        self._taken: set[str] = set()
        self._group: list[_Planned] = []
        self._unwritten: dict[str, Paper] = {}  # identities of this run's papers not yet committed
        self._inflight: list[_Planned] = []  # the group the writer thread is embedding and writing
        self._future: Future[None] | None = None
        self._late_sources: dict[str, list[str]] = {}  # sources found for in-flight papers

    def run(self, paths: Iterable[Path]) -> IngestReport:
        self.store.recover()
        report = IngestReport()
        files = list(walk([Path(p) for p in paths]))
        self.progress(IngestEvent("files", count=len(files)))
        self._taken = self.store.all_keys()
        self._group, self._unwritten = [], {}
        # one writer thread: it embeds and writes a group while this thread reads the next files
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="litassist-ingest") as pool:
            for path, named in files:
                self._read(path, named, report)
                if sum(len(p.chunks) for p in self._group) >= self.group_chunks:
                    self._submit(pool, report)
            self._submit(pool, report)
            self._collect(report)
        return report

    def _read(self, path: Path, named: bool, report: IngestReport) -> None:
        documents = []
        try:
            result = read(path)
        except UnsupportedFileError as e:
            (report.failed if named else report.skipped).append(Outcome(str(path), str(e)))
        except ReadError as e:
            report.failed.append(Outcome(str(path), str(e)))
        except Exception as e:  # a reader bug must not sink the batch; say what happened
            log.exception("reading %s failed", path)
            report.failed.append(Outcome(str(path), f"unexpected error: {type(e).__name__}: {e}"))
        else:
            report.failed.extend(Outcome(origin, reason) for origin, reason in result.problems)
            documents = result.documents
            self._admit(documents, str(path.resolve()), report)
        self.progress(IngestEvent("file", count=len(documents), path=str(path)))

    # -- deciding what is new -----------------------------------------------------------------

    def _admit(self, documents: list[Document], source: str, report: IngestReport) -> None:
        for document in documents:
            document.paper.content_hash = content_hash(document)
        known_hash = self.store.find("content_hash", (d.paper.content_hash for d in documents))
        known_arxiv = self.store.find("arxiv_id", (d.paper.arxiv_id or "" for d in documents))
        known_doi = self.store.find("doi", (d.paper.doi or "" for d in documents))
        for document in documents:
            paper = document.paper
            pending = next(filter(None, map(self._unwritten.get, _identities(paper))), None)
            if pending is not None:  # the same paper twice in this run
                self._add_source(pending, paper, source, document.origin, report, committed=False)
                continue
            match = (
                known_hash.get(paper.content_hash)
                or known_arxiv.get(paper.arxiv_id or "")
                or known_doi.get(paper.doi or "")
            )
            if match is not None and match[1] == "active":
                self._add_source(match[0], paper, source, document.origin, report, committed=True)
                continue
            if match is not None and match[0].content_hash == paper.content_hash:
                paper.key = match[0].key  # a removed paper comes back under its old key
            else:
                paper.key = assign_key(paper, self._taken)
            self._taken.add(paper.key)
            paper.sources = [source, *[s for s in paper.sources if s != source]]
            paper.added_at = datetime.now(UTC)
            chunks = self.chunker.chunks(document, paper.key)
            paper.chunk_count = sum(c.kind == "passage" for c in chunks)
            self._unwritten.update(dict.fromkeys(_identities(paper), paper))
            self._group.append(_Planned(document, chunks))
            self.progress(IngestEvent("chunks", count=len(chunks), key=paper.key))

    def _add_source(
        self, existing: Paper, new: Paper, source: str, origin: str, report: IngestReport, *, committed: bool
    ) -> None:
        if source in existing.sources + self._late_sources.get(existing.key, []):
            report.skipped.append(Outcome(origin, f"already in the library as {existing.key}", existing.key))
            return
        if any(planned.document.paper is existing for planned in self._inflight):
            # the writer thread owns that record now; the source is added once it is committed
            self._late_sources.setdefault(existing.key, []).append(source)
        else:
            existing.sources.append(source)
            if not existing.authors and new.authors:
                existing.authors = new.authors
            for name in _FILL_FIELDS:
                if getattr(existing, name) in (None, "") and getattr(new, name) not in (None, ""):
                    setattr(existing, name, getattr(new, name))
            if committed:
                self.store.update(existing)
        report.skipped.append(
            Outcome(origin, f"same paper as {existing.key}; this source was added to it", existing.key)
        )

    # -- writing ------------------------------------------------------------------------------

    def _submit(self, pool: ThreadPoolExecutor, report: IngestReport) -> None:
        group, self._group = self._group, []
        self._collect(report)  # at most one group in flight
        if group:
            self._inflight = group
            self._future = pool.submit(self._write, group)

    def _collect(self, report: IngestReport) -> None:
        """Wait for the group in flight and report it (this thread owns the report)."""
        if self._future is None:
            return
        future, group = self._future, self._inflight
        self._future, self._inflight = None, []
        papers = [planned.document.paper for planned in group]
        try:
            future.result()
        except Exception as e:  # embedder or Chroma: the group is not stored, the run goes on
            if isinstance(e, LitassistError):
                log.error("writing %d papers failed: %s", len(papers), e)
            else:
                log.exception("writing %d papers failed", len(papers))
            self._abort(papers)
            for planned in group:
                report.failed.append(Outcome(planned.document.origin, f"not stored: {e}"))
        else:
            for paper in papers:
                if late := self._late_sources.pop(paper.key, None):
                    paper.sources.extend(late)
                    self.store.update(paper)
                report.added.append(paper)
        finally:
            self._forget(papers)

    def _abort(self, papers: list[Paper]) -> None:
        try:
            self.store.abort([p.key for p in papers])
        except Exception:  # the store itself is failing; the next open recovers
            log.exception("could not undo the unfinished writes of %s", ", ".join(p.key for p in papers))

    def _write(self, group: list[_Planned]) -> None:
        """Embed a group and write it: pending records, chunks, then the commit."""
        papers = [planned.document.paper for planned in group]
        chunks = [chunk for planned in group for chunk in planned.chunks]
        titles = {p.key: p.title for p in papers}
        vectors = self._embed([embedding_text(titles[c.paper_key], c.text, c.kind) for c in chunks])
        first = {c.paper_key: i for i, c in reversed(list(enumerate(chunks)))}
        paper_vectors = vectors[[first[p.key] for p in papers]]
        self.store.begin(papers, paper_vectors)
        log.debug("pending: %s", ", ".join(p.key for p in papers))
        self.store.write_chunks(chunks, vectors, {p.key: p.year for p in papers})
        log.debug("wrote %d chunks", len(chunks))
        self.store.commit(papers, paper_vectors)
        for paper in papers:
            self.progress(IngestEvent("committed", key=paper.key))

    def _forget(self, papers: list[Paper]) -> None:
        for paper in papers:
            for identity in _identities(paper):
                self._unwritten.pop(identity, None)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embed with progress: sorted by length across the whole group, then in slices."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        for start in range(0, len(order), self.embed_batch):
            index = order[start : start + self.embed_batch]
            vectors[index] = self.embedder.embed([texts[i] for i in index])
            self.progress(IngestEvent("embedded", count=len(index)))
        return vectors


def _identities(paper: Paper) -> list[str]:
    """What makes two records the same paper: the same content, arXiv id or DOI."""
    found = [f"hash:{paper.content_hash}"]
    if paper.arxiv_id:
        found.append(f"arxiv:{paper.arxiv_id}")
    if paper.doi:
        found.append(f"doi:{paper.doi.lower()}")
    return found
