"""The ``litassist`` command line. Progress bars and colours live here, not in the library."""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from assistant.errors import (
    LitassistError,
    NothingToDraftError,
    NothingToSummarizeError,
    PaperNotFoundError,
)
from assistant.settings import Settings
from store.urls import RedactingFilter

if TYPE_CHECKING:  # imported when a command runs, so that `--help` answers at once
    from assistant.answer import Answer
    from assistant.citations import SentenceSupport
    from assistant.evaluation import Report
    from assistant.library import Library
    from assistant.sample import SampleFill
    from assistant.summary import Summaries, Summary
    from store.ingest import IngestEvent, IngestReport
    from store.paper import Paper

app = typer.Typer(
    help="litassist: a literature assistant over your own papers (PDF, BibTeX, listings, web pages).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # the docstrings' lines are wrapped for the source: Markdown joins them (in Rich mode, a
    # command's line in the list keeps their line breaks)
    rich_markup_mode="markdown",
)
out = Console()
err = Console(stderr=True)


class _State:
    library: Path | None = None


_state = _State()


@app.callback()
def main_options(
    library: Annotated[
        Path | None,
        typer.Option(
            "--library",
            "-L",
            help="Library folder (default: $LITASSIST_LIBRARY, else a per-user data folder).",
            file_okay=False,
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v: info, -vv: debug logs.")
    ] = 0,
) -> None:
    _state.library = library
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)  # some libraries set their own loggers to DEBUG (bm25s does)
        handler.addFilter(RedactingFilter())  # a key written into a URL is never logged
        if verbose == 0:
            handler.addFilter(_own_logs)


_OWN_LOGGERS = ("litassist", "assistant", "store", "ui")


def _own_logs(record: logging.LogRecord) -> bool:
    """At the default verbosity, litassist's own warnings and a library's critical errors only.

    What a library logs of an input it could not read (trafilatura's "empty HTML tree", an entry
    bibtexparser skipped) is what the command reports itself, row by row; ``-v`` shows it too.
    """
    return record.name.split(".")[0] in _OWN_LOGGERS or record.levelno >= logging.CRITICAL


def _open() -> Library:
    """The command's library; a read-only one is searched from a temporary copy, said once."""
    from assistant.library import Library

    library = Library(_state.library, settings=Settings())
    if library.read_only is not None:
        err.print(
            f"[yellow]read-only library:[/yellow] {escape(str(library.path))} cannot be written "
            f"({escape(library.read_only)}); it is searched from a temporary copy: search only "
            "(adding, removing or changing papers is refused)",
            highlight=False,
        )
    return library


def _paper_json(paper: Paper) -> dict[str, Any]:
    return paper.model_dump(mode="json")


@app.command()
def add(
    paths: Annotated[
        list[Path], typer.Argument(help="Files and folders (walked recursively).", exists=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Remove the papers whose entries are gone from a .bib or Zotero library read again.",
        ),
    ] = False,
    abstracts_only: Annotated[
        bool,
        typer.Option(
            "--abstracts-only",
            help="Store papers that have an abstract from it alone, for now; adding the files "
            "again later brings their full text.",
        ),
    ] = False,
) -> None:
    """Add papers from PDFs, BibTeX, a Zotero data directory, text listings, HTML/Markdown pages
    and S2ORC JSON. A .bib or Zotero library read again updates the papers it gave; a file with
    the full text of a paper stored from its abstract alone updates it (same key)."""
    library = _open()
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        err.print(f"[red]no such file or folder:[/red] {path}")
    paths = [p for p in paths if p.exists()]
    from store.ingest import IngestInterrupted

    interrupted = False
    try:
        report = _add_with_progress(
            library, paths, show=not as_json and err.is_terminal, prune=prune, abstracts_only=abstracts_only
        )
    except IngestInterrupted as e:  # stopped within a second; the report says what is stored
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the report is printed whatever is pressed
        report, interrupted = e.report, True
    if as_json:
        data = report.to_dict()
        data["failed"] += [
            {"source": str(p), "reason": "no such file or folder", "key": None} for p in missing
        ]
        out.print_json(json.dumps(data))
    else:
        _print_report(report, library)
    if interrupted:
        lost = ("not stored", "not read", "not (wholly)")
        not_stored = sum(o.reason.startswith(lost) for o in report.failed)
        err.print(
            f"[yellow]interrupted:[/yellow] {len(report.added)} papers stored before the Ctrl-C, "
            f"{not_stored} files or entries not stored; run the same command again to add the rest "
            "(what is stored is skipped)"
        )
        raise typer.Exit(130)
    if report.stopped is not None and not as_json:
        err.print(f"[red]stopped:[/red] {escape(report.stopped)}")
    if missing or not report.ok:
        raise typer.Exit(1)


