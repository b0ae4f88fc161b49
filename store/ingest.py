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
writer gave up, added by this run). The report says only what this run stored: a file found
to be another source of a paper this run has yet to commit is reported with that paper's fate.

A document that brings the full text of a stored paper whose text is only its abstract (or
clearly shorter: fewer than half the passages), the same paper by content hash, arXiv id, DOI or
title, **updates** it: its content is replaced under the same key (the "updating" state of
store/chroma.py, under the ``edit:<key>`` claim), and the report lists it in ``full_texts``.

A run stops early, and says so in its report (``stopped``), when the store stops answering (a
Chroma server gone: the group being written is not stored, the files not yet read are listed)
or on Ctrl-C (in the main thread: the writer thread stops before its next embedding slice or
write, so the group it was writing is stored only if its commit had begun; Library.add then
raises :class:`IngestInterrupted` with the report). Either way the library stays consistent:
the paper record is the commit marker and what an unfinished group wrote is undone, or left to
``ChromaStore.recover``.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from store.chroma import ChromaStore, unreachable
from store.chunking import Chunker, chunk_id, embedding_text
from store.claims import Holder
from store.embedder import Embedder
from store.errors import LitassistError, ReadError
from store.keys import assign_key
from store.paper import Chunk, Document, Paper, content_hash, normalise
from store.readers import Limits, UnsupportedFileError, read, walk

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
    full_texts: list[Paper] = field(default_factory=list)  # stored papers whose full text came in
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped before the end (the store gone, Ctrl-C)
    # entries read again (store/reimport.py): updated in place; gone from their source; pruned
    updated: list[Outcome] = field(default_factory=list)
    missing: list[Outcome] = field(default_factory=list)
    removed: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [{"key": p.key, "title": p.label, "sources": p.sources} for p in self.added],
            "full_texts": [{"key": p.key, "title": p.label, "sources": p.sources} for p in self.full_texts],
            "skipped": [vars(o) for o in self.skipped],
            "failed": [vars(o) for o in self.failed],
            "stopped": self.stopped,
            "updated": [vars(o) for o in self.updated],
            "missing": [vars(o) for o in self.missing],
            "removed": [vars(o) for o in self.removed],
        }


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped an ingest: ``report`` says what was stored before it and what was not.
    A KeyboardInterrupt, so that a script or a notebook stops as it would anyway."""

    def __init__(self, report: IngestReport):
        super().__init__("the ingest was interrupted")
        self.report = report


INTERRUPTED = "interrupted (Ctrl-C) before it was stored; run add again to add it"


class _Stop(BaseException):
    """The run stops early; the message says why (for every file it did not store). Not an
    Exception: no handler of a reader's errors may swallow it."""


