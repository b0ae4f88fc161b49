"""What each control of the UI does, as plain methods over a ``Library``: no Gradio here (the app
wires these to components), so that the unit tests call them directly.

Per-session state is passed in and returned, never kept on the object: ``answers`` (the
conversation so far) and ``llm`` (the endpoint this session chose, ``None`` for the configured
one). One ``Handlers`` serves every session.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from assistant import (
    SESSION_ORIGIN,
    Answer,
    ChatModel,
    Citation,
    IngestEvent,
    IngestReport,
    Library,
    LitassistError,
    LLMSettings,
    Mode,
    Reference,
    SampleFill,
    SentenceSupport,
)
from ui import citation_links, render
from ui.uploads import Stored, UploadError, Uploads

log = logging.getLogger(__name__)

Message = dict[str, Any]  # {"role": "user" | "assistant", "content": str}
ProgressFn = Callable[[float | None, str], None]
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class ChatTurn:
    """What the chat shows after each step of an answer."""

    messages: list[Message]
    sources: str
    answers: list[Answer]
    follow_up: bool = False  # the latest answer carried on from the one before (it can be asked anew)
    # the latest question was refused before any model was asked (it can be answered anyway)
    refused: bool = False


@dataclass(frozen=True)
class DraftView:
    outline: str
    text: str
    sources: str
    files: tuple[Path, Path, Path] | None  # .md, .tex, .bib


class Handlers:
    def __init__(
        self,
        library: Library,
        *,
        uploads: Uploads,
        files_route: str | None = None,
        fill: SampleFill | None = None,
    ):
        self.library = library
        self.fill = fill  # the sample library filling in the background, if it is
        self.uploads = uploads
        self.files_route = files_route  # the URL prefix under which the app serves uploads
        # drafts to download: one folder each, all removed when the app stops
        self._downloads = Path(tempfile.mkdtemp(prefix="litassist-drafts-"))
        weakref.finalize(self, shutil.rmtree, self._downloads, ignore_errors=True)

    # -- the session's model ---------------------------------------------------------------------

    def session_library(self, llm: LLMSettings | None) -> tuple[Library, Mode | None]:
        """The library as this session uses it, and the mode its texts are made in."""
        if llm is None:
            library = self.library
        elif llm.mode != "extractive" and llm.base_url:  # its errors point to the Settings tab
            library = self.library.using(ChatModel.from_settings(llm, origin=SESSION_ORIGIN))
        else:
            library = self.library.using(llm)
        return library, ("extractive" if library.chat is None else None)

    def banner(self, llm: LLMSettings | None) -> str:
        chat = self.session_library(llm)[0].chat
        library = self.library
        read_only = None if library.read_only is None else (library.path, library.read_only)
        text = render.banner(chat.model if chat else None, chat.shown_url if chat else None, read_only)
        return text + self.fill_banner()

    def fill_banner(self) -> str:
        """The sample fill's line of the banner ("" when there is no fill)."""
        if self.fill is None:
            return ""
        state = self.fill.state()
        return render.fill_banner(state.line(), state.filling)

    def filling(self) -> str | None:
        """The fill's line while the sample library fills, else None."""
        state = self.fill.state() if self.fill is not None else None
        return state.line() if state is not None and state.filling else None

    def choose_endpoint(
        self, base_url: str, model: str, api_key: str, extractive: bool
    ) -> tuple[LLMSettings | None, str]:
        """The session's endpoint from the settings form: a URL (and model) → that endpoint;
        ``extractive`` → no model; nothing → the configured one. Returns the state and a note."""
        configured = self.library.settings.llm
        base_url, model, api_key = base_url.strip(), model.strip(), api_key.strip()
        if extractive:
            return configured.model_copy(update={"mode": "extractive"}), "This session answers extractively."
        if not base_url:
            return None, "This session uses the configured endpoint."
        if not base_url.startswith(("http://", "https://")):
            raise LitassistError(f"{base_url!r} is not an http(s) URL - e.g. http://127.0.0.1:8080/v1")
        llm = configured.model_copy(
            update={
                "base_url": base_url,
                "model": model or configured.model,
                "api_key": SecretStr(api_key) if api_key else None,
                "mode": "auto",
            }
        )
        return llm, f"This session uses `{llm.model}` at `{llm.shown_url}`."

    def settings_markdown(self, llm: LLMSettings | None) -> str:
        settings = self.library.settings
        library, _ = self.session_library(llm)
        chat = library.chat
        chroma = settings.chroma
        where = f"Chroma server {chroma.host}:{chroma.port}" if chroma.mode == "server" else "embedded Chroma"
        rows = [
            ("library", f"`{self.library.path}` ({where}, {len(self.library)} papers)"),
            ("embedder", f"`{self.library.embedder.name}`"),
            ("chat endpoint", f"`{chat.shown_url}`" if chat else "none (extractive mode)"),
            ("chat model", f"`{chat.model}`" if chat else "-"),
            ("endpoint chosen for", "this session" if llm is not None else "everyone (settings)"),
            ("passages", f"{settings.chunking.chunk_size} tokens, {settings.chunking.chunk_overlap} overlap"),
            ("uploads", f"`{self.uploads.folder}`, at most {self.uploads.max_bytes / 1e6:.0f} MB a file"),
        ]
        return "| setting | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)

    # -- chat ------------------------------------------------------------------------------------

    def chat(
        self,
        question: str,
        messages: list[Message],
        answers: list[Answer],
        llm: LLMSettings | None,
        collections: Sequence[str] | None = None,
        follow_up: bool | None = None,
        anyway: bool = False,
    ) -> Iterator[ChatTurn]:
        """Answer a question (a follow-up of ``answers`` when it refers back, or ``follow_up``
        says so), streaming: the first turn shows the question, the next ones the answer as it
        grows, the last the checked answer with what was searched and its sources.
        ``collections``: answer only from the papers in these (Zotero) collections.
        ``anyway``: answer it even if the evidence judgement refuses it. A failure ends the
        answer with a readable message."""
        question = question.strip()
        if not question:
            return
        shown = [*messages, {"role": "user", "content": question}, {"role": "assistant", "content": ""}]
        sources = self._conversation_sources(answers)
        yield ChatTurn(shown, sources, answers)
        text = ""
        try:
            library, mode = self.session_library(llm)
            answer = library.ask(
                question,
                history=answers,
                stream=True,
                mode=mode,
                follow_up=follow_up,
                filters=_in_collections(collections),
                anyway=anyway,
            )
            # weak evidence is said before the answer, not among the notes under it
            caveat = render.caveat(answer.evidence.caveat if answer.evidence else None)
            for delta in answer:
                text += delta
                yield ChatTurn(_with_reply(shown, caveat + text), sources, answers)
            rest = [n for n in answer.notes if n != answer.caveat]
            notes = render.check_notes(
                answer.grounded, answer.refused, answer.dropped_citations, answer.sentences, rest
            )
            answers = [*answers, answer]
            cards = {r.number for a in answers for r in a.references}
            final = render.caveat(answer.caveat) + citation_links.linked(answer.text, cards)
            final += f"\n\n{notes}" if notes else ""
            if (filling := self.filling()) is not None:
                final += "\n\n" + render.filling_note(filling)
            final += "\n\n" + render.searched_for(answer.search_query, answer.follow_up)
            turn = ChatTurn(_with_reply(shown, final), self._conversation_sources(answers), answers)
            yield replace(turn, follow_up=answer.follow_up, refused=answer.judged_unanswerable)
        except Exception as error:  # every failure ends as a message, never as a frozen spinner
            if not isinstance(error, LitassistError):
                log.exception("answering %r failed", question)
            reply = (text.rstrip() + "\n\n" if text.strip() else "") + render.error_message(error)
            yield ChatTurn(_with_reply(shown, reply), sources, answers)

    def ask_again(
        self,
        messages: list[Message],
        answers: list[Answer],
        llm: LLMSettings | None,
        collections: Sequence[str] | None = None,
        *,
        anyway: bool = False,
    ) -> Iterator[ChatTurn]:
        """The latest question asked again, its answer replacing the latest one (citation
        numbers still run on): as a new question, not carried on from the one before; or, with
        ``anyway``, a question refused before any model was asked, answered all the same (with a
        caveat that says the judgement would refuse it)."""
        if not _replaceable(messages, answers) or (anyway and not answers[-1].judged_unanswerable):
            return
        last = answers[-1]
        yield from self.chat(
            last.question,
            messages[:-2],
            answers[:-1],
            llm,
            collections,
            follow_up=last.follow_up if anyway else False,
            anyway=anyway,
        )

    def _sources(self, checked: Any) -> str:
        """The sources panel of an answer, a summary or a draft."""
        return self._cards(checked.references, checked.citations, checked.sentences)

    def _cards(
        self, references: Sequence[Reference], cites: Sequence[Citation], sentences: Sequence[SentenceSupport]
    ) -> str:
        return render.sources_html(
            references,
            cites,
            sentences,
            files_route=self.files_route,
            files_root=self.uploads.folder.resolve(),
        )

    def _conversation_sources(self, answers: Sequence[Answer]) -> str:
        """The latest answer's sources, then the other papers cited earlier in the conversation
        (numbers run across the conversation, so every marker in it has its card)."""
        if not answers:
            return render.NO_SOURCES_YET
        *earlier, latest = answers
        shown = {r.paper.key for r in latest.references}
        references: dict[str, Reference] = {}
        for answer in earlier:
            for reference in answer.references:
                if reference.paper.key not in shown:
                    references.setdefault(reference.paper.key, reference)
        html = self._sources(latest)
        if references:
            cites = [c for a in earlier for c in a.citations if c.key in references]
            sentences = [s for a in earlier for s in a.sentences]
            ordered = sorted(references.values(), key=lambda r: r.number)
            html += render.earlier_sources(self._cards(ordered, cites, sentences), len(ordered))
        return html

    # -- the library -----------------------------------------------------------------------------

    def add_files(
        self, files: Sequence[str | Path], progress: ProgressFn | None = None
    ) -> tuple[str, list[list[object]]]:
        """Keep the uploaded files and add them to the library, with progress; returns a
        summary line and a row per file or entry (added / skipped / failed, and why). A library
        that cannot be changed (read-only) says so, and nothing is kept."""
        try:
            self.library.ensure_writable()
        except LitassistError as e:
            return render.error_message(e), []
        stored: list[Stored] = []
        refused: list[list[object]] = []
        for file in files:
            path = Path(file)
            try:
                stored.append(self.uploads.keep(path, _uploaded_name(path)))
            except UploadError as e:
                refused.append(["failed", "", e.name, e.reason])
        report = self._add(stored, progress) if stored else IngestReport()
        failed = {_file(o.source) for o in report.failed}
        kept = {_file(s) for p in report.added for s in p.sources} | {_file(o.source) for o in report.skipped}
        for item in stored:
            if str(item.path) in failed - kept:  # nothing of it went in: do not keep it
                self.uploads.discard(item)
        names = {str(s.path): s.name for s in stored}
        rows = render.ingest_rows(report, names) + refused
        summary = render.ingest_summary(report)
        if refused:
            summary += f" {len(refused)} file(s) refused."
        return summary, rows

    def _add(self, stored: list[Stored], progress: ProgressFn | None) -> IngestReport:
        """``Library.add`` in a worker thread while this thread reports its progress (Gradio's
        progress bar must be driven from the thread of the request)."""
        tally = _Tally()
        with ThreadPoolExecutor(1, thread_name_prefix="litassist-add") as pool:
            future = pool.submit(self.library.add, [s.path for s in stored], progress=tally)
            while not future.done():
                if progress is not None:
                    progress(*tally.state())
                wait([future], timeout=POLL_SECONDS)
            if progress is not None:
                progress(1.0, "done")
            return future.result()

    def paper_rows(self, query: str = "") -> list[list[object]]:
        return render.paper_rows(self.library.papers(), query)

    def filter_papers(self, query: str) -> tuple[list[list[object]], str]:
        """The papers matching a filter, and a note while the sample library fills."""
        filling = self.filling()
        return self.paper_rows(query), render.filling_note(filling) if filling else ""

    def paper_choices(self) -> list[tuple[str, str]]:
        """(label, key) for the paper pickers."""
        return [(f"{p.key} - {p.label[:80]}", p.key) for p in self.library.papers()]

    def remove(self, key: str | None) -> str:
        if not key:
            return "Choose a paper to remove."
        try:
            paper = self.library.remove(key)
        except LitassistError as e:
            return render.error_message(e)
        return f"Removed `{paper.key}` ({paper.label}) and its passages."

    def summarize(
        self, key: str | None, length: Literal["short", "long"], llm: LLMSettings | None
    ) -> tuple[str, str]:
        """A paper's summary (markdown) and its sources panel."""
        if not key:
            return "Choose a paper to summarise.", ""
        try:
            library, mode = self.session_library(llm)
            summary = library.summarize(key, length=length, mode=mode)
        except Exception as error:
            return self._failed("summarising " + key, error), ""
        notes = render.check_notes(
            summary.grounded, False, summary.dropped_citations, summary.sentences, summary.notes
        )
        return summary.markdown() + (f"\n\n{notes}" if notes else ""), self._sources(summary)

    # -- drafts ----------------------------------------------------------------------------------

    def collection_choices(self) -> list[str]:
        """The collections the library's papers are in (from Zotero), for the pickers."""
        return self.library.collections()

    def draft(
        self, topic: str, own_abstract: str, llm: LLMSettings | None, collections: Sequence[str] | None = None
    ) -> DraftView:
        """A related-work draft (from the papers in ``collections``, when given): its outline,
        its text with references in the configured CSL style, the sources panel, and the .md /
        .tex / .bib files to download."""
        topic = topic.strip()
        if not topic:
            return DraftView("", "Give a topic for the related-work section.", "", None)
        try:
            library, mode = self.session_library(llm)
            draft = library.related_work(
                topic,
                own_abstract=own_abstract.strip() or None,
                mode=mode,
                filters=_in_collections(collections),
            )
        except Exception as error:
            return DraftView("", self._failed("drafting", error), "", None)
        chat = library.chat
        label = (
            f"draft by {chat.model}"
            if draft.mode == "llm" and chat
            else "extractive draft (no language model)"
        )
        outline = render.outline_markdown([(t.name, t.keys) for t in draft.outline])
        notes = render.check_notes(bool(draft.cited_keys), False, draft.dropped_citations, draft.sentences)
        body = "\n\n".join(
            part
            for part in (
                f"*{label}*",
                draft.text,
                notes,
                "**References**\n\n" + render.references_markdown(draft.references, self._styled(draft))
                if draft.references
                else "",
                "\n\n".join(f"*{n}*" for n in draft.notes),
            )
            if part
        )
        files = _draft_files(draft, Path(tempfile.mkdtemp(dir=self._downloads)))
        return DraftView(f"**Outline**\n\n{outline}", body, self._sources(draft), files)

    def _styled(self, draft: Any) -> dict[str, str] | None:
        """The draft's references in the configured CSL style; None (the plain list) if the
        style cannot be used."""
        try:
            return dict(draft.styled_references(self.library.settings.csl_style))
        except Exception as e:
            log.warning("references not in the CSL style %r: %s", self.library.settings.csl_style, e)
            return None

    def _failed(self, what: str, error: Exception) -> str:
        if not isinstance(error, LitassistError):
            log.exception("%s failed", what)
        return render.error_message(error)


