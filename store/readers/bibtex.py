"""BibTeX files with bibtexparser: one paper per entry, keeping the user's own citation key,
entry type and every field as written (``Paper.bibtex``): an export reproduces the entry.

An entry's ``file`` field (JabRef/Zotero ``desc:path:type`` lists, or a plain path) pointing at a
PDF brings in that PDF's full text. Malformed and duplicate entries are reported; the rest read.
"""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
from bibtexparser import middlewares
from bibtexparser.model import Entry

from store.errors import ReadError
from store.paper import ARXIV_ID, Document, Paper
from store.readers import ReadResult, pdf, read_text

_ARXIV = re.compile(ARXIV_ID)
_KEY_IN_BLOCK = re.compile(r"@\w+\s*[{(]\s*([^,\s]+)\s*,")


def read(path: Path) -> ReadResult:
    text = read_text(path)
    # the fields as written (delimiters kept, @string macros resolved) for the round trip ...
    library = bibtexparser.parse_string(
        text, parse_stack=[middlewares.ResolveStringReferencesMiddleware(allow_inplace_modification=True)]
    )
    written = {entry.key: [(f.key, str(f.value)) for f in entry.fields] for entry in library.entries}
    # ... then as text for the library
    for middleware in (
        middlewares.RemoveEnclosingMiddleware(allow_inplace_modification=True),
        _LatexDecoding(),
        middlewares.SeparateCoAuthors(),
        middlewares.SplitNameParts(),
    ):
        library = middleware.transform(library)
    result = ReadResult()
    source = str(path.resolve())
    for block in library.failed_blocks:
        key = _KEY_IN_BLOCK.search(block.raw or "")
        line = (block.start_line or 0) + 1
        where = f"{path}#{key.group(1)}" if key else f"{path}:{line}"
        kind = "duplicate entry key" if "Duplicate" in type(block).__name__ else "malformed entry"
        result.problems.append((where, f"{kind} at line {line}; entry skipped"))
    for entry in library.entries:
        origin = f"{path}#{entry.key}"
        try:
            document = _document(entry, path, origin)
        except ReadError as e:
            result.problems.append((origin, str(e)))
            continue
        document.paper.entry_type = entry.entry_type.lower()
        document.paper.bibtex = written.get(entry.key, [])
        document.paper.origins = [f"{source}#{entry.key}"]
        result.documents.append(document)
        try:
            _attach_full_text(document, entry, path)
        except ReadError as e:  # the entry's metadata still goes in
            result.problems.append((origin, f"attached PDF not read: {e}"))
    if not result.documents and not result.problems:
        raise ReadError("no BibTeX entries found")
    return result


_LATEX_MARKUP = re.compile(r"[\\{}$~]|--|``|''")


class _LatexDecoding(middlewares.LatexDecodingMiddleware):
    """bibtexparser's LaTeX decoding, for the values that hold LaTeX only: decoding costs ~40 ms a
    value (pylatexenc's tokenizer), minutes for a .bib of thousands of plain abstracts, and plain
    text has nothing to decode (a ``%`` in it is a percent sign, not a comment)."""

    def _transform_python_value_string(self, python_string: str) -> tuple[str, str]:
        if not _LATEX_MARKUP.search(python_string):
            return python_string, ""
        return super()._transform_python_value_string(python_string)


def _field(entry: Entry, name: str) -> str | None:
    value = entry.fields_dict.get(name)
    if value is None:
        for key, field in entry.fields_dict.items():  # field names are case-insensitive
            if key.lower() == name:
                value = field
                break
    if value is None or not isinstance(value.value, str):
        return None
    text = " ".join(value.value.replace("{", "").replace("}", "").split())
    return text or None


def _names(entry: Entry) -> list[str]:
    field = entry.fields_dict.get("author") or entry.fields_dict.get("editor")
    if field is None or isinstance(field.value, str):
        return []
    names = []
    for parts in field.value:
        name = " ".join([*parts.first, *parts.von, *parts.last, *parts.jr])
        name = " ".join(name.replace("{", "").replace("}", "").split())
        if name and name.lower() != "others":
            names.append(name)
    return names


def _document(entry: Entry, path: Path, origin: str) -> Document:
    year_text = _field(entry, "year") or _field(entry, "date") or ""
    year_match = re.search(r"\d{4}", year_text)
    arxiv = None
    eprint = _field(entry, "eprint") or _field(entry, "arxiv") or ""
    prefix = (_field(entry, "archiveprefix") or _field(entry, "eprinttype") or "arxiv").lower()
    url = _field(entry, "url") or ""
    if (prefix == "arxiv" and (match := _ARXIV.search(eprint))) or (
        match := re.search(r"arxiv\.org/abs/" + _ARXIV.pattern, url)
    ):
        arxiv = match.group(1)
    paper = Paper(
        key=entry.key,
        title=_field(entry, "title"),
        authors=_names(entry),
        year=int(year_match.group(0)) if year_match else None,
        venue=_field(entry, "journal") or _field(entry, "booktitle") or _field(entry, "publisher"),
        doi=_field(entry, "doi"),
        url=_field(entry, "url"),
        arxiv_id=arxiv,
        abstract=_field(entry, "abstract"),
    )
    if not paper.title and not paper.abstract:
        raise ReadError("entry has neither a title nor an abstract; nothing to store")
    return Document(paper, origin)


def _attach_full_text(document: Document, entry: Entry, bib_path: Path) -> None:
    pdf_path = _attached_pdf(entry, bib_path)
    if pdf_path is not None:
        full = pdf.read(pdf_path).documents[0]
        document.sections = full.sections
        document.paper.abstract = document.paper.abstract or full.paper.abstract
        document.paper.sources.append(str(pdf_path))


def _attached_pdf(entry: Entry, bib_path: Path) -> Path | None:
    """The PDF named by the entry's ``file`` field, relative to the .bib file's folder."""
    value = _field(entry, "file")
    if not value:
        return None
    for item in value.split(";"):
        parts = item.split(":")
        # JabRef/Zotero: "Description:path:application/pdf"; also plain "path.pdf"
        candidates = [p for p in parts if p.lower().endswith(".pdf")] or [item]
        for candidate in candidates:
            candidate_path = Path(candidate.replace("\\:", ":")).expanduser()
            if not candidate_path.is_absolute():
                candidate_path = bib_path.parent / candidate_path
            if candidate_path.suffix.lower() == ".pdf":
                if not candidate_path.is_file():
                    raise ReadError(f"the entry's file {candidate!r} does not exist")
                return candidate_path
    return None