class _Cancelled(Exception):
    """The writer thread saw the stop before its group's commit: the group is not stored."""


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
    update: str | None = None  # an update of a stored paper: the new text's version
    keep: str = ""  # of an update: the id of the stored passage it keeps (its abstract)


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
        embed_batch: int | None = None,
        wait_for_others: float = 300.0,
        limits: Limits | None = None,
        reconcile: Callable[[list[Document]], list[Document]] | None = None,
        abstracts_only: bool = False,
        cancel: threading.Event | None = None,
        own: Sequence[Path] = (),
    ):
        self.store = store
        self.own = own  # the library's own folders: never read as papers (a folder added may hold them)
        # entries read before (store/reimport.py): updated there; the rest are decided here
        self.reconcile = reconcile
        self.embedder = embedder
        self.chunker = chunker
        self.progress = progress or (lambda event: None)
        self.group_chunks = group_chunks
        # texts per embedding call: the writer thread checks for a stop between calls, so a
        # slice is what a Ctrl-C waits for (8 passages: ~0.4 s with the local model on 2 cores)
        self.embed_batch = embed_batch or max(8, int(getattr(embedder, "batch_size", 8)))
        self.limits = limits or Limits()
        # papers with an abstract are stored from it alone, one passage without search windows
        # (their full text, and the windows, can come later): the fastest way to have them found
        self.abstracts_only = abstracts_only
        # set from another thread: the run stops as on Ctrl-C (IngestInterrupted)
        self.cancel = cancel
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
        # rows about a paper this run has yet to commit (another source of it): reported with
        # the paper's fate, so that no row claims what is not stored
        self._deferred: dict[str, list[Outcome]] = {}
        self._stop_event = threading.Event()  # set: the run stops (the writer thread looks)
        self._stop_reason = INTERRUPTED
        self._reading = False  # the main thread is reading or splitting a file: Ctrl-C raises
        self._writing: tuple[ThreadPoolExecutor, IngestReport] | None = None  # while run() runs

    def run(self, paths: Iterable[Path]) -> IngestReport:
        """Ingest ``paths``. Ctrl-C (in the main thread) stops it within about a second and
        raises :class:`IngestInterrupted` with the report of what was stored."""
        self.store.recover()
        report = IngestReport()
        problems: list[tuple[Path, str, bool]] = []
        files = list(walk([Path(p) for p in paths], problems, own=self.own))
        for folder, why, failed in problems:
            (report.failed if failed else report.skipped).append(Outcome(str(folder), why))
        self.progress(IngestEvent("files", count=len(files)))
        self._taken = self.store.all_keys()
        self._group, self._unwritten, self._waiting, self._deferred = [], {}, [], {}
        self._stop_event.clear()
        interrupted = False
        started = 0  # files[:started] were begun; files[started - 1] may be half read
        finished = 0
        try:
            # one writer thread: it embeds and writes a group while this thread reads the next files
            with (
                _interrupts(self._interrupt),
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="litassist-ingest") as pool,
            ):
                self._writing = (pool, report)
                try:
                    for path, named in files:
                        self._check()
                        started += 1
                        self._read(path, named, report)
                        finished += 1
                        if sum(len(p.chunks) for p in self._group) >= self.group_chunks:
                            self._submit(pool, report)
                    self._submit(pool, report)
                    self._collect(report)
                    self._settle(pool, report)
                    self._check()
                except KeyboardInterrupt:  # while a file was read (or from another handler)
                    interrupted = True
                    self._halt(report, files, started, finished)
                except _Stop as e:
                    interrupted = self._stop_reason == INTERRUPTED
                    self._halt(report, files, started, finished, str(e))
                except Exception as e:  # the store failed under this thread (a server gone)
                    self._halt(report, files, started, finished, self._failure(e))
        finally:
            self._writing = None
            self._let_go(None)
        if interrupted:
            raise IngestInterrupted(report)
        return report

    def _interrupt(self) -> None:
        """Ctrl-C: the run stops at its next step; a file being read stops at once. Pressed
        again while stopping, it is only noted: the writes in progress finish first (an
        interpreter that exits under them would abort)."""
        if self._stop_event.is_set():
            log.warning("already stopping: the write in progress ends in a moment")
            return
        self._stop_reason = INTERRUPTED
        self._stop_event.set()
        if self._reading:
            raise KeyboardInterrupt

    def _cancelled(self) -> bool:
        if self.cancel is not None and self.cancel.is_set() and not self._stop_event.is_set():
            self._stop_reason = INTERRUPTED
            self._stop_event.set()
        return self._stop_event.is_set()

    def _check(self) -> None:
        if self._cancelled():
            raise _Stop(self._stop_reason)

    def _failure(self, error: Exception) -> str:
        """Why the run stops, when the store fails under it (the traceback at debug level)."""
        log.debug("the store failed", exc_info=error)
        name = f"{type(error).__name__}: {error}"
        if unreachable(error):
            return (
                f"{self.store.where} stopped answering ({name}); start it again and run add again "
                "(what is stored is skipped)"
            )
        if isinstance(error, LitassistError):
            return str(error)
        return f"{self.store.where} failed ({name})"

    def _halt(
        self, report: IngestReport, files: Sequence[tuple[Path, bool]], started: int, finished: int,
        reason: str = INTERRUPTED,
    ) -> None:  # fmt: skip
        """Stop: the writer thread stops before its next step (its group is stored only if its
        commit had begun), what was planned and not written is reported with ``reason``, as
        are the files not read. A second Ctrl-C meanwhile is only noted (``_interrupt``)."""
        report.stopped = reason
        self._stop_reason = reason
        self._stop_event.set()
        self._reading = False
        try:
            self._collect(report, stopping=True)
        except Exception as e:  # the late sources of a committed paper could not be added
            log.debug("after the stop", exc_info=e)
        group, self._group = self._group, []
        self._fail(group, reason, report)
        for waiting in self._waiting:
            report.failed.append(Outcome(waiting.document.origin, f"not stored: {reason}"))
        self._waiting = []
        if started > finished:  # stopped while this file was read or its papers decided
            path = files[started - 1][0]
            report.failed.append(Outcome(str(path), f"not (wholly) stored: {reason}"))
        for path, _ in files[started:]:
            report.failed.append(Outcome(str(path), f"not read: {reason}"))

    def _read(self, path: Path, named: bool, report: IngestReport) -> None:
        documents = []
        try:
            with self._interruptible():
                result = read(path, self.limits)
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
                if self.abstracts_only and document.paper.abstract:
                    document.sections = []
            fresh = self.reconcile(documents) if self.reconcile is not None else documents
            self._admit([(d, str(path.resolve())) for d in fresh], report)
        self.progress(IngestEvent("file", count=len(documents), path=str(path)))

    @contextmanager
    def _interruptible(self) -> Iterator[None]:
        """Ctrl-C raises KeyboardInterrupt here at once (reading and splitting a file hold no
        shared state); elsewhere it stops the run at its next step."""
        self._check()
        self._reading = True
        try:
            yield
        finally:
            self._reading = False

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
                if document.replaces is not None:  # an entry read again (store/reimport.py)
                    stored = self.store.get(document.replaces)
                    if stored is not None:  # its text, if new, replaces the stored one; the
                        self._update(stored, document, source, report)  # reimport reports the rest
                        continue
                pending = next(filter(None, map(self._unwritten.get, _identities(paper))), None)
                if pending is not None:  # the same paper twice in this run
                    self._add_source(pending, paper, source, document.origin, report, committed=False)
                    continue
                match = _match(known, paper)
                stored = match[0] if match is not None and match[1] == "active" else None
                if stored is None:  # the same title: the same paper only to bring its full text
                    stored = _same_title(known, paper)
                if stored is not None and self._update(stored, document, source, report):
                    continue
                if match is not None and match[1] == "active":
                    self._add_source(match[0], paper, source, document.origin, report, committed=True)
                    continue
                if in_batch & set(_identities(paper)):
                    later.append((document, source))
                    continue
                in_batch.update(_identities(paper))
                if match is not None and match[0].content_hash == paper.content_hash:
                    paper.key = match[0].key  # a removed paper comes back under its old key
                    keep_user_fields(paper, match[0])  # with the corrections a user made
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
        with self._interruptible():
            chunks = self.chunker.chunks(document, paper.key)
        if self.abstracts_only and not document.sections:  # its windows come with its full text
            chunks = [c for c in chunks if c.kind != "window"]
        paper.chunk_count = sum(c.kind == "passage" for c in chunks)
        self._held[paper.key] = names
        self._unwritten.update(dict.fromkeys(_identities(paper), paper))
        self._group.append(_Planned(document, chunks))
        self.progress(IngestEvent("chunks", count=len(chunks), key=paper.key))
        # a file of many papers (a .bib, a Zotero library) is written in groups as it is planned:
        # a run stopped in it keeps the groups written, and the next run resumes after them
        if self._writing is not None and sum(len(p.chunks) for p in self._group) >= self.group_chunks:
            self._submit(*self._writing)

    def _update(self, stored: Paper, document: Document, source: str, report: IngestReport) -> bool:
        """Plan the update of a stored paper with a document that brings its full text, or (an
        entry read again, ``Document.replaces``) a new abstract, if it does (else False: the
        caller goes on as for another copy). Under the ``edit:<key>``
        claim, held until the group is committed; a paper another writer is changing is left."""
        renewed = document.replaces == stored.key and document.paper.content_hash != stored.content_hash
        if not (document.sections or renewed) or stored.key in self._held:
            return False
        with self._interruptible():
            probe = self.chunker.chunks(document, stored.key)
        passages = sum(c.kind == "passage" for c in probe)
        # a full text where an abstract (or a clearly shorter text) is stored; or the entry's new
        # abstract, where the stored text is no fuller (a stored full text is not thinned to it)
        if passages < 2 * max(1, stored.chunk_count) and not (renewed and passages >= stored.chunk_count):
            return False
        name = f"edit:{stored.key}"
        held, _ = self.store.claims.claim([name])
        current = self.store.get(stored.key) if held else None
        if current is None or (current.chunk_count, current.content_hash) != (
            stored.chunk_count,
            stored.content_hash,
        ):
            self.store.claims.release(held)
            why = "another writer is changing it" if not held else "it changed meanwhile"
            report.skipped.append(
                Outcome(document.origin, f"full text of {stored.key}, not stored: {why}; run add again")
            )
            return True
        new = document.paper
        paper = current.model_copy(deep=True)
        _merge(paper, new, [source])
        paper.abstract = new.abstract or current.abstract
        paper.content_hash = new.content_hash
        paper.source_format = new.source_format or current.source_format
        document.paper = paper
        with self._interruptible():
            chunks = self.chunker.chunks(document, paper.key)
        version = hashlib.sha1("\n".join(c.text for c in chunks).encode()).hexdigest()[:12]
        old = self.store.chunk_ids(paper.key)
        keep = ""
        renamed = []
        for chunk in chunks:
            if chunk.ordinal == 0 and chunk.section == "Abstract" and chunk.kind == "passage":
                keep = chunk.id if chunk.id in old else ""  # search finds it by its text: kept
                renamed.append(chunk)
            else:  # ids of their own: never an old passage's
                renamed.append(
                    replace(chunk, id=chunk_id(paper.key, chunk.ordinal, f"{version}:{chunk.text}"))
                )
        paper.chunk_count = sum(c.kind == "passage" for c in renamed)
        self._held[paper.key] = [name]
        self._unwritten.update(dict.fromkeys(_identities(paper), paper))
        self._group.append(_Planned(document, renamed, update=version, keep=keep))
        self.progress(IngestEvent("chunks", count=len(renamed), key=paper.key))
        return True

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
            self._check()
            self.store.claims.recover()

    def _add_source(
        self, existing: Paper, new: Paper, source: str, origin: str, report: IngestReport, *, committed: bool
    ) -> None:
        inflight = any(planned.document.paper is existing for planned in self._inflight)
        # a paper this run has yet to commit: the row waits for its fate (_collect, _fail)
        rows = report.skipped if committed and not inflight else self._deferred.setdefault(existing.key, [])
        if source in existing.sources + self._late_sources.get(existing.key, []):
            rows.append(Outcome(origin, f"already in the library as {existing.key}", existing.key))
            return
        if inflight:
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
        added = f"same paper as {existing.key}; this source was added to it"
        rows.append(Outcome(origin, added, existing.key))

    # -- writing ------------------------------------------------------------------------------

    def _submit(self, pool: ThreadPoolExecutor, report: IngestReport) -> None:
        group, self._group = self._group, []
        self._collect(report)  # at most one group in flight
        if group:
            self._inflight = group
            self._future = pool.submit(self._write, group)

    def _collect(self, report: IngestReport, *, stopping: bool = False) -> None:
        """Wait for the group in flight and report it (this thread owns the report). A store
        that stopped answering stops the run (``_Stop``), unless it is stopping already."""
        if self._future is None:
            return
        future, group = self._future, self._inflight
        papers = [planned.document.paper for planned in group]
        error: Exception | None = None
        try:
            problems = future.result()
        except Exception as e:  # embedder or Chroma: the group is not stored
            problems, error = {}, e
        # only now: a KeyboardInterrupt while waiting leaves the group to be collected by _halt
        self._future, self._inflight = None, []
        stop: str | None = None
        try:
            if error is not None:
                if isinstance(error, _Cancelled):
                    reason = str(error)
                else:
                    reason = self._failure(error)
                    log.warning("writing %d papers failed: %s", len(papers), reason)
                    if unreachable(error):
                        stop = reason  # nothing more can be stored; recovery undoes the group
                    else:
                        self._abort(papers)
                self._fail(group, reason, report)
                return
            for planned in group:
                paper = planned.document.paper
                late = self._late_sources.pop(paper.key, None)
                if paper.key in problems:
                    log.error("the check after committing %s failed: %s", paper.key, problems[paper.key])
                    why = (
                        f"written as {paper.key}, but the check after the commit found "
                        f"{problems[paper.key]}: another writer changed it at the same time"
                    )
                    report.failed.append(Outcome(planned.document.origin, why, paper.key))
                    self._fail_deferred(paper.key, planned.document.origin, why, report)
                    continue
                if planned.update is None:
                    report.added.append(paper)
                elif planned.document.sections:
                    report.full_texts.append(paper)
                else:
                    why = "its new abstract was read: passages and search windows replaced"
                    report.updated.append(Outcome(planned.document.origin, why, paper.key))
                rows = self._deferred.pop(paper.key, [])
                if late:
                    try:
                        stored = self.store.edit(paper.key, partial(_merge, new=paper, sources=late))
                    except Exception as e:
                        reason = self._failure(e)
                        stop = stop or reason
                        for row in rows:
                            report.failed.append(
                                Outcome(row.source, f"same paper as {paper.key} (stored), but this "
                                        f"source could not be added to it: {reason}", paper.key)
                            )  # fmt: skip
                        continue
                    if stored is None:
                        why = f"same paper as {paper.key}, which was removed meanwhile; not added"
                        report.failed.extend(Outcome(row.source, why, paper.key) for row in rows)
                        continue
                    paper.sources = stored.sources
                report.skipped.extend(rows)
        finally:
            self._forget(papers)
            self._let_go([n for p in papers for n in self._held.pop(p.key, [])])
        if stop is not None and not stopping:
            self._stop_reason = stop
            raise _Stop(stop)

    def _fail(self, group: list[_Planned], reason: str, report: IngestReport) -> None:
        """A group that is not stored: its files, and the other sources found for its papers."""
        for planned in group:
            paper = planned.document.paper
            report.failed.append(Outcome(planned.document.origin, f"not stored: {reason}"))
            self._late_sources.pop(paper.key, None)
            self._fail_deferred(paper.key, planned.document.origin, reason, report)
        self._forget([planned.document.paper for planned in group])

    def _fail_deferred(self, key: str, origin: str, reason: str, report: IngestReport) -> None:
        for row in self._deferred.pop(key, []):
            why = reason if reason.startswith("written as") else f"not stored: {reason}"
            report.failed.append(Outcome(row.source, f"same paper as {origin}, which is {why}"))

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
        except Exception as e:  # the store itself is failing; the next open recovers
            log.warning(
                "could not undo the unfinished writes of %s (%s); the next run will",
                ", ".join(p.key for p in papers),
                e,
            )
            log.debug("undoing failed", exc_info=e)

    def _write(self, group: list[_Planned]) -> dict[str, str]:
        """Embed a group and write it: pending records, chunks, then the commit; then check
        what was committed (returns the problems found, by key). A stop seen before the commit
        undoes what was written and raises ``_Cancelled``; once the commit has begun, the group
        is stored."""
        papers = [planned.document.paper for planned in group]
        chunks = [chunk for planned in group for chunk in planned.chunks]
        titles = {p.key: p.title for p in papers}
        vectors = self._embed([embedding_text(titles[c.paper_key], c.text, c.kind) for c in chunks])
        first = {c.paper_key: i for i, c in reversed(list(enumerate(chunks)))}
        paper_vectors = vectors[[first[p.key] for p in papers]]
        updates = {p.document.paper.key: (p.update, p.keep) for p in group if p.update is not None}
        versions = {key: version for key, (version, _) in updates.items()}
        fresh = [i for i, p in enumerate(papers) if p.key not in updates]
        kept = {keep for _, keep in updates.values() if keep}
        written = [i for i, c in enumerate(chunks) if c.id not in kept]
        self._checkpoint()
        self.store.begin([papers[i] for i in fresh], paper_vectors[fresh])
        if updates:
            self.store.begin_updates(updates)
        if fresh:
            log.debug("pending: %s", ", ".join(papers[i].key for i in fresh))
        if updates:
            log.debug("updating: %s", ", ".join(updates))
        try:
            self._checkpoint()
            years = {p.key: p.year for p in papers}
            write = [chunks[i] for i in written]
            if versions:  # (the updates' passages carry their text's version)
                self.store.write_chunks(write, vectors[written], years, versions)
            else:
                self.store.write_chunks(write, vectors[written], years)
            log.debug("wrote %d chunks", len(written))
            self._checkpoint()
        except _Cancelled:
            self.store.abort([p.key for p in papers])
            raise
        if versions:
            self.store.commit(papers, paper_vectors, versions)
        else:
            self.store.commit(papers, paper_vectors)
        if updates:
            log.debug("committed the updates of %s", ", ".join(updates))
            self.store.finish_updates(list(updates))
        problems = self.store.verify(papers)
        for paper in papers:
            if paper.key not in problems:
                self.progress(IngestEvent("committed", key=paper.key))
        return problems

    def _checkpoint(self) -> None:
        """In the writer thread: stop here if the run is stopping."""
        if self._cancelled():
            raise _Cancelled(self._stop_reason)

    def _forget(self, papers: list[Paper]) -> None:
        for paper in papers:
            for identity in _identities(paper):
                self._unwritten.pop(identity, None)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embed with progress: sorted by length across the whole group, then in slices."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        for start in range(0, len(order), self.embed_batch):
            self._checkpoint()
            index = order[start : start + self.embed_batch]
            vectors[index] = self.embedder.embed([texts[i] for i in index])
            self.progress(IngestEvent("embedded", count=len(index)))
        return vectors