def _add_with_progress(
    library: Library, paths: list[Path], *, show: bool, prune: bool = False, abstracts_only: bool = False
) -> IngestReport:
    log = logging.getLogger("litassist.add")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
        transient=False,
    ) as bar:
        files = bar.add_task("files", total=None)
        chunks = bar.add_task("chunks embedded", total=0)

        def progress(event: IngestEvent) -> None:
            if event.kind == "files":
                bar.update(files, total=event.count)
            elif event.kind == "file":
                bar.advance(files)
                bar.update(files, description=f"files ({Path(event.path or '').name[:30]})")
            elif event.kind == "chunks":
                bar.update(chunks, total=(bar.tasks[chunks].total or 0) + event.count)
            elif event.kind == "embedded":
                bar.advance(chunks, event.count)
            elif event.kind == "committed":
                log.info("committed %s", event.key)

        return library.add(paths, progress=progress, prune=prune, abstracts_only=abstracts_only)


_SHOWN_UNREAD = 5  # files not read for one reason (a stopped run): this many rows, then a count


def _print_report(report: IngestReport, library: Library, *, only_problems: bool = False) -> None:
    table = Table(title=f"Ingest into {library.path}", show_lines=False)
    table.add_column("result")
    table.add_column("key / source", overflow="fold")
    table.add_column("title / reason", overflow="fold")
    for paper in [] if only_problems else report.added:
        table.add_row("[green]added[/green]", escape(paper.key), escape(paper.label))
    for outcome in [] if only_problems else report.updated:
        table.add_row(
            "[cyan]updated[/cyan]", escape(f"{outcome.key} ({outcome.source})"), escape(outcome.reason)
        )
    for paper in [] if only_problems else report.full_texts:
        table.add_row("[green]updated (full text)[/green]", escape(paper.key), escape(paper.label))
    for outcome in report.skipped:
        table.add_row("[yellow]skipped[/yellow]", escape(outcome.source), escape(outcome.reason))
    for outcome in report.missing:
        table.add_row(
            "[magenta]missing[/magenta]", escape(f"{outcome.key} ({outcome.source})"), escape(outcome.reason)
        )
    for outcome in report.removed:
        table.add_row(
            "[red]removed[/red]", escape(f"{outcome.key} ({outcome.source})"), escape(outcome.reason)
        )
    unread = [o for o in report.failed if o.reason.startswith("not read: ")]
    for outcome in report.failed:
        if outcome in unread[_SHOWN_UNREAD:]:
            continue
        table.add_row("[red]failed[/red]", escape(outcome.source), escape(outcome.reason))
    if len(unread) > _SHOWN_UNREAD:
        table.add_row(
            "[red]failed[/red]", f"… and {len(unread) - _SHOWN_UNREAD} more files", "not read, as above"
        )
    if table.row_count:
        out.print(table)
    from store.chroma import unreachable

    try:
        count = f"{len(library.papers())} papers in the library."
    except Exception as e:  # the store gone (what stopped the run): the rows above say what is stored
        if not unreachable(e):
            raise
        count = "the library cannot be read now."
    again = ""
    if report.updated or report.missing or report.removed:
        again = f"{len(report.updated)} updated, {len(report.missing)} missing, "
        again += f"{len(report.removed)} removed, "
    added, skipped, failed = len(report.added), len(report.skipped), len(report.failed)
    out.print(f"{added} added, {again}{skipped} skipped, {failed} failed; {count}")


_CollectionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--collection",
        help="Only papers in this Zotero collection (its path or name; subcollections included). "
        "Repeat it for any of several.",
    ),
]
_TagOption = Annotated[
    list[str] | None, typer.Option("--tag", help="Only papers with this tag. Repeat it for any of several.")
]


def _filters(
    collections: list[str] | None, tags: list[str] | None, years: tuple[int | None, int | None] | None = None
) -> dict[str, Any] | None:
    chosen: dict[str, Any] = {}
    if collections:
        chosen["collections"] = collections
    if tags:
        chosen["tags"] = tags
    if years is not None and years != (None, None):
        chosen["years"] = years
    return chosen or None


@app.command()
def papers(
    as_json: Annotated[bool, typer.Option("--json", help="Print the papers as JSON.")] = False,
    collection: _CollectionOption = None,
    tag: _TagOption = None,
) -> None:
    """List the papers in the library (or those in a collection, with a tag)."""
    library = _open()
    items = library.papers(collections=collection, tags=tag)
    if as_json:
        out.print_json(json.dumps([_paper_json(p) for p in items]))
        return
    table = Table(title=f"{len(items)} papers in {library.path}")
    for column in ("key", "title", "authors", "year", "sources"):
        table.add_column(column, overflow="fold")
    for paper in items:
        authors = paper.authors_line()
        table.add_row(
            paper.key,
            paper.label,
            authors,
            str(paper.year or ""),
            "\n".join(Path(s).name for s in paper.sources),
        )
    out.print(table)


