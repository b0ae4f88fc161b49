"""A draft's citations in the formats a paper is written in: pandoc markdown (``[@key]``), LaTeX
(``\\cite{key}``) and BibTeX entries made only from the metadata that was ingested."""

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
    """One BibTeX entry with only the fields the library knows (no guessed DOI, year or venue)."""
    fields: list[tuple[str, str]] = []
    if paper.title:
        fields.append(("title", latex_escape(paper.title)))
    if paper.authors:
        fields.append(("author", latex_escape(" and ".join(paper.authors))))
    if paper.year:
        fields.append(("year", str(paper.year)))
    entry_type = "misc"
    if paper.venue:
        entry_type = "inproceedings" if _CONFERENCE.search(paper.venue) else "article"
        venue_field = "booktitle" if entry_type == "inproceedings" else "journal"
        fields.append((venue_field, latex_escape(paper.venue)))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archiveprefix", "arXiv")]
    if paper.url:
        fields.append(("url", paper.url))
    return Entry(entry_type, paper.key, [Field(name, value) for name, value in fields])


def bibtex(papers: Iterable[Paper]) -> str:
    """A .bib file of ``papers``, in the order given."""
    library = bibtexparser.Library()
    for paper in papers:
        library.add(bibtex_entry(paper))
    return bibtexparser.write_string(library)
