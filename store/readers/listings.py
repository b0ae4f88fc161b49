"""Text files: scraped paper listings (many papers in one file) or one paper as plain text.

Three listing shapes are recognised (the seeds show all of them):

* **abstract lines** — every paper is one line ``Abstract:<text>``; no titles or ids.
* **arXiv listings** — an ``arXiv:ID`` line *closes the previous* abstract. What follows the id on
  the same line is either glued to it (``arXiv:2410.20717Recently, ...``: the next paper's
  abstract starts there) or, after a space, the closed paper's metadata (``- doi: ... comment``).
  A ``Created: YYYY-MM-DD`` line dates the paper just closed; short lines before the id are its
  comments ("Accepted by ECCV2024", a code URL).
* **Hugging Face Daily Papers** — paragraphs ``title``, ``abstract``, then ``• N authors``, ``·``,
  a date (``Jan 19, 2018``, or ``Jan 14`` in the current year), sometimes an upvote count after it.

Anything else is one paper: a first short line is its title, the rest its text.
No library parses these scraped pages, so the parsing here is written by hand.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from store.errors import ReadError
from store.paper import ARXIV_ID, Document, Paper, Section
from store.readers import ReadResult, read_text

_ABSTRACT_LINE = re.compile(r"^Abstract:\s*(.+)$")
_ARXIV_LINE = re.compile(r"^arXiv:" + ARXIV_ID + r"(.*)$")
_CREATED_LINE = re.compile(r"^Created:\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_HF_AUTHORS = re.compile(r"^\s*•\s*(\d+)\s+authors?\s*$")
_HF_DATE = re.compile(r"^([A-Z][a-z]{2}) (\d{1,2})(?:, (\d{4}))?(?: (\d+))?$")
_DOI = re.compile(r"\bdoi:\s*(10\.\d{4,9}/\S+)", re.IGNORECASE)
_LONG_LINE = 200  # characters: shorter lines in a listing are comments, not abstracts


def read(path: Path) -> ReadResult:
    text = read_text(path)
    if not text.strip():
        raise ReadError("the file is empty")
    _reject_binary(text)
    origin = str(path)
    lines = text.splitlines()
    if any(_ABSTRACT_LINE.match(line) for line in lines):
        documents = _abstract_lines(lines, origin)
    elif any(_HF_AUTHORS.match(line) for line in lines):
        documents = _hugging_face(text, origin)
    elif any(_ARXIV_LINE.match(line.strip()) for line in lines):
        documents = _arxiv_listing(lines, origin)
    else:
        documents = [plain_text(text, origin)]
    if not documents:
        raise ReadError("no paper found in the listing")
    return ReadResult(documents)


def plain_text(text: str, origin: str, title: str | None = None) -> Document:
    """One paper as plain text: a short first line is its title."""
    stripped = text.strip()
    first, _, rest = stripped.partition("\n")
    if title is None and rest.strip() and len(first) <= 250 and not first.rstrip().endswith("."):
        title, stripped = first.strip().lstrip("#").strip(), rest.strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", stripped) if p.strip()]
    sections = [Section(text=" ".join(p.split())) for p in paragraphs]
    return Document(Paper(title=title or None), origin, sections)


def _reject_binary(text: str) -> None:
    sample = text[:4096]
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in sample)
    if printable < 0.9 * len(sample):
        raise ReadError("binary content; not a text file")


def _abstract_lines(lines: list[str], origin: str) -> list[Document]:
    documents: list[Document] = []
    for line in lines:
        match = _ABSTRACT_LINE.match(line.strip())
        if match:
            n = len(documents) + 1
            documents.append(Document(Paper(abstract=match.group(1).strip()), f"{origin}#{n}"))
    return documents


def _arxiv_listing(lines: list[str], origin: str) -> list[Document]:
    documents: list[Document] = []
    open_paper: Paper | None = None  # the abstract read but not yet closed by its id
    notes: list[str] = []

    def close(arxiv_id: str | None) -> Paper | None:
        nonlocal open_paper, notes
        paper = open_paper
        if paper is not None:
            paper.arxiv_id = arxiv_id
            if arxiv_id:
                paper.year = 2000 + int(arxiv_id[:2])
                paper.url = f"https://arxiv.org/abs/{arxiv_id}"
            paper.note = " | ".join(notes) or None
            documents.append(Document(paper, f"{origin}#{len(documents) + 1}"))
        open_paper, notes = None, []
        return paper

    closed: Paper | None = None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if match := _ARXIV_LINE.match(line):
            arxiv_id, rest = match.groups()
            closed = close(arxiv_id)
            if rest and not rest[0].isspace():  # glued: the next abstract starts here
                open_paper = Paper(abstract=rest.strip())
            elif closed is not None and rest.strip():
                _arxiv_line_metadata(closed, rest.strip())
        elif match := _CREATED_LINE.match(line):
            if closed is not None:
                year, month, day = match.groups()
                closed.date, closed.year = f"{year}-{month}-{day}", int(year)
        elif len(line) >= _LONG_LINE:
            if open_paper is not None:
                close(None)
            open_paper = Paper(abstract=line)
        elif open_paper is not None:
            notes.append(line)
    close(None)
    return documents


def _arxiv_line_metadata(paper: Paper, rest: str) -> None:
    rest = rest.lstrip("- ").strip()
    if match := _DOI.search(rest):
        paper.doi = match.group(1).rstrip(".,;")
        rest = (rest[: match.start()] + rest[match.end() :]).strip(" -")
    if rest:
        paper.note = f"{paper.note} | {rest}" if paper.note else rest


def _hugging_face(text: str, origin: str) -> list[Document]:
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    documents: list[Document] = []
    for i, paragraph in enumerate(paragraphs):
        lines = paragraph.splitlines()
        match = _HF_AUTHORS.match(lines[0])
        if not match or i < 2:
            continue
        title, abstract = paragraphs[i - 2].strip(), paragraphs[i - 1].strip()
        paper = Paper(
            title=" ".join(title.split()),
            abstract=" ".join(abstract.split()),
            author_count=int(match.group(1)),
        )
        date_line = next((ln.strip() for ln in lines[1:] if _HF_DATE.match(ln.strip())), None)
        if date_line:
            _hf_date(paper, date_line)
        documents.append(Document(paper, f"{origin}#{len(documents) + 1}"))
    return documents


def _hf_date(paper: Paper, line: str) -> None:
    match = _HF_DATE.match(line)
    assert match is not None
    month, day, year, upvotes = match.groups()
    if year:
        parsed = datetime.strptime(f"{month} {day} {year}", "%b %d %Y")
        paper.date, paper.year = parsed.date().isoformat(), parsed.year
    else:  # the page omits the year for the current one; keep what it shows
        paper.date = f"{month} {day}"
    if upvotes:
        paper.note = f"{upvotes} upvotes"