@app.command()
def remove(
    key: Annotated[str, typer.Argument(help="Citation key of the paper (see `litassist papers`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the removed paper as JSON.")] = False,
) -> None:
    """Remove a paper and its passages from the library."""
    paper = _open().remove(key)
    if as_json:
        out.print_json(json.dumps(_paper_json(paper)))
    else:
        out.print(f"removed {paper.key}: {paper.label}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in words.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many papers.", min=1)] = 5,
    retriever: Annotated[
        str, typer.Option("--retriever", help="hybrid (default), dense or lexical.")
    ] = "hybrid",
    year_from: Annotated[int | None, typer.Option("--from", help="Only papers from this year on.")] = None,
    year_to: Annotated[int | None, typer.Option("--to", help="Only papers up to this year.")] = None,
    collection: _CollectionOption = None,
    tag: _TagOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Find the papers that best match QUERY: one hit per paper with its best passage."""
    if retriever not in ("hybrid", "dense", "lexical"):
        raise typer.BadParameter("choose hybrid, dense or lexical", param_hint="--retriever")
    filters = _filters(collection, tag, (year_from, year_to))
    hits = _open().search(query, k=k, retriever=retriever, filters=filters)  # type: ignore[arg-type]
    if as_json:
        out.print_json(json.dumps([h.to_dict() for h in hits]))
        return
    if not hits:
        out.print("no matching papers")
        return
    for rank, hit in enumerate(hits, 1):
        year = hit.paper.year or "n.d."
        out.print(f"[bold]{rank}. {escape(hit.paper.label)}[/bold] [dim]({hit.key}, {year})[/dim]")
        text = " ".join(hit.text.split())
        out.print(f"   {text[:300]}{'…' if len(text) > 300 else ''}", highlight=False)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the papers in the library.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many papers to read.", min=1)] = 5,
    extractive: Annotated[
        bool, typer.Option("--extractive", help="Answer with the best evidence sentences; no model.")
    ] = False,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Print the answer when it is complete.")
    ] = False,
    collection: _CollectionOption = None,
    tag: _TagOption = None,
    anyway: Annotated[
        bool,
        typer.Option(
            "--anyway",
            help="Answer even a question the library seems not to cover (refused before any model is "
            "asked otherwise); the answer says so.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checked answer as JSON.")] = False,
) -> None:
    """Answer QUESTION from the library, with citations checked against the passages read."""
    library = _open()
    mode = "extractive" if extractive else None
    stream = not (no_stream or as_json)
    filters = _filters(collection, tag)
    answer = library.ask(question, k=k, mode=mode, stream=stream, filters=filters, anyway=anyway)  # type: ignore[arg-type]
    if as_json:
        out.print_json(json.dumps(answer.to_dict()))
        return
    err.print(_label(library, answer.mode, "answer", "evidence sentences"))
    _caveat(answer)
    if stream:
        for delta in answer:
            out.print(delta, end="", highlight=False, markup=False)
            out.file.flush()
        out.print()
    else:
        out.print(answer.text, highlight=False, markup=False)
    if answer.references:
        out.print()
        for reference in answer.references:
            out.print(
                f"[{reference.number}] {_reference_line(reference.paper)}", highlight=False, markup=False
            )
    _warn(answer.grounded, answer.sentences, answer.dropped_citations, "answer", _after(answer))
    if answer.judged_unanswerable and not anyway:
        err.print("[dim]ask with --anyway to have it answered from the nearest papers all the same[/dim]")


def _caveat(answer: Answer) -> None:
    """Weak evidence, said before the answer (on stderr), not among the notes after it."""
    if answer.evidence is not None and answer.evidence.caveat:
        err.print(f"[yellow]note:[/yellow] {escape(answer.evidence.caveat)}")


def _after(answer: Answer) -> list[str]:
    """The notes printed after an answer: all but the caveat ``_caveat`` printed before it."""
    return [n for n in answer.notes if n != answer.caveat]


@app.command()
def chat(
    k: Annotated[int, typer.Option("--k", "-k", help="How many papers to read.", min=1)] = 5,
    extractive: Annotated[
        bool, typer.Option("--extractive", help="Answer with the best evidence sentences; no model.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each checked answer as one line of JSON.")
    ] = False,
) -> None:
    """A conversation: one question a line from stdin (an empty line or end of input stops). A
    question that refers back ("How do they evaluate it?") carries on from the one before;
    under each answer, what was searched for."""
    library = _open()
    mode = "extractive" if extractive else None
    history: list[Any] = []
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            err.print("[bold]?[/bold] ", end="")
        line = sys.stdin.readline()
        question = line.strip()
        if not question:
            return
        answer = library.ask(question, k=k, mode=mode, history=history)  # type: ignore[arg-type]
        history.append(answer)
        if as_json:
            out.print(json.dumps(answer.to_dict()), highlight=False, markup=False, soft_wrap=True)
            continue
        err.print(_label(library, answer.mode, "answer", "evidence sentences"))
        _caveat(answer)
        out.print(answer.text, highlight=False, markup=False)
        for reference in answer.references:
            out.print(
                f"[{reference.number}] {_reference_line(reference.paper)}", highlight=False, markup=False
            )
        carried = " (carried on from the previous question)" if answer.follow_up else ""
        line = f"Searched for: {answer.search_query}{carried}"
        out.print(line, style="dim", highlight=False, markup=False, soft_wrap=True)
        _warn(answer.grounded, answer.sentences, answer.dropped_citations, "answer", _after(answer))
        out.print()


@app.command()
def summarize(
    keys: Annotated[
        list[str] | None,
        typer.Argument(help="Citation keys of the papers (see `litassist papers`); or --collection / --tag."),
    ] = None,
    length: Annotated[
        str,
        typer.Option(
            "--length",
            help="sentence (one, extractive), short (3-4 sentences) or long (problem, method, results, "
            "limits).",
        ),
    ] = "short",
    focus: Annotated[
        str | None, typer.Option("--focus", help="What the summary should concentrate on.")
    ] = None,
    extractive: Annotated[
        bool, typer.Option("--extractive", help="The papers' most central sentences; no model.")
    ] = False,
    together: Annotated[
        bool, typer.Option("--together", help="One line per paper and a short synthesis, in one text.")
    ] = False,
    collection: _CollectionOption = None,
    tag: _TagOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checked summaries as JSON.")] = False,
) -> None:
    """Summarise each paper KEY from its passages (every section of a full text), with citations
    checked against them. The exit status is 1 when a key is not in the library."""
    if length not in ("sentence", "short", "long"):
        raise typer.BadParameter("choose sentence, short or long", param_hint="--length")
    if together and focus:
        raise typer.BadParameter("a focus applies to papers summarised one by one", param_hint="--focus")
    library = _open()
    if collection or tag:  # the papers in these collections / with these tags (among KEYS, if given)
        chosen = [p.key for p in library.papers(collections=collection, tags=tag)]
        keys = [k for k in keys if k in chosen] if keys else chosen
        if not keys:
            err.print("[red]error:[/red] no paper in the library is in that collection or has that tag")
            raise typer.Exit(1)
    if not keys:
        raise typer.BadParameter("give the keys of the papers, or --collection / --tag", param_hint="KEYS")
    mode = "extractive" if extractive else None
    results: list[Summary | Summaries] = []
    failed: list[str] = []
    found: list[str] = []
    for key in dict.fromkeys(keys):
        try:
            if together:
                found.append(library.get(key).key)
            else:
                results.append(library.summarize(key, length=length, focus=focus, mode=mode))  # type: ignore[arg-type]
        except (PaperNotFoundError, NothingToSummarizeError) as e:
            err.print(f"[red]error:[/red] {escape(str(e))}")
            failed.append(key)
    if found:
        results.append(library.summarize_many(found, length=length, mode=mode))  # type: ignore[arg-type]
    if as_json:
        data = [r.to_dict() for r in results]
        out.print_json(json.dumps(data[0] if together and data else data))
    for index, result in enumerate([] if as_json else results):
        if index:
            out.print()
        _print_summary(library, result)
    if failed:
        raise typer.Exit(1)


def _print_summary(library: Library, result: Summary | Summaries) -> None:
    """A summary as text: unwrapped lines, so that it can be piped or pasted."""
    from assistant.summary import Summary

    def say(text: str = "") -> None:
        out.print(text, highlight=False, markup=False, soft_wrap=True)

    if isinstance(result, Summary):
        year = result.paper.year or "n.d."
        out.print(
            f"[bold]{escape(result.paper.label)}[/bold] [dim]({result.key}, {year})[/dim]", soft_wrap=True
        )
    err.print(_label(library, result.mode, "summary", "the most central sentences"))
    if isinstance(result, Summary):
        say(result.text)
    else:
        for line in result.lines:
            say(f"- {line.text}")
        if result.synthesis:
            say()
            say(result.synthesis)
    if result.references:
        say()
        for reference in result.references:
            say(f"[{reference.number}] {_reference_line(reference.paper)}")
    _warn(result.grounded, result.sentences, result.dropped_citations, "summary", result.notes)


def _label(library: Library, mode: str, what: str, how: str) -> str:
    """The stderr line that names the model that wrote a text, or says it is extractive."""
    if mode == "llm" and library.chat:
        return f"[dim]{library.chat.describe()}[/dim]"
    hint = " configured: set LITASSIST_LLM__BASE_URL" if library.chat is None else ""
    return f"[yellow]extractive {what}[/yellow] [dim]({how}; no language model{hint})[/dim]"


def _warn(
    grounded: bool,
    sentences: list[SentenceSupport],
    dropped: list[str],
    what: str,
    notes: Sequence[str] = (),
) -> None:
    """What the check found, on stderr: what happened on the way, no citation at all, citations
    the code attributed, sentences nothing backs, weak sentences, removed citations."""
    for note in notes:
        err.print(f"[yellow]note:[/yellow] {escape(note)}")
    if not grounded:
        err.print(f"[red]nothing in this {what} could be traced to your papers: it is not from them[/red]")
    attributed = [i + 1 for i, s in enumerate(sentences) if s.attributed]
    if attributed:
        err.print(
            f"[dim]sentence(s) {', '.join(map(str, attributed))}: cited by litassist (attributed: the "
            "writer left them uncited; the passage that backs each is cited)[/dim]"
        )
    flagged = [i + 1 for i, s in enumerate(sentences) if s.flagged]
    if flagged and grounded:
        err.print(
            f"[yellow]sentence(s) {', '.join(map(str, flagged))}: uncited - nothing in the passages "
            "backs them clearly[/yellow]"
        )
    weak = [s for s in sentences if s.weak]
    if weak:
        err.print(f"[yellow]{len(weak)} sentence(s) weakly supported by the passages they cite[/yellow]")
    if dropped:
        err.print(
            "[yellow]removed citations of papers the model was not given:[/yellow] " + ", ".join(dropped)
        )


def _reference_line(paper: Paper) -> str:
    authors = paper.authors_line() if paper.authors else ""
    parts = [p for p in (authors, f"({paper.year})" if paper.year else "", paper.label) if p]
    where = f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else (f"doi:{paper.doi}" if paper.doi else "")
    return " ".join(parts) + (f". {where}" if where else "") + f" [{paper.key}]"


@app.command()
def draft(
    topic: Annotated[str, typer.Argument(help="The topic of the related-work section.")],
    own_abstract: Annotated[
        Path | None,
        typer.Option(
            "--own-abstract",
            help="A text file with your paper's abstract: its contributions are searched for, and "
            "the paragraphs position your work against the cited ones.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    keys: Annotated[
        list[str] | None,
        typer.Option("--keys", help="Draft from exactly these papers (repeat it, or comma-separate)."),
    ] = None,
    section: Annotated[
        list[str] | None,
        typer.Option("--section", help="Your own section names (repeat it); each paper goes to the closest."),
    ] = None,
    max_papers: Annotated[int, typer.Option("--max-papers", help="At most this many papers.", min=1)] = 20,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the draft to a .md file (pandoc citations: \\[@key]) or a .tex file (a complete "
            "document citing with \\cite{key}).",
            dir_okay=False,
        ),
    ] = None,
    bib: Annotated[
        Path | None,
        typer.Option(
            "--bib",
            help="Write the cited papers' BibTeX here (with a .tex output, default: next to it).",
            dir_okay=False,
        ),
    ] = None,
    extractive: Annotated[
        bool, typer.Option("--extractive", help="Grouped evidence sentences per theme; no model.")
    ] = False,
    csl_style: Annotated[
        str | None,
        typer.Option(
            "--csl",
            help="The references in this CSL style: a .csl file (your journal's) or a style name "
            "(apa, ieee, nature, ...; default: LITASSIST_CSL_STYLE, apa).",
        ),
    ] = None,
    csl_json: Annotated[
        Path | None,
        typer.Option("--csl-json", help="Write the cited papers as CSL-JSON here.", dir_okay=False),
    ] = None,
    collection: _CollectionOption = None,
    tag: _TagOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checked draft as JSON.")] = False,
) -> None:
    """Draft a related-work section on TOPIC from the library: the papers that belong to it,
    grouped into themes, a paragraph per theme, every citation checked. The exit status is 1
    when the library holds nothing on the topic."""
    if output is not None and output.suffix not in (".md", ".tex"):
        raise typer.BadParameter("write a .md or a .tex file", param_hint="--output")
    library = _open()
    from assistant import csl

    style = csl.style_path(csl_style or library.settings.csl_style)  # a bad style is said before drafting
    chosen = [k.strip() for item in keys or [] for k in item.split(",") if k.strip()] or None
    abstract = own_abstract.read_text(encoding="utf-8") if own_abstract else None
    try:
        result = library.related_work(
            topic,
            keys=chosen,
            own_abstract=abstract,
            max_papers=max_papers,
            sections=section or None,
            mode="extractive" if extractive else None,
            filters=_filters(collection, tag),
        )
    except NothingToDraftError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(1) from None
    if output is not None and output.suffix == ".tex" and bib is None:
        bib = output.with_suffix(".bib")
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    elif output is None:
        err.print(_label(library, result.mode, "draft", "evidence sentences grouped by theme"))
        out.print(result.text, highlight=False, markup=False)
        if result.references:
            out.print()
            styled = result.styled_references(style)
            for reference in result.references:
                line = f"[{reference.number}] {styled[reference.paper.key]}"
                out.print(line, highlight=False, markup=False)
    if output is not None:
        if output.suffix == ".tex":
            assert bib is not None
            output.write_text(result.latex_document(bib.stem), encoding="utf-8")
        else:
            named = csl.beside(style, output.parent) if bib else ""
            header = f"---\nbibliography: {bib.name}\ncsl: {named}\n---\n\n" if bib else ""
            output.write_text(header + result.markdown + "\n", encoding="utf-8")
        err.print(f"wrote {output} ({_count(len(result.cited_keys), 'paper')} cited, {result.mode})")
    if bib is not None:
        bib.write_text(result.bibtex, encoding="utf-8")
        err.print(f"wrote {bib} ({_count(len(result.cited_keys), 'entry', 'entries')})")
    if csl_json is not None:
        csl_json.write_text(result.csl_json, encoding="utf-8")
        err.print(f"wrote {csl_json} ({_count(len(result.cited_keys), 'CSL-JSON item')})")
    for note in result.notes:
        err.print(f"[yellow]{escape(note)}[/yellow]")
    _warn(bool(result.cited_keys), result.sentences, result.dropped_citations, "draft")


def _count(n: int, one: str, many: str | None = None) -> str:
    """'1 entry', '3 entries'."""
    return f"{n} {one if n == 1 else many or one + 's'}"


@app.command()
def table(
    topic: Annotated[
        str | None, typer.Argument(help="What the table compares (omit it with --keys).", show_default=False)
    ] = None,
    keys: Annotated[
        list[str] | None,
        typer.Option("--keys", help="Compare exactly these papers (repeat it, or comma-separate)."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="A column of your own beside task, dataset, metric and value, filled per paper from "
            'its passages (repeat it): "backbone", "training data", "parameters".',
        ),
    ] = None,
    max_papers: Annotated[
        int,
        typer.Option(
            "--max-papers",
            help="At most this many papers with results (a paper without one takes no place; "
            "at most twice as many are read).",
            min=1,
        ),
    ] = 12,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the table to a .md file (pandoc citations: \\[@key]), a .csv file, or a .tex file "
            "(a tabular citing with \\cite{key}, with the cited papers' BibTeX next to it).",
            dir_okay=False,
        ),
    ] = None,
    extractive: Annotated[
        bool, typer.Option("--extractive", help="Read result sentences with patterns; no model.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the table, every cell with its source, as JSON.")
    ] = False,
) -> None:
    """A comparison table across papers: one row per result a paper reports (task, dataset,
    metric, value), every cell read from a sentence of the paper and checked against it; a cell
    nothing supports stays empty. The exit status is 1 when the library holds nothing on TOPIC."""
    if output is not None and output.suffix not in (".md", ".csv", ".tex"):
        raise typer.BadParameter("write a .md, a .csv or a .tex file", param_hint="--output")
    chosen = [k.strip() for item in keys or [] for k in item.split(",") if k.strip()]
    if not chosen and not (topic or "").strip():
        raise typer.BadParameter("give a topic, or the papers' keys with --keys", param_hint="TOPIC")
    library = _open()
    try:
        result = library.compare(
            chosen or (topic or ""),
            columns=column or None,
            max_papers=max_papers,
            mode="extractive" if extractive else None,
        )
    except NothingToDraftError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    elif output is None:
        err.print(_label(library, result.mode, "table", "result sentences read with patterns"))
        shown = Table(*["paper", *result.columns], show_lines=False)
        for row in result.rows:
            shown.add_row(row.key, *[escape(row.value(c) or "–") for c in result.columns])
        out.print(shown)
    if output is not None:
        if output.suffix == ".csv":
            output.write_text(result.csv, encoding="utf-8")
        elif output.suffix == ".tex":
            bib = output.with_suffix(".bib")
            output.write_text(result.latex + "\n", encoding="utf-8")
            bib.write_text(result.bibtex, encoding="utf-8")
            err.print(f"wrote {bib} ({_count(len(result.cited_keys), 'entry', 'entries')})")
        else:
            output.write_text(result.markdown + "\n", encoding="utf-8")
        err.print(
            f"wrote {output} ({_count(len(result.rows), 'row')}, {_count(len(result.cited_keys), 'paper')}, "
            f"{result.mode})"
        )
    for note in result.notes:
        err.print(f"[yellow]{escape(note)}[/yellow]")
    for dropped in result.dropped:
        err.print(
            f"[yellow]dropped {dropped.key} {dropped.column} {escape(dropped.value)!r}: "
            f"{escape(dropped.reason)}[/yellow]"
        )


eval_app = typer.Typer(
    help="Measure the assistant on your own library against gold papers (formats: README, 'Evaluation').",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(eval_app, name="eval")

_DataFile = Annotated[
    Path, typer.Argument(help="A JSON Lines file (one question or topic per line).", dir_okay=False)
]
_PapersOption = Annotated[
    Path | None,
    typer.Option(
        "--papers",
        help="A JSON Lines file naming gold papers (slug/id/name -> key, title, abstract or abstract_start); "
        "default: papers_index.jsonl beside the data file.",
        exists=True,
        dir_okay=False,
    ),
]
_JsonOption = Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")]
_HtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--html", help="Write the report with every question's details to this HTML file.", dir_okay=False
    ),
]
_ExtractiveOption = Annotated[
    bool, typer.Option("--extractive", help="Evaluate the extractive mode even when a model is configured.")
]


@eval_app.command("retrieval")
def eval_retrieval(
    questions: _DataFile,
    k: Annotated[int, typer.Option("--k", "-k", help="Recall is counted in the first K papers.", min=1)] = 5,
    papers: _PapersOption = None,
    as_json: _JsonOption = False,
    html: _HtmlOption = None,
) -> None:
    """Recall@K, MRR@10, nDCG@10 per retriever and question type; refusals.

    Paper-level Recall@K, MRR@10 and nDCG@10 per question type for the hybrid, dense and
    lexical retrievers, and the refusal rate on questions no paper answers (empty gold) and
    false refusals on the rest."""
    from assistant import evaluation

    library = _open()
    with _progress("searching") as step:
        report = evaluation.evaluate_retrieval(library, questions, k=k, papers=papers, progress=step)
    _show_report(report, as_json, html)


@eval_app.command("answers")
def eval_answers(
    questions: _DataFile,
    k: Annotated[int, typer.Option("--k", "-k", help="How many papers each answer reads.", min=1)] = 5,
    extractive: _ExtractiveOption = False,
    stream: Annotated[
        bool, typer.Option("--stream", help="Stream each answer, as the chat does, and time its first text.")
    ] = False,
    papers: _PapersOption = None,
    as_json: _JsonOption = False,
    html: _HtmlOption = None,
) -> None:
    """Ask every question and check the answers' citations against the gold papers.

    Every question is asked as `litassist ask` would (with the configured model, or
    extractively); the report gives refusals, citation validity, the share of sentences cited
    (by the writer, and attributed by the code), support scores, numbers in no cited passage,
    and the gold papers cited."""
    from assistant import evaluation

    library = _open()
    mode: Literal["extractive"] | None = "extractive" if extractive else None
    with _progress("answering") as step:
        report = evaluation.evaluate_answers(
            library, questions, k=k, mode=mode, stream=stream, papers=papers, progress=step
        )
    _show_report(report, as_json, html)


@eval_app.command("drafts")
def eval_drafts(
    topics: _DataFile,
    max_papers: Annotated[
        int, typer.Option("--max-papers", help="At most this many papers a draft.", min=1)
    ] = 20,
    extractive: _ExtractiveOption = False,
    papers: _PapersOption = None,
    as_json: _JsonOption = False,
    html: _HtmlOption = None,
) -> None:
    """Draft every topic and compare the cited papers with its gold set.

    Recall and precision of the cited papers against the topic's gold set (and recall of its
    core papers), with the same citation checks as answers."""
    from assistant import evaluation

    library = _open()
    with _progress("drafting") as step:
        report = evaluation.evaluate_drafts(
            library,
            topics,
            mode="extractive" if extractive else None,
            max_papers=max_papers,
            papers=papers,
            progress=step,
        )
    _show_report(report, as_json, html)


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr when it is a terminal; the report goes to stdout."""
    if not err.is_terminal:
        yield lambda done, total: None
        return
    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _show_report(report: Report, as_json: bool, html: Path | None) -> None:
    from assistant.evaluation import RetrievalReport
    from assistant.evaluation import report as render

    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        if not isinstance(report, RetrievalReport):
            err.print(f"mode: [bold]{report.mode}[/bold] ({report.writer})")
        for table in render.tables(report):
            out.print(table)
        for note in render.notes(report):
            err.print(f"[yellow]{escape(note)}[/yellow]")
    if html is not None:
        html.write_text(render.html(report), encoding="utf-8")
        err.print(f"wrote {html}")


