"""The Zotero reader over a database that follows Zotero's data model (tests/zotero_db.py)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from store.errors import ReadError
from store.paper import has_tags, in_collections
from store.readers import detect_format, read, walk
from tests.conftest import PEER_DOCS
from tests.zotero_db import Item, build, short_pdf

PASA = Item(
    "PASA2025",
    "preprint",
    {
        "title": "PaSa: An LLM Agent for Comprehensive Academic Paper Search",
        "date": "2025-01-17 2025-01-17",
        "url": "https://arxiv.org/abs/2501.10120v1",
        "extra": "Citation Key: he2025pasa\nOriginal Date: 2025",
        "repository": "arXiv",
    },
    authors=[("Yichen", "He"), ("Guanhua", "Huang"), ("Weinan", "E")],
    collections=["Literature search/Agents"],
    tags=["thesis-ch2", "agents"],
    pdf=Path("pasa.pdf"),  # two pages of it: the fixture writes them
    notes=["Read this first"],
)
GNN = Item(
    "GNNX0002",
    "conferencePaper",
    {
        "title": "Counterfactual Explanations for Graph Neural Networks",
        "abstractNote": "We explain the predictions of graph neural networks with counterfactual edits.",
        "date": "2022-07-00 July 2022",
        "DOI": "10.1000/gnn.2022",
        "proceedingsTitle": "Proceedings of ICML",
    },
    authors=[("Ann", "Chen"), ("Bo", "Li")],
    collections=["Literature search/Explainability"],
    tags=["xai"],
)
SALIENCY = Item(
    "SALI0003",
    "journalArticle",
    {
        "title": "Saliency Maps Considered Harmful",
        "abstractNote": "Saliency maps mislead readers of image classifiers; we measure how often.",
        "date": "2020-00-00 2020",
        "publicationTitle": "Journal of Explainable AI",
    },
    authors=[("Carla", "Diaz")],
    collections=["Thesis ch. 2"],
    tags=["xai", "thesis-ch2"],
    linked_pdf=Path("/nonexistent/saliency.pdf"),
)
TRASHED = Item(
    "TRSH0004",
    "journalArticle",
    {"title": "A Paper In The Trash", "abstractNote": "Deleted by its owner."},
    trashed=True,
    collections=["Thesis ch. 2"],
)


@pytest.fixture(scope="module")
def pasa_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_pdf(PEER_DOCS / "pasa.pdf", tmp_path_factory.mktemp("pdf") / "pasa.pdf")


def items(pdf: Path) -> list[Item]:
    return [replace(PASA, pdf=pdf), GNN, SALIENCY, TRASHED]


@pytest.fixture
def zotero(tmp_path: Path, pasa_pdf: Path) -> Path:
    return build(tmp_path / "Zotero", items(pasa_pdf), better_bibtex={"GNNX0002": "chen2022counterfactual"})


def test_regular_items_become_papers_with_collections_tags_and_keys(zotero: Path) -> None:
    assert detect_format(zotero) == "zotero" and list(walk([zotero])) == [(zotero, True)]
    result = read(zotero)
    papers = {d.paper.title: d for d in result.documents}
    # the note, the attachments and the trashed item are not papers
    assert set(papers) == {PASA.fields["title"], GNN.fields["title"], SALIENCY.fields["title"]}
    pasa = papers[PASA.fields["title"]]
    assert pasa.paper.key == "he2025pasa"  # Better BibTeX's key in `extra`
    assert pasa.paper.authors == ["Yichen He", "Guanhua Huang", "Weinan E"]
    assert (pasa.paper.year, pasa.paper.date, pasa.paper.arxiv_id) == (2025, "2025-01-17", "2501.10120")
    assert pasa.paper.collections == ["Literature search/Agents"]
    assert pasa.paper.tags == ["agents", "thesis-ch2"]
    # the imported PDF in storage/ brought the full text, and the abstract
    assert len(pasa.sections) == 2 and (pasa.paper.abstract or "").startswith("We introduce PaSa")
    assert any(s.endswith("storage/PASAPDF1/pasa.pdf") for s in pasa.paper.sources)
    gnn = papers[GNN.fields["title"]].paper
    assert gnn.key == "chen2022counterfactual"  # from better-bibtex.sqlite
    assert (gnn.venue, gnn.doi, gnn.year, gnn.date, gnn.entry_type) == (
        "Proceedings of ICML", "10.1000/gnn.2022", 2022, "2022-07", "inproceedings",
    )  # fmt: skip
    assert gnn.origins == [f"{zotero.resolve()}#1/GNNX0002"]
    saliency = papers[SALIENCY.fields["title"]]
    assert saliency.paper.key == "" and saliency.paper.year == 2020 and not saliency.sections
    assert saliency.paper.venue == "Journal of Explainable AI"
    problems = dict(result.problems)
    assert "does not exist; metadata only" in problems[f"{zotero}#SALI0003"]


def test_a_database_zotero_holds_locked_is_read_from_a_copy(zotero: Path) -> None:
    holder = sqlite3.connect(zotero / "zotero.sqlite")
    holder.execute("BEGIN EXCLUSIVE")  # what a running Zotero does
    try:
        assert len(read(zotero / "zotero.sqlite").documents) == 3
    finally:
        holder.rollback()
        holder.close()


def test_not_a_zotero_database(tmp_path: Path) -> None:
    folder = tmp_path / "Zotero"
    folder.mkdir()
    (folder / "zotero.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ReadError, match="Zotero"):
        read(folder)


def test_collection_and_tag_matching() -> None:
    paths = ["Literature search/Explainability/Saliency"]
    assert in_collections(paths, ["Literature search"])  # a collection holds its subcollections
    assert in_collections(paths, ["explainability"]) and in_collections(paths, ["Explainability/Saliency"])
    assert not in_collections(paths, ["Search"]) and not in_collections([], ["Literature search"])
    assert in_collections([], []) and has_tags([], [])
    assert has_tags(["XAI", "thesis"], ["xai"]) and not has_tags(["thesis"], ["xai"])
