"""The Tables tab: topic → a comparison table, a card per filled cell (its sentence marked in
its passage), and the .md / .csv / .tex / .bib files to download. Kept apart from ``ui.app``
and ``ui.handlers``: the handler and its pure render helpers live here."""

from __future__ import annotations

import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant import LitassistError, LLMSettings, Table
from ui import render
from ui.handlers import Handlers

log = logging.getLogger(__name__)

SUFFIXES = (".md", ".csv", ".tex", ".bib")


@dataclass(frozen=True)
class TableView:
    text: str  # markdown: the label, the table, its notes
    cells: str  # HTML: a card per filled cell
    files: tuple[Path, ...] | None  # the downloads, in SUFFIXES order


def columns_of(text: str) -> list[str]:
    """User columns typed as "backbone, training data"."""
    return [c.strip() for c in text.split(",") if c.strip()]


def cells_html(table: Table) -> str:
    """A card per filled cell: the row's paper, the column and value, the sentence it was read
    from marked in its passage."""
    if not table.cells:
        return '<div class="sources-empty">No cell: nothing in the passages supports one.</div>'
    cards = []
    for number, (row, column, cell) in enumerate(table.cells, 1):
        passage = html.escape(cell.passage)
        sentence = html.escape(cell.sentence)
        marked = passage.replace(sentence, f"<mark>{sentence}</mark>", 1)
        cards.append(
            f'<div class="source-card cell-card" data-key="{html.escape(row.key)}" '
            f'data-column="{html.escape(column)}" data-value="{html.escape(cell.value)}">'
            f'<div><span class="source-number">{number}</span> '
            f'<span class="source-title">{html.escape(column)}: {html.escape(cell.value)}</span></div>'
            f'<div class="source-meta">[@{html.escape(row.key)}]</div>'
            f'<div class="source-passage">{marked}</div></div>'
        )
    return '<div class="sources">' + "".join(cards) + "</div>"


def table_markdown(table: Table, label: str) -> str:
    parts = [f"*{label}*", table.markdown if table.rows else "No row: no passage reports a result."]
    empty = sum(1 for r in table.rows for c in r.cells.values() if c is None)
    if empty:
        parts.append(f"*{empty} cells empty (–): nothing in the paper supports them.*")
    if table.dropped:
        dropped = "; ".join(f"{d.key} {d.column} {d.value!r}: {d.reason}" for d in table.dropped)
        parts.append(f"*Dropped (not in their passages): {dropped}*")
    parts += [f"*{n}*" for n in table.notes]
    return "\n\n".join(parts)


def table_files(table: Table, folder: Path) -> tuple[Path, ...]:
    paths = tuple(folder / f"table{suffix}" for suffix in SUFFIXES)
    for path, text in zip(paths, (table.markdown, table.csv, table.latex, table.bibtex), strict=True):
        path.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return paths


def compare(
    handlers: Handlers, topic: str, columns: str, extractive: bool, llm: LLMSettings | None
) -> TableView:
    """The Tables tab's one action, for this session's endpoint (or extractively)."""
    topic = topic.strip()
    if not topic:
        return TableView("Give a topic: what the table compares.", "", None)
    try:
        library, mode = handlers.session_library(llm)
        table = library.compare(topic, columns=columns_of(columns), mode="extractive" if extractive else mode)
    except Exception as error:
        if not isinstance(error, LitassistError):
            log.exception("the table failed")
        return TableView(render.error_message(error), "", None)
    chat = library.chat
    label = (
        f"table by {chat.model}" if table.mode == "llm" and chat else "extractive table (no language model)"
    )
    folder = Path(tempfile.mkdtemp(dir=handlers._downloads))
    return TableView(table_markdown(table, label), cells_html(table), table_files(table, folder))