@app.command()
def ui(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default 127.0.0.1: this machine only).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    auth: Annotated[
        str | None,
        typer.Option(help="USER:PASS that the browser must give (use it when binding beyond loopback)."),
    ] = None,
    share: Annotated[
        bool, typer.Option("--share", help="Also open a public gradio.live link (needs the internet).")
    ] = False,
    sample_corpus: Annotated[
        bool,
        typer.Option(
            "--sample-corpus",
            help="When the library is empty, fill it with the sample corpus (250 ACL papers) in "
            "the background while the UI answers: abstracts first, then full texts.",
        ),
    ] = False,
) -> None:
    """Open the chat UI in the browser: chat with sources, the library, drafts, settings."""
    from ui.app import launch

    credentials = None
    if auth is not None:
        user, colon, password = auth.partition(":")
        if not (user and colon and password):
            raise typer.BadParameter("give it as USER:PASS", param_hint="--auth")
        credentials = (user, password)
    library = _open()
    fill = _sample_fill(library) if sample_corpus else None
    bind = host or library.settings.ui.host
    if not _is_loopback(bind) and credentials is None:
        err.print(f"[yellow]warning: {bind} is reachable from other machines and --auth is not set[/yellow]")
    err.print(f"litassist UI at http://{bind}:{port or library.settings.ui.port} (Ctrl-C stops it)")
    try:
        launch(library, host=bind, port=port, auth=credentials, share=share, fill=fill)
    finally:
        if fill is not None and fill.state().filling:
            err.print("stopping the sample fill (it resumes on the next start) …")
            fill.stop()


