"""S2ORC JSON (Semantic Scholar's full-text format; the ``aclsum`` sample corpus ships it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from store.errors import ReadError
from store.paper import Document, Paper, Section
from store.readers import ReadResult, read_text


def read(path: Path) -> ReadResult:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise ReadError(f"invalid JSON ({e.msg} at line {e.lineno})") from e
    if (
        not isinstance(data, dict)
        or "title" not in data
        or not ("pdf_parse" in data or "body_text" in data or "abstract" in data)
    ):
        raise ReadError("JSON file that is not an S2ORC paper (needs title, abstract, body_text)")
    return ReadResult([_document(data, str(path))])


def _document(data: dict[str, Any], origin: str) -> Document:
    ids = data.get("identifiers") or {}
    year = str(data.get("year") or "")
    paper = Paper(
        title=" ".join(str(data.get("title") or "").split()) or None,
        authors=[_name(a) for a in data.get("authors") or [] if _name(a)],
        year=int(year) if year.isdigit() else None,
        venue=data.get("venue") or None,
        doi=ids.get("doi") or None,
        arxiv_id=ids.get("arxiv_id") or ids.get("arxiv") or None,
        abstract=" ".join(str(data.get("abstract") or "").split()) or None,
    )
    parse = data.get("pdf_parse") or data
    sections: list[Section] = []
    for paragraph in parse.get("body_text") or []:
        text = " ".join(str(paragraph.get("text") or "").split())
        if text:
            heading = paragraph.get("section") or None
            if sections and sections[-1].heading == heading and len(sections[-1].text) < 4000:
                sections[-1] = Section(f"{sections[-1].text}\n{text}", heading=heading)
            else:
                sections.append(Section(text, heading=heading))
    return Document(paper, origin, sections)


def _name(author: dict[str, Any]) -> str:
    parts = [author.get("first") or "", *(author.get("middle") or []), author.get("last") or ""]
    return " ".join(" ".join(parts).split())