def _in_collections(collections: Sequence[str] | None) -> dict[str, list[str]] | None:
    return {"collections": list(collections)} if collections else None


def _with_reply(shown: list[Message], text: str) -> list[Message]:
    return [*shown[:-1], {"role": "assistant", "content": text}]


def _file(source: str) -> str:
    return source.split("#", 1)[0]  # "refs.bib#key": one entry of a file


def _uploaded_name(path: Path) -> str:
    return path.name  # Gradio keeps the browser's file name (made safe) as the last part


def download_name(topic: str) -> str:
    """The name of a draft's downloads, from its topic (a second draft does not overwrite the
    first in the browser's downloads): ``related-work-masked-image-modeling``."""
    words = re.findall(
        r"[a-z0-9]+", unicodedata.normalize("NFKD", topic).encode("ascii", "ignore").decode().lower()
    )
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 60:
            break
        slug = f"{slug}-{word}" if slug else word
    return f"related-work-{slug}" if slug else "related-work"


def _draft_files(draft: Any, folder: Path) -> tuple[Path, Path, Path]:
    name = download_name(draft.topic)
    md, tex, bib = folder / f"{name}.md", folder / f"{name}.tex", folder / f"{name}.bib"
    md.write_text(f"---\nbibliography: {bib.name}\n---\n\n{draft.markdown}\n")
    tex.write_text(draft.latex_document(bib.stem))
    bib.write_text(draft.bibtex)
    return md, tex, bib


class _Tally:
    """Counts ingest events (from the ingest's threads) into a fraction and a line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.files = self.read = self.planned = self.embedded = 0

    def __call__(self, event: IngestEvent) -> None:
        with self._lock:
            if event.kind == "files":
                self.files = event.count
            elif event.kind == "file":
                self.read += 1
            elif event.kind == "chunks":
                self.planned += event.count
            elif event.kind == "embedded":
                self.embedded += event.count

    def state(self) -> tuple[float | None, str]:
        with self._lock:
            if not self.files:
                return None, "finding files"
            done = self.read / self.files
            if self.planned:
                done = 0.2 * done + 0.8 * self.embedded / self.planned
            line = f"read {self.read} of {self.files} files"
            if self.planned:
                line += f", embedded {self.embedded} of {self.planned} passages"
            return min(done, 1.0), line


def _replaceable(messages: Sequence[Message], answers: Sequence[Answer]) -> bool:
    """Whether the chat ends with the latest answer's turn (a question and its reply), which
    asking it again replaces. The chat component hands its messages back in its own format:
    only roles are compared."""
    return (
        bool(answers)
        and len(messages) >= 2
        and [m.get("role") for m in messages[-2:]] == ["user", "assistant"]
    )