def _is_loopback(host: str) -> bool:
    """Whether an address to bind is reachable from this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _sample_fill(library: Library) -> SampleFill | None:
    """The 250 ACL papers (S2ORC JSON with full text) of the ``aclsum`` package, filled in the
    background into a library that is empty or holds only part of them (a fill that was
    interrupted resumes): abstracts first, then full texts. A library with papers of its own
    is left alone (None)."""
    from assistant.sample import SampleFill

    fill = SampleFill(library)
    if not fill.start():
        return None
    state = fill.state()
    err.print(
        f"The library holds {state.abstracts} of the {state.total} sample papers ({state.full} with "
        "their full text): filling it in the background, abstracts first, then full texts; the UI "
        "answers meanwhile (the banner shows how far it is)."
    )
    return fill


@app.command("serve-local")
def serve_local(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    model: Annotated[
        str | None,
        typer.Option(
            help="qwen2.5-coder-1.5b (worth answering with; `make local-qwen` installs it), "
            "smollm2-135m (the default: small, for trying things out), or a GGUF file."
        ),
    ] = None,
    context: Annotated[int, typer.Option(help="Context window in tokens.")] = 4096,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for writing (default: half the cores).", min=1)
    ] = None,
) -> None:
    """Run llama.cpp's OpenAI-compatible server on this machine, for offline answers.

    Then, in another shell, with the model name it prints:
    `LITASSIST_LLM__BASE_URL=http://127.0.0.1:8080/v1 LITASSIST_LLM__MODEL=NAME litassist ask "..."`
    """
    import os

    from assistant.local_server import resolve, server_command

    settings = Settings()
    with Progress(
        TextColumn("assembling the model"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task("model", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done // 2**20, total=total // 2**20)

        path, alias = resolve(model, settings.local.models, progress)
    command = server_command(model=path, alias=alias, host=host, port=port, context=context, threads=threads)
    err.print(
        f"serving {alias} ({path}) at http://{host}:{port}/v1 (Ctrl-C stops it); point litassist at it with\n"
        f"  LITASSIST_LLM__BASE_URL=http://{host}:{port}/v1 LITASSIST_LLM__MODEL={alias}",
        highlight=False,
        soft_wrap=True,
    )
    sys.stdout.flush()
    os.execv(command[0], command)


@app.command()
def examples(
    folder: Annotated[Path, typer.Argument(help="Where to copy them (created when missing).")] = Path(
        "examples"
    ),
) -> None:
    """Copy the example files (18 papers in every format read, a gold file) into FOLDER.

    PDFs, a .bib file, a Zotero data directory, a web page, arXiv and Hugging Face listings and
    evaluation questions: the files the README's commands run on. No file is overwritten."""
    from assistant.examples import copy_examples

    written = copy_examples(folder)
    if not written:
        err.print(f"the example files are already in {folder}", highlight=False)
        return
    err.print(f"wrote {len(written)} example files to {folder} (see {folder / 'README.md'})", highlight=False)
    for path in written:
        out.print(str(path), highlight=False, soft_wrap=True)


def main() -> None:
    try:
        app()
    except LitassistError as e:
        err.print(f"[red]error:[/red] {e}")
        sys.exit(2)
    except ValidationError as e:  # a setting from the environment or .env that does not parse
        for problem in e.errors():
            name = "LITASSIST_" + "__".join(str(part) for part in problem["loc"]).upper()
            err.print(f"[red]invalid setting {name}:[/red] {escape(problem['msg'])}", highlight=False)
        sys.exit(2)
    except Exception as e:  # no stack trace for users; -vv logs it
        logging.getLogger("litassist").debug("unexpected error", exc_info=True)
        from store.chroma import unreachable

        if unreachable(e):  # a Chroma server that went away while the command ran
            conf = Settings().chroma
            err.print(
                f"[red]error:[/red] the Chroma server at {conf.host}:{conf.port} stopped answering "
                f"({type(e).__name__}: {escape(str(e))}); start it again (`chroma run`) and run the "
                "command again"
            )
            sys.exit(2)
        err.print(f"[red]unexpected error:[/red] {type(e).__name__}: {e} (run with -vv for details)")
        sys.exit(2)


if __name__ == "__main__":
    main()
