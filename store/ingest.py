"""The ingest pipeline: files -> papers -> chunks -> vectors -> Chroma, with a report.

Papers are written in groups (a few hundred chunks) so that the embedder sees length-sorted
batches and Chroma sees few large writes. A writer thread embeds and writes one group while the
calling thread reads and splits the next files. Each group follows the store's pending -> chunks
-> commit protocol, so a killed run leaves nothing half-visible and the next run resumes.

Other writers may share the store (other folders, other machines on one Chroma server): a new
paper is planned, and chunked under its key, only once this run holds the claims on that key
and on the paper's identities (store/claims.py; the order of writes: store/chroma.py). A key
lost to another writer gives the next key; a paper another writer is adding is left to it and,
at the end of the run, found stored and given this file as another source (or, if the other
writer gave up, added by this run). The report says only what this run stored.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from store.chroma import ChromaStore
from store.chunking import Chunker, embedding_text
from store.claims import Holder
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


@dataclass
class _Waiting:
    """A paper another writer is adding at the same time (it holds one of its identities)."""

    document: Document
    source: str
    holder: Holder


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
        wait_for_others: float = 300.0,
    ):
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.progress = progress or (lambda event: None)
        self.group_chunks = group_chunks
        self.embed_batch = embed_batch
        # how long to wait, at the end of a run, for other writers adding the same papers
        self.wait_for_others = wait_for_others
        self._taken: set[str] = set()
        self._group: list[_Planned] = []
        self._unwritten: dict[str, Paper] = {}  # identities of this run's papers not yet committed
        self._inflight: list[_Planned] = []  # the group the writer thread is embedding and writing
        self._future: Future[dict[str, str]] | None = None
        self._late_sources: dict[str, list[str]] = {}  # sources found for in-flight papers
        self._held: dict[str, list[str]] = {}  # key -> the names this run claimed for that paper
        self._waiting: list[_Waiting] = []

    def run(self, paths: Iterable[Path]) -> IngestReport:
        self.store.recover()
        report = IngestReport()
        problems: list[tuple[Path, str, bool]] = []
        files = list(walk([Path(p) for p in paths], problems))
        for folder, why, failed in problems:
            (report.failed if failed else report.skipped).append(Outcome(str(folder), why))
        self.progress(IngestEvent("files", count=len(files)))
        self._taken = self.store.all_keys()
        self._group, self._unwritten, self._waiting = [], {}, []
        try:
            # one writer thread: it embeds and writes a group while this thread reads the next files
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="litassist-ingest") as pool:
                for path, named in files:
                    self._read(path, named, report)
                    if sum(len(p.chunks) for p in self._group) >= self.group_chunks:
                        self._submit(pool, report)
                self._submit(pool, report)
                self._collect(report)
                self._settle(pool, report)
        finally:
            self._let_go(None)
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
            for document in documents:
                document.paper.content_hash = content_hash(document)
            self._admit([(d, str(path.resolve())) for d in documents], report)
        self.progress(IngestEvent("file", count=len(documents), path=str(path)))

    # -- deciding what is new -----------------------------------------------------------------

    def _admit(self, todo: list[tuple[Document, str]], report: IngestReport) -> None:
        """Decide, for each document, whether it is a source of a paper already stored, or
        being stored by this run or by another writer, or a new paper under a key this writer
        holds; plan the new ones. The claim protocol: store/claims.py and store/chroma.py."""
        while todo:
            known = self._known(todo)
            fresh: list[tuple[Document, str, tuple[str, str] | None]] = []
            later: list[tuple[Document, str]] = []  # the same paper as one of ``fresh``: next round
            in_batch: set[str] = set()
            for document, source in todo:
                paper = document.paper
                pending = next(filter(None, map(self._unwritten.get, _identities(paper))), None)
                if pending is not None:  # the same paper twice in this run
                    self._add_source(pending, paper, source, document.origin, report, committed=False)
                    continue
                match = _match(known, paper)
                if match is not None and match[1] == "active":
                    self._add_source(match[0], paper, source, document.origin, report, committed=True)
                    continue
                if in_batch & set(_identities(paper)):
                    later.append((document, source))
                    continue
                in_batch.update(_identities(paper))
                if match is not None and match[0].content_hash == paper.content_hash:
                    paper.key = match[0].key  # a removed paper comes back under its old key
                else:
                    paper.key = assign_key(paper, self._taken)
                self._taken.add(paper.key)
                fresh.append((document, source, (match[0].key, match[1]) if match else None))
            retry = self._claim(fresh, report)
            todo = retry + later

    def _claim(
        self, fresh: list[tuple[Document, str, tuple[str, str] | None]], report: IngestReport
    ) -> list[tuple[Document, str]]:
        """Claim the keys and identities of new papers; plan those this writer now holds.
        Returns the documents to decide again (a key lost, or something committed meanwhile)."""
        if not fresh:
            return []
        names = {id(d): [f"key:{d.paper.key}", *_identities(d.paper)] for d, _, _ in fresh}
        held, lost = self.store.claims.claim(n for d, _, _ in fresh for n in names[id(d)])
        retry: list[tuple[Document, str]] = []
        won = []
        for document, source, before in fresh:
            mine = names[id(document)]
            if all(n in held for n in mine):
                won.append((document, source, before))
                continue
            self.store.claims.release(n for n in mine if n in held)
            identity = next((lost[n] for n in mine[1:] if n in lost), None)
            if identity is not None:  # another writer is adding this paper now
                log.info("%s: %s is adding the same paper; waiting for it", document.origin, identity.writer)
                self._waiting.append(_Waiting(document, source, identity))
            else:  # the key went to another writer's paper: the next one
                retry.append((document, source))
        if not won:
            return retry
        # check again: a writer that let go of these names had committed before, visibly now
        known = self._known([(d, s) for d, s, _ in won])
        records = self.store.records([d.paper.key for d, _, _ in won])
        for document, source, before in won:
            paper = document.paper
            match = _match(known, paper)
            now = (match[0].key, match[1]) if match else None
            record = records.get(paper.key)
            tombstone = before is not None and before == (paper.key, "removed")
            if now != before or (record is not None and not tombstone):
                self.store.claims.release(names[id(document)])
                retry.append((document, source))
            else:
                self._plan(document, source, names[id(document)])
        return retry

    def _known(self, todo: Sequence[tuple[Document, str]]) -> dict[str, dict[str, tuple[Paper, str]]]:
        return self.store.identify([d.paper for d, _ in todo])

    def _plan(self, document: Document, source: str, names: list[str]) -> None:
        paper = document.paper
        paper.sources = [source, *[s for s in paper.sources if s != source]]
        paper.added_at = datetime.now(UTC)
        chunks = self.chunker.chunks(document, paper.key)
        paper.chunk_count = sum(c.kind == "passage" for c in chunks)
        self._held[paper.key] = names
        self._unwritten.update(dict.fromkeys(_identities(paper), paper))
        self._group.append(_Planned(document, chunks))
        self.progress(IngestEvent("chunks", count=len(chunks), key=paper.key))

    def _settle(self, pool: ThreadPoolExecutor, report: IngestReport) -> None:
        """The papers other writers were adding: once they let go, this run finds them stored
        (and adds its sources to them) or, if they gave up, adds them itself."""
        deadline = time.monotonic() + self.wait_for_others
        while self._waiting:
            waiting, self._waiting = self._waiting, []
            busy = self.store.claims.held_by_others(
                [n for w in waiting for n in _identities(w.document.paper)]
            )
            ready = [w for w in waiting if not busy.keys() & set(_identities(w.document.paper))]
            self._waiting = [w for w in waiting if w not in ready]
            if ready:
                self._admit([(w.document, w.source) for w in ready], report)
                self._submit(pool, report)
                self._collect(report)
            if not self._waiting:
                return
            if time.monotonic() > deadline:
                for w in self._waiting:
                    report.failed.append(
                        Outcome(
                            w.document.origin,
                            f"{w.holder.writer} was adding the same paper and had not finished after "
                            f"{self.wait_for_others:.0f} s; not stored by this run - run add again",
                        )
                    )
                self._waiting = []
                return
            time.sleep(0.2 + random.random() * 0.3)  # writers that meet again do not meet in step
            self.store.claims.recover()

    def _add_source(
        self, existing: Paper, new: Paper, source: str, origin: str, report: IngestReport, *, committed: bool
    ) -> None:
        if source in existing.sources + self._late_sources.get(existing.key, []):
            report.skipped.append(Outcome(origin, f"already in the library as {existing.key}", existing.key))
            return
        if any(planned.document.paper is existing for planned in self._inflight):
            # the writer thread owns that record now; the source is added once it is committed
            self._late_sources.setdefault(existing.key, []).append(source)
        elif committed:
            stored = self.store.edit(existing.key, lambda paper: _merge(paper, new, [source]))
            if stored is None:
                report.failed.append(
                    Outcome(origin, f"same paper as {existing.key}, which was removed meanwhile; not added")
                )
                return
            existing.sources = stored.sources
        else:
            _merge(existing, new, [source])
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
            problems = future.result()
        except Exception as e:  # embedder or Chroma: the group is not stored, the run goes on
            if isinstance(e, LitassistError):
                log.error("writing %d papers failed: %s", len(papers), e)
            else:
                log.exception("writing %d papers failed", len(papers))
            self._abort(papers)
            for planned in group:
                report.failed.append(Outcome(planned.document.origin, f"not stored: {e}"))
        else:
            for planned in group:
                paper = planned.document.paper
                late = self._late_sources.pop(paper.key, None)
                if paper.key in problems:
                    log.error("the check after committing %s failed: %s", paper.key, problems[paper.key])
                    report.failed.append(
                        Outcome(
                            planned.document.origin,
                            f"written as {paper.key}, but the check after the commit found "
                            f"{problems[paper.key]}: another writer changed it at the same time",
                            paper.key,
                        )
                    )
                    continue
                if late:
                    stored = self.store.edit(paper.key, partial(_merge, new=paper, sources=late))
                    paper.sources = stored.sources if stored else paper.sources
                report.added.append(paper)
        finally:
            self._forget(papers)
            self._let_go([n for p in papers for n in self._held.pop(p.key, [])])

    def _let_go(self, names: list[str] | None) -> None:
        """Release claims (``None``: all of this writer's) after the work they guarded. A store
        that fails here (a server gone) must not hide the report: the claims then stay until
        recovery removes them (store/claims.py)."""
        try:
            if names is None:
                self.store.claims.release_all()
            else:
                self.store.claims.release(names)
        except Exception as e:
            log.warning("could not release the claims of this run (%s); recovery will", e)

    def _abort(self, papers: list[Paper]) -> None:
        try:
            self.store.abort([p.key for p in papers])
        except Exception:  # the store itself is failing; the next open recovers
            log.exception("could not undo the unfinished writes of %s", ", ".join(p.key for p in papers))

    def _write(self, group: list[_Planned]) -> dict[str, str]:
        """Embed a group and write it: pending records, chunks, then the commit; then check
        what was committed (returns the problems found, by key)."""
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
        problems = self.store.verify(papers)
        for paper in papers:
            if paper.key not in problems:
                self.progress(IngestEvent("committed", key=paper.key))
        return problems

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


def _match(known: dict[str, dict[str, tuple[Paper, str]]], paper: Paper) -> tuple[Paper, str] | None:
    return (
        known["content_hash"].get(paper.content_hash)
        or known["arxiv_id"].get(paper.arxiv_id or "")
        or known["doi"].get(paper.doi or "")
    )


def _merge(stored: Paper, new: Paper, sources: list[str]) -> None:
    """Another copy of a paper: its sources join the stored ones; fields the stored record
    lacks are filled in from it."""
    stored.sources.extend(s for s in sources if s not in stored.sources)
    if not stored.authors and new.authors:
        stored.authors = new.authors
    for name in _FILL_FIELDS:
        if getattr(stored, name) in (None, "") and getattr(new, name) not in (None, ""):
            setattr(stored, name, getattr(new, name))


def _identities(paper: Paper) -> list[str]:
    """What makes two records the same paper: the same content, arXiv id or DOI."""
    found = [f"hash:{paper.content_hash}"]
    if paper.arxiv_id:
        found.append(f"arxiv:{paper.arxiv_id}")
    if paper.doi:
        found.append(f"doi:{paper.doi.lower()}")
    return found
