"""The ``litassist`` command line. Progress bars and colours live here, not in the library."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.errors import LitassistError
from assistant.settings import Settings

if TYPE_CHECKING:  # imported when a command runs, so that `--help` answers at once
    from assistant.library import Library
    from store.ingest import IngestEvent, IngestReport
    from store.paper import Paper

app = typer.Typer(
    help="litassist: a literature assistant over your own papers (PDF, BibTeX, listings, web pages).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


def _open() -> Library:
    from assistant.library import Library

    return Library(_state.library, settings=Settings())


def _paper_json(paper: Paper) -> dict[str, Any]:
    return paper.model_dump(mode="json")


@app.command()
def add(
    paths: Annotated[
        list[Path], typer.Argument(help="Files and folders (walked recursively).", exists=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Add papers from PDFs, BibTeX, text listings, HTML/Markdown pages and S2ORC JSON."""
    library = _open()
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        err.print(f"[red]no such file or folder:[/red] {path}")
    paths = [p for p in paths if p.exists()]
    report = _add_with_progress(library, paths, show=not as_json and err.is_terminal)
    if as_json:
        data = report.to_dict()
        data["failed"] += [
            {"source": str(p), "reason": "no such file or folder", "key": None} for p in missing
        ]
        out.print_json(json.dumps(data))
    else:
        _print_report(report, library)
    if missing or not report.ok:
        raise typer.Exit(1)


def _add_with_progress(library: Library, paths: list[Path], *, show: bool) -> IngestReport:
    log = logging.getLogger("litassist.add")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
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

        return library.add(paths, progress=progress)


def _print_report(report: IngestReport, library: Library) -> None:
    table = Table(title=f"Ingest into {library.path}", show_lines=False)
    table.add_column("result")
    table.add_column("key / source", overflow="fold")
    table.add_column("title / reason", overflow="fold")
    for paper in report.added:
        table.add_row("[green]added[/green]", paper.key, paper.label)
    for outcome in report.skipped:
        table.add_row("[yellow]skipped[/yellow]", outcome.source, outcome.reason)
    for outcome in report.failed:
        table.add_row("[red]failed[/red]", outcome.source, outcome.reason)
    if report.added or report.skipped or report.failed:
        out.print(table)
    out.print(
        f"{len(report.added)} added, {len(report.skipped)} skipped, {len(report.failed)} failed; "
        f"{len(library.papers())} papers in the library."
    )


@app.command()
def papers(
    as_json: Annotated[bool, typer.Option("--json", help="Print the papers as JSON.")] = False,
) -> None:
    """List the papers in the library."""
    library = _open()
    items = library.papers()
    if as_json:
        out.print_json(json.dumps([_paper_json(p) for p in items]))
        return
    table = Table(title=f"{len(items)} papers in {library.path}")
    for column in ("key", "title", "authors", "year", "sources"):
        table.add_column(column, overflow="fold")
    for paper in items:
        authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
        if not authors and paper.author_count:
            authors = f"{paper.author_count} authors"
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


def main() -> None:
    try:
        app()
    except LitassistError as e:
        err.print(f"[red]error:[/red] {e}")
        sys.exit(2)
    except Exception as e:  # no stack trace for users; -vv logs it
        logging.getLogger("litassist").debug("unexpected error", exc_info=True)
        err.print(f"[red]unexpected error:[/red] {type(e).__name__}: {e} (run with -vv for details)")
        sys.exit(2)


if __name__ == "__main__":
    main()
