"""The one entry object: a researcher's paper library.

>>> from assistant import Library
>>> library = Library("~/papers-library")          # doctest: +SKIP
>>> report = library.add(["papers/", "refs.bib"])  # doctest: +SKIP
>>> [p.key for p in library.papers()]               # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from chromadb.api import ClientAPI
from filelock import FileLock

from assistant.answer import Answer, Answerer, AnswerParameters, Mode
from assistant.draft import Draft, Drafter
from assistant.edits import PaperEdit
from assistant.errors import LibraryError, NothingToSummarizeError
from assistant.evidence import Evidence
from assistant.filters import Filters
from assistant.fusion import RetrieverName
from assistant.generation import WritingParameters
from assistant.llm import Chat, ChatModel
from assistant.passages import Hit
from assistant.retrieval import Retriever
from assistant.settings import LLMSettings, Settings, endpoint_origin
from assistant.summary import Length, Summaries, Summarizer, Summary
from assistant.tables import Table, Tabulator
from store.chroma import ChromaStore, StoredPaper, embedded_client, server_client, unreachable
from store.chunking import Chunker
from store.embedder import Embedder, LocalEmbedder, OpenAIEmbedder
from store.errors import PaperNotFoundError
from store.ingest import Ingest, IngestReport, Outcome, Progress
from store.lexical import LexicalIndex
from store.paper import Chunk, Paper
from store.readers import Limits
from store.reimport import Reimport, source_of
from store.snapshot import Snapshot, size

log = logging.getLogger(__name__)

# what a read-only library is read from, copied (the uploads stay where they are, read there)
STORES = ("chroma", "lexical")


def _unwritable(folder: Path) -> str | None:
    """Why nothing can be written in ``folder`` (or, if it is missing, its parent); None if it can.
    Tried, not judged from the permissions: root ignores those, not a read-only mount."""
    target = folder if folder.is_dir() else folder.parent
    try:
        with tempfile.TemporaryFile(dir=target):
            return None
    except OSError as e:
        return e.strerror or str(e)


class Library:
    """Papers in a Chroma library. Every collaborator can be passed in; each defaults from
    ``settings`` (which default from the environment).

    An embedded library whose folder cannot be written is opened search only: it is read from
    a temporary copy of its stores (up to ``settings.library_copy_mb``), ``read_only`` says why,
    and every change raises ``LibraryError``. ``close()`` (or the end of a ``with`` block, or of
    the process) removes the copy."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        client: ClientAPI | None = None,
        chat: Chat | None = None,
    ):
        settings = settings or Settings()
        if path is not None:
            settings = settings.model_copy(update={"library": Path(path)})
        self.settings = settings
        self.path = Path(settings.library).expanduser()
        # why the folder cannot be written (the library is read from ``snapshot``), or None
        self.read_only: str | None = None
        self.snapshot: Snapshot | None = None
        self._make_folder()
        self.embedder = embedder or self._create_embedder()
        try:
            self.client = client or self._create_client()
            self._open_stores()
        except BaseException:
            self.close()
            raise
        self._chat = chat

    def _open_stores(self) -> None:
        settings = self.settings
        where = self._describe()
        self.store = ChromaStore(
            self.client,
            embedder_name=self.embedder.name,
            dimension=self.embedder.dimension,
            chunk_size=settings.chunking.chunk_size,
            chunk_overlap=settings.chunking.chunk_overlap,
            prefix=settings.chroma.prefix,
            search_ef=settings.chroma.search_ef,
            where=where,
        )
        self.chunker = Chunker(
            chunk_size=self.store.chunk_size,
            chunk_overlap=self.store.chunk_overlap,
            tokenizer=self.embedder.token_ids,
        )
        self.store.recover()
        self.lexical = LexicalIndex(self._lexical_folder())
        self.retriever = Retriever(self.store, self.lexical, self.embedder)

    def close(self) -> None:
        """Remove the temporary copy a read-only library is read from (nothing to do for
        another). The library, and its views from ``using()``, are not to be used after."""
        if self.snapshot is not None:
            self.snapshot.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @cached_property
    def chat(self) -> Chat | None:
        """The chat model, or None for extractive mode (no endpoint, or mode=extractive)."""
        if self._chat is not None:
            return self._chat
        conf = self.settings.llm
        if conf.mode == "extractive" or not conf.base_url:
            return None
        return ChatModel.from_settings(conf, origin=endpoint_origin(conf))

    def using(self, llm: LLMSettings | Chat) -> Library:
        """This library with another chat endpoint (settings, possibly ``mode="extractive"``,
        or a model), for one caller: the store, the lexical index and the embedder are shared,
        nothing is reopened. The UI gives each session the endpoint it chose this way."""
        view = copy.copy(self)
        view.__dict__.pop("chat", None)  # the cached chat model belongs to the original
        if isinstance(llm, LLMSettings):
            view.settings = self.settings.model_copy(update={"llm": llm})
            view._chat = None
        else:
            view._chat = llm
        return view

    def _make_folder(self) -> None:
        """The library folder, made if need be; a path that cannot be one is a clear error."""
        fix = "choose another with --library or LITASSIST_LIBRARY"
        if self.path.exists() and not self.path.is_dir():
            raise LibraryError(f"{self.path} is a file, not a library folder; {fix}")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LibraryError(
                f"cannot make the library folder {self.path} ({e.strerror or e}); {fix}"
            ) from e

    def _lexical_folder(self) -> Path:
        conf = self.settings.chroma
        if conf.mode == "server":  # one cache per server library, next to the local library folder
            return self.path / f"lexical-{conf.host}-{conf.port}-{conf.prefix or 'default'}"
        return (self.snapshot.path if self.snapshot else self.path) / "lexical"

    def ensure_writable(self) -> None:
        """Raise ``LibraryError`` if the library cannot be changed (it is read-only: search
        only). Every change checks it first; the UI asks before it keeps an upload."""
        if self.read_only is not None:
            raise LibraryError(
                f"this library is read-only ({self.path} cannot be written: {self.read_only}): search "
                "only; to add, remove or change papers, make it writable again, or copy it to a "
                f"folder you can write (cp -r {self.path} COPY) and use that (--library COPY or "
                "LITASSIST_LIBRARY=COPY)"
            )

    def _write_lock(self) -> FileLock:
        """One writer at a time for this library folder (threads and processes on this machine).
        Writers of other folders or machines sharing a Chroma server are not serialised by it:
        they agree through claims on the server (store/claims.py). Every change takes it, so a
        read-only library refuses every change here, before anything is written to its copy."""
        self.ensure_writable()
        self.path.mkdir(parents=True, exist_ok=True)
        return FileLock(self.path / ".write.lock")

    def _create_embedder(self) -> Embedder:
        conf = self.settings.embedder
        if conf.provider == "openai":
            return OpenAIEmbedder(
                model=conf.model,
                base_url=conf.base_url,
                api_key=conf.api_key.get_secret_value() if conf.api_key else None,
            )
        return LocalEmbedder(batch_size=conf.batch_size, threads=conf.threads)

    def _create_client(self) -> ClientAPI:
        conf = self.settings.chroma
        if conf.mode == "server":
            headers = {"Authorization": f"Bearer {conf.token.get_secret_value()}"} if conf.token else None
            return server_client(conf.host, conf.port, ssl=conf.ssl, headers=headers)
        folder = self.path / "chroma"
        why = _unwritable(self.path) or _unwritable(folder)
        if why is None:
            try:
                return embedded_client(folder)
            except Exception as e:
                why = _unwritable(folder)
                if why is None and "readonly database" in str(e):
                    why = "its database file cannot be written"
                if why is None:
                    raise
        return self._copy_client(why)

    def _copy_client(self, why: str) -> ClientAPI:
        """Chroma opens a library only to write it, even to list or search it: a library that
        cannot be written is read from a temporary copy of its stores, when they are small
        enough to copy."""
        stored = size(self.path / name for name in STORES)
        bound = self.settings.library_copy_mb
        refused = (
            f"this library is read-only: {self.path} cannot be written ({why}), and Chroma opens a "
            "library only to write it, even to list or search it"
        )
        fix = (
            f"copy it to a folder you can write (cp -r {self.path} COPY, then --library COPY or "
            "LITASSIST_LIBRARY=COPY), or make it writable again"
        )
        if stored > bound * 2**20:
            raise LibraryError(
                f"{refused}. A read-only library is searched from a temporary copy up to "
                f"LITASSIST_LIBRARY_COPY_MB ({bound:g} MB), and this one holds {stored / 2**20:,.1f} MB. "
                f"To read it, raise LITASSIST_LIBRARY_COPY_MB, or {fix}"
            )
        try:
            self.snapshot = Snapshot(self.path, STORES)
            client = embedded_client(self.snapshot.path / "chroma")
        except OSError as e:  # the copy made so far is removed as the constructor fails
            raise LibraryError(
                f"{refused}, and copying it to a temporary folder failed ({e.strerror or e}). To read "
                f"it, {fix}"
            ) from e
        self.read_only = why
        log.info(
            "%s cannot be written (%s): reading a temporary copy, %s", self.path, why, self.snapshot.path
        )
        return client

    def _describe(self) -> str:
        conf = self.settings.chroma
        if conf.mode == "server":
            return f"the library on the Chroma server {conf.host}:{conf.port}"
        if self.read_only is not None:
            return f"the library at {self.path} (read-only)"
        return f"the library at {self.path}"

    def __repr__(self) -> str:
        return f"<Library: {self._describe()}>"

    # -- papers --------------------------------------------------------------------------------

    def add(
        self,
        paths: str | Path | Iterable[str | Path],
        *,
        progress: Progress | None = None,
        prune: bool = False,
        abstracts_only: bool = False,
        cancel: threading.Event | None = None,
    ) -> IngestReport:
        """Read files and folders (recursively) into the library. Papers already in it are
        skipped (or, found in a new file, get that file as another source); unreadable files
        and entries are reported in ``failed`` while the rest goes in. A store that stops
        answering ends the run early (``report.stopped`` says why; what was not stored is in
        ``failed``); Ctrl-C ends it within about a second with ``IngestInterrupted`` (a
        KeyboardInterrupt), whose ``report`` says what was stored. Run it again to resume.

        A ``.bib`` file or Zotero library read before is an update: changed entries update their
        papers under the same keys (``report.updated``), unchanged ones are skipped, and papers
        whose entries are gone from it are listed (``report.missing``); ``prune=True`` removes
        those (``report.removed``) when no other source has them. A file that brings the full
        text of a paper stored from its abstract alone (or from a clearly shorter text) replaces
        that text under the same key (``report.full_texts``). ``abstracts_only``: store papers
        that have an abstract from it alone, for now: one passage each, without the abstract's
        search windows (adding the files again later brings their full text and the windows).
        ``cancel``: an event another thread sets to stop the run as Ctrl-C does
        (``IngestInterrupted``); Ctrl-C itself is only heard in the main thread."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        conf = self.settings.ingest
        ingest = Ingest(
            self.store,
            self.embedder,
            self.chunker,
            progress=progress,
            group_chunks=conf.group_chunks,
            limits=Limits(max_text_mb=conf.max_text_mb, max_seconds=conf.max_read_seconds),
            reconcile=(reimport := Reimport(self.store)),
            abstracts_only=abstracts_only,
            cancel=cancel,
            own=[self.path],
        )
        with self._write_lock():
            report = ingest.run(Path(p).expanduser() for p in paths)
            if report.stopped is None:
                self._reconciled(report, reimport, prune=prune)
        if report.stopped is None:
            try:
                self.lexical.ensure_current(self.store)
            except Exception as e:  # a server gone just now: the next search brings it up to date
                if not unreachable(e):
                    raise
                log.warning("the lexical index is brought up to date at the next search (%s)", e)
        return report

    def _reconciled(self, report: IngestReport, reimport: Reimport, *, prune: bool) -> None:
        """The report's rows for entries read again, and the papers gone from their source."""
        # the ingest's rows for entries whose text it replaced (store/reimport.py)
        retexted = {o.key: o for o in report.updated} | {p.key: p for p in report.full_texts}
        for change in reimport.changes:
            text = retexted.get(change.key)
            kept = change.text_changed and text is None  # a stored full text, not thinned to it
            if change.fields:
                why = "updated: " + ", ".join(change.fields)
                if kept:
                    why += "; its abstract changed too, and its passages keep the stored full text"
                if isinstance(text, Outcome):  # one row: the metadata and the abstract
                    report.updated.remove(text)
                    why += "; " + text.reason
                report.updated.append(Outcome(change.origin, why, change.key))
            elif text is None:
                why = f"already in the library as {change.key}"  # and unchanged in its source
                if kept:
                    why += " (its abstract changed, and its passages keep the stored full text)"
                report.skipped.append(Outcome(change.origin, why, change.key))
        for paper in reimport.missing():
            gone = ", ".join(sorted({source_of(o) for o in paper.origins}))
            if prune and reimport.only_from_these(paper):
                self.store.remove(paper.key)
                report.removed.append(
                    Outcome(gone, f"no longer in its source; removed ({paper.label})", paper.key)
                )
            else:
                why = "no longer in its source; kept" + (
                    " (it has other sources)" if prune else " (add --prune to remove it)"
                )
                report.missing.append(Outcome(gone, why, paper.key))

    def papers(
        self, *, collections: Sequence[str] | str | None = None, tags: Sequence[str] | str | None = None
    ) -> list[Paper]:
        """All papers, in the order they were added; ``collections`` / ``tags``: only those in
        any of these Zotero collections (by path or name, subcollections included) and with any
        of these tags."""
        papers = self.store.papers()
        if collections or tags:
            chosen = Filters.of({"collections": collections, "tags": tags}).resolved(self.store)
            papers = [p for p in papers if chosen.keys is not None and p.key in chosen.keys]
        return papers

    def collections(self) -> list[str]:
        """Every collection path a paper of the library is in (from Zotero), sorted."""
        return sorted({c for p in self.store.papers() for c in p.collections}, key=str.casefold)

    def tags(self) -> list[str]:
        """Every tag of a paper of the library, sorted."""
        return sorted({t for p in self.store.papers() for t in p.tags}, key=str.casefold)

    def get(self, key: str) -> Paper:
        paper = self.store.get(key)
        if paper is None:
            raise PaperNotFoundError(
                f"No paper with key {key!r} in {self._describe()} - list the keys with `litassist papers`"
            )
        return paper

    def chunks(self, key: str) -> list[Chunk]:
        """A paper's passages in reading order."""
        self.get(key)
        return self.store.chunks(key)

    def remove(self, key: str) -> Paper:
        """Remove a paper and its passages. Its key is never given to another paper."""
        with self._write_lock():
            paper = self.store.remove(key)
        if paper is None:
            return self.get(key)  # raises PaperNotFoundError
        self.lexical.ensure_current(self.store)
        return paper

    def edit(self, key: str, /, **changes: Any) -> Paper:
        """Correct a paper's metadata: ``title``, ``authors`` (a list, or one string of names
        separated by ``;`` or new lines), ``year``, ``venue`` (``None`` or ``""`` clears one) and
        ``key``. The fields set are recorded in ``paper.user_fields``: adding the same file again
        keeps them. A new title is searched at once: the passages are embedded again with it (a
        second or so for a full text) and the lexical index reads it. A new key moves the paper's
        passages and search windows with it (the lexical index follows); the old key is never
        given to another paper. Returns the paper as stored; a wrong value is a ``LibraryError``
        that names it, and nothing is changed."""
        edit = PaperEdit.of(changes)
        before = self.get(key)  # PaperNotFoundError before anything is claimed
        new_key = edit.new_key(key)
        with self._write_lock():
            if new_key is not None:
                paper: Paper | None = self.store.rekey(key, new_key, edit.apply)
            else:
                paper = self.store.edit(key, edit.apply)
            if paper is not None and paper.title != before.title:
                self.store.retitle(paper.key, self.embedder.embed)
        if paper is None:
            return self.get(key)  # removed meanwhile: raises PaperNotFoundError
        self.lexical.ensure_current(self.store)
        return paper

    def copy_of(self, key: str) -> StoredPaper:
        """Everything stored for a paper (its record, passages and vectors), to ``restore`` it
        after ``remove`` without reading its file again: the UI's undo."""
        stored = self.store.copy(key)
        if stored is None:
            self.get(key)  # raises PaperNotFoundError
            raise LibraryError(f"{key} changed while it was being copied; try again")
        return stored

    def restore(self, stored: StoredPaper) -> Paper:
        """Put a removed paper back as ``copy_of`` saw it, under its own key."""
        with self._write_lock():
            paper = self.store.restore(stored)
        self.lexical.ensure_current(self.store)
        return paper

    # -- search and answers ----------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        retriever: RetrieverName = "hybrid",
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """The papers that best match ``query``, one hit per paper, best first. ``filters``:
        ``{"years": (2020, None), "keys": [...], "collections": [...], "tags": [...]}`` (or a
        ``Filters``)."""
        return self.retriever.search(query, k=k, retriever=retriever, filters=filters)

    def judge(
        self, question: str, *, k: int = 5, filters: Filters | Mapping[str, Any] | None = None
    ) -> Evidence:
        """Whether the library holds an answer to ``question``, before any model is asked: the
        calibrated evidence judgement over what a search finds (what ``ask`` refuses by)."""
        return self.retriever.retrieve(question, k=k, filters=filters).evidence

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        history: Sequence[Answer] | None = None,
        stream: bool = False,
        mode: Mode | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
        follow_up: bool | None = None,
        anyway: bool = False,
    ) -> Answer:
        """Answer ``question`` from the library with checked citations. ``history``: the
        conversation's earlier answers (a follow-up is made standalone; citation numbers carry
        on). ``stream=True``: iterate the answer for text deltas. ``mode="extractive"`` never
        calls a model; the default uses the configured endpoint if there is one.
        ``follow_up``: None decides whether the question carries on from ``history`` (the
        model's rewrite, or without one whether it refers back); False searches it as a new
        question. ``Answer.search_query`` is what was searched. A question the evidence
        judgement finds the library cannot answer is refused before any model is asked (the
        answer's note says why and names the nearest papers); ``anyway=True`` answers it all the
        same, with a caveat that says the judgement would refuse it."""
        answerer = Answerer(
            self.retriever,
            self.embedder,
            self.chat,
            self.store.chunk_vectors,
            writing=self._writing(),
            parameters=AnswerParameters(prompt_words=self.settings.llm.prompt_words),
        )
        return answerer.ask(
            question,
            k=k or 5,
            history=history,
            stream=stream,
            mode=mode,
            filters=filters,
            follow_up=follow_up,
            anyway=anyway,
        )

    # -- summaries -----------------------------------------------------------------------------

    def summarize(
        self,
        key: str,
        *,
        length: Length = "short",
        focus: str | None = None,
        mode: Mode | None = None,
    ) -> Summary:
        """Summarise the paper ``key`` from its abstract and the most central passages of each
        of its sections, cited to them: ``length="short"`` (3-4 sentences), ``"long"``
        (problem, method, results, limitations) or ``"sentence"`` (one).
        ``focus``: what to concentrate on, a topic or an aspect ("challenge", "approach",
        "outcome" and their synonyms). ``mode="extractive"`` (or no endpoint): the paper's most
        central sentences, or those that best state the aspect."""
        paper = self.get(key)
        return self._summarizer().summarize(paper, length=length, focus=focus, mode=mode)

    def summarize_many(
        self,
        keys_or_query: str | Sequence[str],
        *,
        k: int = 8,
        length: Length = "short",
        mode: Mode | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> Summaries:
        """Summarise several papers together: one cited line per paper, then a short synthesis.
        ``keys_or_query``: a list of keys, or a search query whose ``k`` best papers are taken
        (none when the library holds nothing close to it). ``filters`` (collections, tags,
        years) narrow the papers of a query, and the keys given."""
        if isinstance(keys_or_query, str):
            query: str | None = keys_or_query
            retrieval = self.retriever.retrieve(keys_or_query, k=k, filters=filters)
            if not retrieval.evidence.answerable:
                raise NothingToSummarizeError(
                    f"No papers in {self._describe()} match {keys_or_query!r} "
                    f"({retrieval.evidence.reason}) - try other words, or give keys"
                )
            papers = [hit.paper for hit in retrieval.hits]
        else:
            query = None
            papers = [self.get(key) for key in dict.fromkeys(keys_or_query)]
            if filters is not None:
                chosen = Filters.of(filters).resolved(self.store)
                papers = [p for p in papers if chosen.keys is None or p.key in chosen.keys]
            if not papers:
                raise NothingToSummarizeError("No papers to summarise - give their keys or a query")
        return self._summarizer().summarize_many(papers, length=length, mode=mode, query=query)

    def _summarizer(self) -> Summarizer:
        return Summarizer(
            self.store.chunks,
            self.store.chunk_vectors,
            self.embedder,
            self.chat,
            self.papers,
            writing=self._writing(),
        )

    def _writing(self) -> WritingParameters:
        return WritingParameters(response_format=self.settings.llm.response_format)

    # -- related-work drafts ---------------------------------------------------------------------

    def related_work(
        self,
        topic: str,
        *,
        keys: Sequence[str] | None = None,
        own_abstract: str | None = None,
        max_papers: int = 20,
        sections: Sequence[str] | None = None,
        mode: Mode | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> Draft:
        """Draft a related-work section on ``topic``: the papers that belong to it (or exactly
        ``keys``), grouped into themes (or into your ``sections``), a paragraph per theme,
        every citation checked. ``own_abstract``: your paper's abstract, to search for each of
        its contributions and to position your work in the paragraphs. ``filters``: draft
        only from papers in these collections / with these tags / years. Raises
        ``NothingToDraftError`` when the library is empty or holds nothing on the topic."""
        drafter = Drafter(
            self.store,
            self.retriever,
            self.embedder,
            self.chat,
            self.store.chunk_vectors,
            writing=self._writing(),
            prompt_words=self.settings.llm.prompt_words,
        )
        return drafter.draft(
            topic,
            keys=keys,
            own_abstract=own_abstract,
            max_papers=max_papers,
            sections=sections,
            mode=mode,
            filters=Filters.of(filters),
        )

    # -- comparison tables -----------------------------------------------------------------------

    def compare(
        self,
        topic_or_keys: str | Sequence[str],
        *,
        columns: Sequence[str] | None = None,
        max_papers: int = 12,
        mode: Mode | None = None,
    ) -> Table:
        """A comparison table of the papers on a topic (or exactly the papers ``keys``): one row
        per result (task, dataset, metric, value), plus your ``columns`` ("backbone",
        "parameters") per paper, every cell holding the sentence and passage it was read from;
        a cell nothing supports stays empty and says why. ``mode="extractive"`` reads result
        sentences with patterns; with a model, the model fills the cells and the code drops
        those its passages do not hold (``table.dropped``). ``max_papers`` counts the papers
        with a result (a row with a value or one of ``columns``): the papers are read in order
        (at most twice as many) until that many have one. Raises ``NothingToDraftError``
        when the library holds nothing on the topic."""
        drafter = Drafter(self.store, self.retriever, self.embedder, self.chat, self.store.chunk_vectors)
        if not isinstance(topic_or_keys, str):
            for key in topic_or_keys:
                self.get(key)  # raises PaperNotFoundError
        tabulator = Tabulator(
            self.store.get,
            self.store.chunks,
            lambda topic, keys: drafter.select(topic, keys=keys),
            self.chat,
            response_format=self.settings.llm.response_format,
        )
        return tabulator.compare(topic_or_keys, columns=columns, max_papers=max_papers, mode=mode)

    def __len__(self) -> int:
        return len(self.papers())
