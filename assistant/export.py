"""A draft's citations in the formats a paper is written in: pandoc markdown (``[@key]``), LaTeX
(``\\cite{key}``) and BibTeX entries: a user's own entries as they were read, the others made
only from the metadata that was ingested, titles brace-protected, so that ``bibtex`` reads them
without a warning."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

import bibtexparser
from bibtexparser.model import Entry, Field
from pylatexenc.latexencode import unicode_to_latex

from assistant.citations import find_citations
from store.paper import Paper

_CONFERENCE = re.compile(
    r"conference|proceedings|workshop|symposium|meeting|\b(CVPR|ICCV|ECCV|NeurIPS|NIPS|ICLR|ICML|AAAI|"
    r"IJCAI|ACL|EMNLP|NAACL|COLING|SIGGRAPH|KDD|WACV|BMVC|ACCV|MICCAI|INTERSPEECH|ICASSP)\b",
    re.IGNORECASE,
)


def pandoc(numbers: Sequence[int], keys: Sequence[str]) -> str:
    """A citation style for ``citations.render``: pandoc's ``[@a; @b]``."""
    return "[" + "; ".join(f"@{k}" for k in keys) + "]"


def latex_escape(text: str) -> str:
    """Plain text as LaTeX: special characters escaped, non-ASCII as LaTeX commands."""
    return unicode_to_latex(text, non_ascii_only=False, unknown_char_policy="replace")


def latex(text: str, allowed: Collection[str], command: str = "cite") -> str:
    """``text`` as LaTeX: its allowed citations as ``\\cite{a,b}`` (others removed), the rest
    escaped."""
    out: list[str] = []
    position = 0
    for group in find_citations(text, allowed):
        before = text[position : group.start]
        if group.kept:
            out.append(latex_escape(before.rstrip(" ")) + "~\\" + command + "{" + ",".join(group.kept) + "}")
        else:
            out.append(latex_escape(before.rstrip(" ")))
        position = group.end
    out.append(latex_escape(text[position:]))
    return "".join(out)


def bibtex_entry(paper: Paper) -> Entry:
    """One BibTeX entry: a user's own entry as it was read (its type and every field as written,
    but for the fields corrected in the library since), else one made from the fields the library
    knows (no guessed DOI, year or venue). Values are written with their delimiters (``bibtex``
    writes them as they are)."""
    if paper.bibtex and paper.entry_type:
        return Entry(paper.entry_type, paper.key, [Field(name, value) for name, value in _own_fields(paper)])
    fields: list[tuple[str, str]] = []
    if paper.title:
        fields.append(("title", protect_case(paper.title)))
    if paper.authors:
        fields.append(("author", " and ".join(_name(a) for a in paper.authors)))
    else:
        fields.append(("key", paper.key))  # what BibTeX sorts an entry without authors by
    if paper.year:
        fields.append(("year", str(paper.year)))
    entry_type = _entry_type(paper)
    if entry_type in _VENUE_FIELD:
        fields.append((_VENUE_FIELD[entry_type], latex_escape(paper.venue or "")))
    elif paper.venue:
        fields.append(("howpublished", latex_escape(paper.venue)))
    elif paper.arxiv_id:
        fields.append(("howpublished", f"arXiv preprint arXiv:{paper.arxiv_id}"))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archiveprefix", "arXiv")]
    if paper.url:
        fields.append(("url", paper.url))
    if not paper.title and paper.abstract:  # what it has: the words that open its abstract
        words = paper.abstract.split()
        opening = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
        fields.append(("note", latex_escape(f"Untitled; the abstract begins: {opening}")))
    return Entry(entry_type, paper.key, [Field(name, "{" + value + "}") for name, value in fields])


def _own_fields(paper: Paper) -> list[tuple[str, str]]:
    """A user's own entry's fields as written, except those corrected in the library since
    (``user_fields``: title, authors, year, venue): written from the record, in place, and left
    out when cleared."""
    assert paper.entry_type is not None
    venue = next((n for n, _ in paper.bibtex if n.lower() in _VENUE_FIELDS), None)
    venue = venue or _VENUE_FIELD.get(paper.entry_type, "howpublished")
    corrected: dict[str, str | None] = {}
    for name in paper.user_fields:
        if name == "title":
            corrected["title"] = protect_case(paper.title) if paper.title else None
        elif name == "authors":
            corrected["author"] = " and ".join(_name(a) for a in paper.authors) or None
        elif name == "year":
            corrected["year"] = str(paper.year) if paper.year else None
        elif name == "venue":
            corrected[venue.lower()] = latex_escape(paper.venue) if paper.venue else None
    fields: list[tuple[str, str]] = []
    for name, value in paper.bibtex:
        if name.lower() not in corrected:
            fields.append((name, value))
        elif (mine := corrected.pop(name.lower())) is not None:
            fields.append((name, "{" + mine + "}"))
    fields += [(name, "{" + value + "}") for name, value in corrected.items() if value is not None]
    return fields


# the field an entry type keeps its venue in (a journal, proceedings, a publisher, a school)
_VENUE_FIELD = {
    "article": "journal",
    "inproceedings": "booktitle",
    "book": "publisher",
    "phdthesis": "school",
    "techreport": "institution",
}
_VENUE_FIELDS = {*_VENUE_FIELD.values(), "howpublished"}


def _entry_type(paper: Paper) -> str:
    """A typed entry (@article, @inproceedings, @book, ...: the type a reference manager gave,
    else one guessed from the venue) only with the fields BibTeX styles require of it (author,
    title, venue, year): anything less is @misc, which requires none (no warnings)."""
    if not (paper.venue and paper.year and paper.authors and paper.title):
        return "misc"
    if paper.entry_type in _VENUE_FIELD:
        return paper.entry_type
    return "inproceedings" if _CONFERENCE.search(paper.venue) else "article"


def _name(name: str) -> str:
    """An author's name for BibTeX: escaped, and a name of one word braced (a team, a company)."""
    escaped = latex_escape(name)
    return escaped if " " in name.strip() else "{" + escaped + "}"


def protect_case(title: str) -> str:
    """A title escaped for BibTeX, every word that carries a capital braced so that styles that
    lower-case titles keep it ("{Fer-YOLO-Mamba}", "{CLIP}"); the title's first letter is kept
    by every style anyway."""
    words = []
    for i, word in enumerate(title.split()):
        escaped = latex_escape(word)
        letters = [c for c in word if c.isalpha()]
        capitals = letters[1:] if i == 0 else letters
        if any(c.isupper() for c in capitals):
            # a group that opens with a command is a "special character" to BibTeX, whose letters
            # it still changes: an extra pair of braces makes it a plain protected group
            escaped = "{{" + escaped + "}}" if escaped.startswith("\\") else "{" + escaped + "}"
        words.append(escaped)
    return " ".join(words)


def incomplete(papers: Iterable[Paper]) -> list[str]:
    """The keys of papers whose exported entry lacks an author, a title or a year (the library
    was not given them): a draft's notes name them."""
    return [
        p.key for p in papers if not (p.bibtex and p.entry_type) and not (p.authors and p.title and p.year)
    ]


def bibtex(papers: Iterable[Paper]) -> str:
    """A .bib file of ``papers``, in the order given."""
    library = bibtexparser.Library()
    for paper in papers:
        library.add(bibtex_entry(paper))
    return bibtexparser.write_string(library, unparse_stack=[])