@contextmanager
def _interrupts(handler: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C calls ``handler`` instead of raising KeyboardInterrupt wherever the main thread
    is, while this block runs. Only in the main thread, and only where Python's own handler
    is in place (an application's own handler is left alone)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: handler())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    mine = set(stored.user_fields)  # a user's corrections win over what a reader finds
    for name in ("origins", "collections", "tags"):  # the entries it was read from, and their labels
        values = getattr(stored, name)
        values.extend(v for v in getattr(new, name) if v not in values)
    if not stored.bibtex and new.bibtex:
        stored.entry_type, stored.bibtex = new.entry_type, new.bibtex
    if not stored.authors and new.authors and "authors" not in mine:
        stored.authors = new.authors
    for name in _FILL_FIELDS:
        if name in mine:
            continue
        if getattr(stored, name) in (None, "") and getattr(new, name) not in (None, ""):
            setattr(stored, name, getattr(new, name))


def keep_user_fields(paper: Paper, before: Paper) -> None:
    """A paper read again takes the fields a user had set on its earlier record."""
    for name in before.user_fields:
        if name != "key" and name in Paper.model_fields:
            setattr(paper, name, copy.deepcopy(getattr(before, name)))
    paper.user_fields = list(before.user_fields)


def _same_title(known: dict[str, dict[str, tuple[Paper, str]]], paper: Paper) -> Paper | None:
    """A stored active paper with the same title, unless their year, DOI or arXiv id differ."""
    found = known.get("title_key", {}).get(normalise(paper.title or "")) if paper.title else None
    if found is None or found[1] != "active":
        return None
    stored = found[0]
    for name in ("year", "doi", "arxiv_id"):
        mine, theirs = getattr(paper, name), getattr(stored, name)
        if mine and theirs and str(mine).lower() != str(theirs).lower():
            return None
    return stored


def _identities(paper: Paper) -> list[str]:
    """What makes two records the same paper: the same content, arXiv id or DOI."""
    found = [f"hash:{paper.content_hash}"]
    if paper.arxiv_id:
        found.append(f"arxiv:{paper.arxiv_id}")
    if paper.doi:
        found.append(f"doi:{paper.doi.lower()}")
    return found
