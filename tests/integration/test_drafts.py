"""Related-work drafts over a real library (packaged embedder), extractive mode: the papers
chosen, the outline, and markdown / LaTeX / BibTeX that agree with each other."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import bibtexparser
import pytest
from pylatexenc.latexwalker import LatexWalker

from assistant import Library
from assistant.citations import find_citations
from assistant.draft import Draft
from assistant.errors import NothingToDraftError
from store.embedder import LocalEmbedder

pytestmark = pytest.mark.integration

TOPIC = "facial expression recognition"
OWN = (
    "Facial expression recognition fails under occlusion. We propose a masked autoencoder that "
    "reconstructs occluded face regions before classifying the expression. Our model improves "
    "accuracy on occluded benchmarks."
)


@pytest.fixture(scope="module")
def library(
    tmp_path_factory: pytest.TempPathFactory, listing_library: Path, local_embedder: LocalEmbedder
) -> Library:
    folder = tmp_path_factory.mktemp("drafts") / "library"
    shutil.copytree(listing_library, folder)
    return Library(folder, embedder=local_embedder)


@pytest.fixture(scope="module")
def draft(library: Library) -> Draft:
    return library.related_work(TOPIC)


def _cite_keys(text: str, pattern: str) -> set[str]:
    return {k.strip() for group in re.findall(pattern, text) for k in group.split(",")}


def test_draft_chooses_papers_on_the_topic_and_groups_them(draft: Draft) -> None:
    assert draft.mode == "extractive"
    assert 2 <= len(draft.cited_keys) <= 20
    for key in draft.cited_keys:  # every cited paper is about facial expressions
        paper = draft.papers[key]
        assert re.search(r"express|emotion", f"{paper.title} {paper.abstract}", re.IGNORECASE), paper.title
    outlined = [k for theme in draft.outline for k in theme.keys]
    assert len(outlined) == len(set(outlined)) and set(draft.cited_keys) <= set(outlined)
    assert all(theme.name for theme in draft.outline)
    assert not draft.dropped_citations
    # every sentence is cited and every citation resolves to a passage its section was given
    assert draft.sentences and all(s.cited for s in draft.sentences)
    for section in draft.sections:
        given = {p.key for p in section.passages}
        for group in find_citations(section.checked.raw_text, given):
            assert set(group.keys) <= given
        assert all(c.passage in section.passages for c in section.checked.citations)


def test_markdown_latex_and_bibtex_agree_on_the_cited_papers(draft: Draft) -> None:
    cited = set(draft.cited_keys)
    markdown_keys = {k.lstrip("@") for k in _cite_keys(draft.markdown.replace(";", ","), r"\[(@[^\]]+)\]")}
    latex_keys = _cite_keys(draft.latex, r"\\cite\{([^}]+)\}")
    bib = bibtexparser.parse_string(draft.bibtex)
    assert not bib.failed_blocks
    assert markdown_keys == latex_keys == {e.key for e in bib.entries} == cited
    # the numbered text for reading has as many references as cited papers
    assert [r.number for r in draft.references] == list(range(1, len(cited) + 1))
    for entry in bib.entries:  # fields come from the ingested metadata only
        paper = draft.papers[entry.key]
        fields = entry.fields_dict
        assert ("year" in fields) == bool(paper.year)
        assert "year" not in fields or fields["year"].value == str(paper.year)
        assert ("doi" in fields) == bool(paper.doi)
    for theme in draft.outline:
        assert f"**{theme.name}.**" in draft.markdown


def test_latex_document_parses_and_compiles_when_tex_is_installed(draft: Draft, tmp_path: Path) -> None:
    document = draft.latex_document("refs")
    LatexWalker(document, tolerant_parsing=False).get_latex_nodes()
    assert "\\bibliography{refs}" in document
    if shutil.which("pdflatex") is None or shutil.which("bibtex") is None:
        pytest.skip("no TeX installation here: the document was checked with a LaTeX parser only")
    (tmp_path / "related.tex").write_text(document)
    (tmp_path / "refs.bib").write_text(draft.bibtex)
    latex, bibtex = (
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "related"],
        ["bibtex", "related"],
    )
    runs = [
        subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, text=True, timeout=120)
        for command in (latex, bibtex, latex, latex)
    ]
    # bibtex warns about no entry of a paper with authors (issue 19: it printed 9 warnings)
    warned = re.findall(r"Warning--.* in (\S+)", runs[1].stdout)
    assert not [key for key in warned if draft.papers[key].authors], runs[1].stdout
    assert all(f"{{{key}}}" in (tmp_path / "related.bbl").read_text() for key in draft.cited_keys)
    assert (tmp_path / "related.pdf").stat().st_size > 0
    assert "Citation" not in (tmp_path / "related.log").read_text()  # no undefined citation


def test_given_keys_sections_and_own_abstract(library: Library, draft: Draft) -> None:
    keys = draft.cited_keys[:3]
    sections = ["Occlusion", "Language models"]
    chosen = library.related_work(TOPIC, keys=keys, sections=sections, own_abstract=OWN)
    assert set(chosen.cited_keys) <= set(keys)
    assert {t.name for t in chosen.outline} <= set(sections)
    assert sum(len(t.keys) for t in chosen.outline) == len(keys)
    # extractively, the user's own closest sentence closes each paragraph, uncited
    assert "Our work:" in chosen.markdown
    own = [s for s in chosen.sentences if s.text.startswith("Our work:")]
    assert own and not any(s.cited for s in own)


def test_empty_library_and_a_topic_nothing_is_about(
    library: Library, tmp_path: Path, local_embedder: LocalEmbedder
) -> None:
    with pytest.raises(NothingToDraftError, match="empty"):
        Library(tmp_path / "empty", embedder=local_embedder).related_work(TOPIC)
    with pytest.raises(NothingToDraftError, match="No paper in the library is about"):
        library.related_work("the boiling point of ethanol at sea level")


def test_cli_markdown_with_bib_json_and_off_topic(library: Library, tmp_path: Path) -> None:
    """(The README's block covers `-o related.tex` and the printed draft.)"""
    from tests.integration.test_cli import run

    where = ["--library", str(library.path)]
    own = tmp_path / "abstract.txt"
    own.write_text(OWN)
    md, bib = tmp_path / "r.md", tmp_path / "refs.bib"
    written = run(*where, "draft", TOPIC, "--own-abstract", str(own), "-o", str(md), "--bib", str(bib))
    assert written.returncode == 0, written.stderr
    markdown = md.read_text()
    header = markdown.split("\n---\n", 1)[0]
    # pandoc --citeproc reads the bibliography and the style the references were printed in
    # (a bundled style is copied beside the markdown, so that the folder works wherever it goes)
    assert header == "---\nbibliography: refs.bib\ncsl: apa.csl"
    assert (tmp_path / "apa.csl").read_text().lstrip().startswith("<?xml")
    assert "Our work:" in markdown
    cited = {k.strip().lstrip("@") for g in re.findall(r"\[(@[^\]]+)\]", markdown) for k in g.split(";")}
    assert cited == {e.key for e in bibtexparser.parse_string(bib.read_text()).entries}

    keys = sorted(cited)[:2]
    as_json = run(*where, "draft", TOPIC, "--keys", ",".join(keys), "--json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert set(data["cited_keys"]) <= set(keys) and data["mode"] == "extractive"
    assert data["outline"] and data["bibtex"].startswith("@")

    off_topic = run(*where, "draft", "the boiling point of ethanol at sea level")
    assert off_topic.returncode == 1 and "No paper in the library is about" in off_topic.stderr
    assert off_topic.stdout == ""
