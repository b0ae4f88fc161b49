"""PDF papers with pypdf: full text by page, title and authors from metadata or the first page.

When the PDF metadata has no title (LaTeX output usually has none), the title is the first run
of type clearly larger than the body text on the first page, and the authors are the run of text
set right after it, split at footnote markers and commas, up to the affiliations. pypdf has no
layout analysis of its own, so this first-page heuristic is written here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from store.errors import ReadError
from store.paper import ARXIV_ID, Document, Paper, Section
from store.readers import ReadResult

log = logging.getLogger(__name__)

_ARXIV = re.compile(r"arXiv:\s?" + ARXIV_ID, re.IGNORECASE)
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;)])")
_JUNK_TITLE = re.compile(
    r"^(untitled|microsoft word|slide \d|title|document\d*)\b|\.(docx?|tex|dvi)$", re.IGNORECASE
)
_ABSTRACT_HEAD = re.compile(
    r"^\s*(abstract|a b s t r a c t|summary)\b\s*[.:—–-]?\s*", re.IGNORECASE | re.MULTILINE
)
_ABSTRACT_END = re.compile(
    r"^\s*(?:(?:1|I)\.?\s+introduction|introduction|keywords?\b|index terms\b|∗|\*\s*equal contribution)",
    re.IGNORECASE | re.MULTILINE,
)
_REFERENCES = re.compile(r"^\s*(references|bibliography|literature cited)\s*$", re.IGNORECASE | re.MULTILINE)
_AFFILIATION = re.compile(
    r"universit|institut|department|dept\.|school|college|laborator|\blabs?\b|research|"
    r"\binc\b|corporation|\bcorp\b|academy|hospital|centre|center|@|e-?mail|abstract",
    re.IGNORECASE,
)
_MARKER = re.compile(r"^[\W\d_]{1,6}$")  # footnote marks: †, ‡, ∗, 1, ",", "∗,‡"
_NAME_WORD = re.compile(r"^(?:[A-Z][\w'’.-]*|[a-z]{1,3}|[A-Z]\.)$")  # "Geemi", "P.", "van", "de"
_MIN_CHARS_PER_PAGE = 40


@dataclass
class _Fragment:
    text: str
    size: float


def read(path: Path) -> ReadResult:
    reader = _open(path)
    try:
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as e:
        raise ReadError(f"corrupt PDF: text extraction failed ({e})") from e
    if sum(len(p.strip()) for p in pages) < _MIN_CHARS_PER_PAGE * max(1, min(len(pages), 3)):
        raise ReadError("no text layer (an image-only or scanned PDF); run OCR on it first")
    first = pages[0] if pages else ""
    paper = Paper()
    _from_metadata(reader, paper)
    if not paper.title or not paper.authors:
        title, authors = _first_page_header(reader)
        paper.title = paper.title or title
        paper.authors = paper.authors or authors
    head_text = "\n".join(pages[:2])
    if match := _ARXIV.search(head_text):
        paper.arxiv_id = match.group(1)
        paper.year = 2000 + int(paper.arxiv_id[:2])
        paper.url = f"https://arxiv.org/abs/{paper.arxiv_id}"
    if match := _DOI.search(first):
        paper.doi = match.group(1)
    if paper.year is None:
        paper.year = _metadata_year(reader)
    abstract, abstract_end = _abstract(first)
    paper.abstract = abstract
    return ReadResult([Document(paper, str(path), _sections(pages, abstract_end))])


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                reader.decrypt("")
                _ = len(reader.pages)
                reader.pages[0].extract_text()
            except (FileNotDecryptedError, PdfReadError, NotImplementedError, DependencyError) as e:
                raise ReadError("encrypted PDF (needs a password); save an unlocked copy") from e
        if len(reader.pages) == 0:
            raise ReadError("the PDF has no pages")
        return reader
    except ReadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise ReadError(f"corrupt or unreadable PDF ({e})") from e


def _from_metadata(reader: PdfReader, paper: Paper) -> None:
    try:
        meta = reader.metadata
    except (PyPdfError, ValueError, KeyError, TypeError):
        return
    if meta is None:
        return
    title = " ".join(str(meta.title or "").split())
    if len(title) > 8 and not _JUNK_TITLE.search(title):
        paper.title = title
    author = " ".join(str(meta.author or "").split())
    if author and not _AFFILIATION.search(author):
        paper.authors = [a.strip() for a in re.split(r";|,| and ", author) if a.strip()]


def _metadata_year(reader: PdfReader) -> int | None:
    try:
        meta = reader.metadata
        created = meta.creation_date if meta is not None else None
    except (PyPdfError, ValueError, KeyError, TypeError):
        return None
    return created.year if created is not None else None


def _first_page_header(reader: PdfReader) -> tuple[str | None, list[str]]:
    """Title (the first run of type clearly larger than the body text on page 1) and the author
    names set after it."""
    fragments: list[_Fragment] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        scale = abs(tm[3] * cm[3]) if tm and cm else 1.0
        if text.strip() and size:
            fragments.append(_Fragment(text, round(size * scale, 1)))

    try:
        reader.pages[0].extract_text(visitor_text=visit)
    except (PyPdfError, ValueError, KeyError, TypeError):
        return None, []
    # the title: the first run of type clearly larger than the body text, as read from the top
    # (not simply the largest: a logo or a figure label can be larger)
    weights: dict[float, int] = {}
    for f in fragments:
        weights[f.size] = weights.get(f.size, 0) + len(f.text)
    if not weights:
        return None, []
    body = max(weights, key=lambda size: weights[size])
    start = next(
        (
            i
            for i, f in enumerate(fragments[:80])
            if f.size >= 1.15 * body and len(f.text.split()) >= 2 and not _ARXIV.search(f.text)
        ),
        None,
    )
    if start is None:
        return None, []
    top = fragments[start].size
    end = start
    while end < len(fragments) and abs(fragments[end].size - top) < 0.2:
        end += 1
    title = " ".join("".join(f.text for f in fragments[start:end]).split())
    if len(title) < 8 or _ARXIV.search(title):
        return None, []
    return title, _authors(fragments[end:])


def _authors(fragments: list[_Fragment]) -> list[str]:
    size: float | None = None
    pieces: list[str] = []
    for fragment in fragments:
        text = fragment.text
        if _MARKER.match(text.strip()):
            pieces.append("|")  # footnote marks separate names
            continue
        if size is None:
            size = fragment.size
        if abs(fragment.size - size) > 0.2 or _AFFILIATION.search(text):
            break
        pieces.append(text)
    joined = "".join(pieces)
    names = []
    for part in re.split(r"\||,|\band\b|&|;", joined):
        name = " ".join(part.replace("∗", "").replace("*", "").split())
        words = name.split()
        if 2 <= len(words) <= 5 and all(_NAME_WORD.match(w) for w in words):
            names.append(name)
    return names


def _abstract(first_page: str) -> tuple[str | None, int]:
    """The abstract printed on page 1, and where it ends (0 when none is found)."""
    head = _ABSTRACT_HEAD.search(first_page)
    if head is None:
        return None, 0
    end = _ABSTRACT_END.search(first_page, head.end())
    stop = end.start() if end else min(len(first_page), head.end() + 3000)
    text = _join_lines(first_page[head.end() : stop])
    if len(text) < 100:
        return None, 0
    return text, stop


def _join_lines(text: str) -> str:
    """Undo line breaks and hyphenation at line ends ('solubil-\\nity' -> 'solubility')."""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    return " ".join(text.split())


def _sections(pages: list[str], abstract_end: int) -> list[Section]:
    sections: list[Section] = []
    in_references = False
    for number, text in enumerate(pages, start=1):
        if number == 1 and abstract_end:
            text = text[abstract_end:]
        if not in_references and (match := _REFERENCES.search(text)):
            before, text = text[: match.start()], text[match.end() :]
            if before.strip():
                sections.append(Section(_join_lines(before), page=number))
            in_references = True
        if text.strip():
            sections.append(
                Section(_join_lines(text), page=number, heading="References" if in_references else None)
            )
    return sections
