"""Export formats: LaTeX citations and escaping, BibTeX made only from ingested metadata."""

from __future__ import annotations

import bibtexparser
from pylatexenc.latexwalker import LatexWalker

from assistant import export
from store.paper import Paper


def test_latex_cites_allowed_keys_and_escapes_text() -> None:
    text = "Masks help 50% & more [@mfm2023; @colormae]. Others [@invented2020] differ [@mfm2023]."
    out = export.latex(text, {"mfm2023", "colormae"})
    assert out == ("Masks help 50\\% \\& more~\\cite{mfm2023,colormae}. Others differ~\\cite{mfm2023}.")
    LatexWalker(out, tolerant_parsing=False).get_latex_nodes()  # parses


def test_latex_escape_handles_specials_and_unicode() -> None:
    out = export.latex_escape("UniF²ace_v2 ~ {x} $5 #1 é")
    assert out == "UniF{\\texttwosuperior}ace\\_v2 {\\textasciitilde} \\{x\\} \\$5 \\#1 \\'e"
    LatexWalker(out, tolerant_parsing=False).get_latex_nodes()


def test_bibtex_has_only_the_metadata_it_was_given() -> None:
    full = Paper(
        key="mfm2023",
        title="Masked Frequency Modeling & Friends",
        authors=["Jiahao Xie", "Wei Li"],
        year=2023,
        venue="International Conference on Learning Representations",
        doi="10.1000/xyz",
        arxiv_id="2206.07706",
    )
    bare = Paper(key="notes", title="Untitled draft notes")
    parsed = bibtexparser.parse_string(export.bibtex([full, bare]))
    assert not parsed.failed_blocks
    first, second = parsed.entries
    assert first.key == "mfm2023" and first.entry_type == "inproceedings"
    fields = first.fields_dict
    assert fields["author"].value == "Jiahao Xie and Wei Li"
    assert fields["year"].value == "2023" and fields["doi"].value == "10.1000/xyz"
    assert fields["eprint"].value == "2206.07706"
    assert "\\&" in fields["title"].value
    # nothing invented for a paper the library knows little about
    assert second.entry_type == "misc"
    assert set(second.fields_dict) == {"title", "key"}  # key: what BibTeX sorts it by, without authors


def test_pandoc_style() -> None:
    assert export.pandoc([1, 2], ["a", "b"]) == "[@a; @b]"
