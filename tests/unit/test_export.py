"""Export formats: LaTeX citations and escaping, BibTeX made only from ingested metadata."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import bibtexparser
import pytest
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


GENERATED = [
    Paper(
        key="conf2023", title="Masked Frequency Modeling for CLIP Models", authors=["Jiahao Xie", "Wei Li"],
        year=2023, venue="International Conference on Learning Representations",
    ),
    Paper(
        key="journal2021", title="Über-deep Networks & the {Brace} Problem", authors=["Klaus Müller"],
        year=2021, venue="Journal of Machine Learning Research", doi="10.1000/jmlr_1",
    ),
    Paper(key="fer", title="Fer-yolo-mamba: facial expressions", authors=["Ann Lee"], arxiv_id="2405.01828"),
    Paper(key="preprint2024", title="A study", authors=["OpenAI", "Bo Li"], year=2024, arxiv_id="2401.0001"),
    Paper(key="novenue2020", title="No venue given", authors=["Carla Diaz"], year=2020, url="https://x.org/a_b"),
    Paper(key="bare", abstract="We propose a model that recognises expressions under occlusion."),
    Paper(key="book1978", title="Facial Action Coding", authors=["Paul Ekman"], year=1978, venue="CPP",
          entry_type="book"),  # a Zotero book
]  # fmt: skip


def test_generated_entries_protect_case_and_keep_to_what_is_known() -> None:
    parsed = {e.key: e for e in bibtexparser.parse_string(export.bibtex(GENERATED)).entries}
    assert parsed["conf2023"].entry_type == "inproceedings"
    assert (
        parsed["conf2023"].fields_dict["title"].value == "Masked {Frequency} {Modeling} for {CLIP} {Models}"
    )
    assert parsed["journal2021"].entry_type == "article"
    book = parsed["book1978"]
    assert book.entry_type == "book" and book.fields_dict["publisher"].value == "CPP"
    # arXiv papers are @misc with the eprint and a line for readers
    fer = parsed["fer"]
    assert fer.entry_type == "misc" and fer.fields_dict["eprint"].value == "2405.01828"
    assert fer.fields_dict["archiveprefix"].value == "arXiv"
    assert fer.fields_dict["howpublished"].value == "arXiv preprint arXiv:2405.01828"
    assert "year" not in fer.fields_dict  # not invented
    assert parsed["preprint2024"].fields_dict["author"].value == "{OpenAI} and Bo Li"
    # a paper without metadata exports what it has: never an empty entry
    bare = parsed["bare"].fields_dict
    assert bare["key"].value == "bare" and bare["note"].value.startswith(
        "Untitled; the abstract begins: We propose"
    )
    assert export.incomplete(GENERATED) == ["fer", "bare"]


def test_bibtex_reads_the_generated_entries_without_a_warning(tmp_path: Path) -> None:
    if shutil.which("bibtex") is None:
        pytest.skip("no bibtex here")
    (tmp_path / "refs.bib").write_text(export.bibtex(GENERATED))
    # what LaTeX writes for \\nocite{*}, \\bibliographystyle{plain} and \\bibliography{refs}
    (tmp_path / "doc.aux").write_text("\\relax\n\\citation{*}\n\\bibstyle{plain}\n\\bibdata{refs}\n")
    run = subprocess.run(["bibtex", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "Warning" not in run.stdout, run.stdout
    bbl = (tmp_path / "doc.bbl").read_text()
    assert all(f"{{{p.key}}}" in bbl for p in GENERATED)
    assert "{CLIP}" in bbl and "Fer-yolo-mamba" in bbl


def test_an_own_entry_carries_the_corrections_made_in_the_library() -> None:
    """A user's own .bib entry is exported as written, but a field corrected in the library since
    (the Library tab's edit form) is written from the record, in place; a cleared one goes."""
    own = Paper(
        key="doe2024",
        title="Colour Constancy for Garmets",
        authors=["Jane Doe"],
        year=2024,
        venue="Wrong Venue",
        entry_type="article",
        bibtex=[
            ("title", "{Colour Constancy for Garmets}"),
            ("author", "{Doe, Jane}"),
            ("journal", "{Wrong Venue}"),
            ("year", "{2024}"),
            ("pages", "{1--10}"),
        ],
    )
    assert export.bibtex_entry(own).fields_dict["title"].value == "{Colour Constancy for Garmets}"
    own.title, own.venue, own.year = "Colour Constancy for Garments", None, 2025
    own.user_fields = ["title", "venue", "year"]
    entry = bibtexparser.parse_string(export.bibtex([own])).entries[0]
    assert [f.key for f in entry.fields] == ["title", "author", "year", "pages"]
    fields = entry.fields_dict
    assert fields["title"].value == "Colour {Constancy} for {Garments}" and fields["year"].value == "2025"
    assert fields["author"].value == "Doe, Jane" and fields["pages"].value == "1--10"
