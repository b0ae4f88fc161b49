"""Ingest with the real embedder into real Chroma: an embedded folder and a `chroma run` server."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import Library
from store.paper import normalise
from store.readers import read
from store.sentences import windows
from tests.conftest import PEER_DOCS, SEEDS

pytestmark = pytest.mark.integration

OpenLibrary = Callable[..., Library]


def consistent(library: Library) -> None:
    """Every paper has all its chunks; no chunk lacks its paper; nothing is pending."""
    papers = library.papers()
    passages = library.store.chunks_collection.get(include=["metadatas"])["metadatas"] or []
    windows_ = library.store.windows_collection.get(include=["metadatas"])["metadatas"] or []
    assert {m.get("kind") for m in passages} <= {"passage"} and {m.get("kind") for m in windows_} <= {
        "window"
    }
    keys = [str(m["paper_key"]) for m in passages]
    window_keys = [str(m["paper_key"]) for m in windows_]
    assert set(keys) == {p.key for p in papers}, "orphan chunks or papers without chunks"
    assert set(window_keys) <= set(keys), "orphan search windows"
    for paper in papers:
        assert keys.count(paper.key) == paper.chunk_count, paper.key
        expected = windows(paper.abstract or "")
        assert window_keys.count(paper.key) == (len(expected) if len(expected) > 1 else 0), paper.key
    statuses = library.store.papers_collection.get(where={"status": {"$in": ["pending", "removing"]}})
    assert statuses["ids"] == []


def test_seeds(open_library: OpenLibrary) -> None:
    library = open_library()
    report = library.add(SEEDS)
    papers = library.papers()
    assert len(report.added) == len(papers) == 95 and report.failed == []
    assert len({p.key for p in papers}) == 95

    by_abstract = {normalise(p.abstract or "")[:60]: p for p in papers}

    # the 20 arXiv ids sit on the papers whose abstracts the listings close with them
    expected_ids = {}
    for name in ("001_87a3c465b45514ef.txt", "004_10e82c028d3c4dce.txt"):
        for document in read(SEEDS / name).documents:
            expected_ids[normalise(document.paper.abstract or "")[:60]] = document.paper.arxiv_id
    assert len(expected_ids) == 20 and all(expected_ids.values())
    assert {k: by_abstract[k].arxiv_id for k in expected_ids} == expected_ids
    assert sum(1 for p in papers if p.arxiv_id) == 20

    # the 60 Hugging Face titles, dates and author counts are kept
    hf = SEEDS / "002_47b77621b76a6c7c.txt"
    raw = hf.read_text()
    hf_papers = [p for p in papers if str(hf.resolve()) in p.sources]
    assert len(hf_papers) == 60
    assert sorted(p.author_count for p in hf_papers) == sorted(
        int(n) for n in re.findall(r"•\s*(\d+) authors", raw)
    )
    for paper in hf_papers:
        assert paper.title and f"\n{paper.title}\n" in raw
        assert paper.date and (
            re.fullmatch(r"\d{4}-\d{2}-\d{2}", paper.date)
            or re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}", paper.date)
        )
    scut = next(p for p in hf_papers if p.title and p.title.startswith("SCUT-FBP5500"))
    assert (scut.date, scut.year, scut.author_count) == ("2018-01-19", 2018, 5)

    # the five papers found in two files are single papers listing both sources
    doubles = [p for p in papers if len(p.sources) == 2]
    assert len(doubles) == 5
    pair = {
        str((SEEDS / "000_f93e3115d50f0c1b.txt").resolve()),
        str((SEEDS / "001_87a3c465b45514ef.txt").resolve()),
    }
    assert all(set(p.sources) == pair for p in doubles)
    assert all(p.arxiv_id for p in doubles)  # the id from the arXiv listing, on the merged paper
    assert len(report.skipped) == 5

    consistent(library)
    again = open_library().add(SEEDS)
    assert again.added == [] and again.failed == [] and len(again.skipped) == 100
    assert len(library.papers()) == 95


# the readers do not depend on the backend (the server's write path is covered by test_seeds)
@pytest.mark.parametrize("backend", ["embedded"])
def test_peer_documents(open_library: OpenLibrary) -> None:
    library = open_library()
    report = library.add(
        [
            PEER_DOCS / n
            for n in ("paper.pdf", "pasa.pdf", "bates.txt", "obama.txt", "gravity_hill.md", "flag_day.html")
        ]
    )
    assert report.failed == [] and len(report.added) == 6
    papers = {p.title: p for p in library.papers()}
    assert set(papers) == {
        "A Perspective on Explanations of Molecular Prediction Models",
        "PaSa: An LLM Agent for Comprehensive Academic Paper Search",
        "Frederick Bates (politician)",
        "Barack Obama",
        "Gravity hill",
        "National Flag of Canada Day",
    }
    perspective = papers["A Perspective on Explanations of Molecular Prediction Models"]
    assert perspective.authors == [
        "Geemi P. Wellawatte",
        "Heta A. Gandhi",
        "Aditi Seshadri",
        "Andrew D. White",
    ]
    assert perspective.key == "wellawatte2023perspective"
    pasa = papers["PaSa: An LLM Agent for Comprehensive Academic Paper Search"]
    assert pasa.authors[0] == "Yichen He" and pasa.authors[-1] == "Weinan E" and len(pasa.authors) == 7
    assert pasa.key == "he2025pasa" and pasa.arxiv_id == "2501.10120"
    obama = papers["Barack Obama"]
    assert obama.chunk_count > 100  # the 1.6 MB page read as HTML, whole
    chunks = library.chunks(obama.key)
    assert not any("<div" in c.text or "{{" in c.text for c in chunks)
    assert any("Honolulu" in c.text for c in chunks)
    pages = {c.page for c in library.chunks(pasa.key)}
    assert len(pages - {None}) == 15  # full text from every page, with page numbers
    consistent(library)


def test_bad_files_are_named_and_the_rest_goes_in(open_library: OpenLibrary, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(PEER_DOCS / "gravity_hill.md", folder / "gravity_hill.md")
    shutil.copy(SEEDS / "003_26e15eb79cce6a53.txt", folder / "sub" / "listing.txt")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.5\nthis is no pdf body at all\n%%EOF\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 64)
    (folder / "noise.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "refs.bib").write_text(
        "@article{good2024, title={A Good Entry}, author={Doe, Jane}, year={2024}, abstract={Works well.}}\n"
        "@article{bad2024, title={Unclosed, year={2024}\n"
    )
    report = open_library().add(folder)
    failed = {
        Path(o.source.split("#")[0]).name
        + ("#" + o.source.split("#")[1] if "#" in o.source else ""): o.reason
        for o in report.failed
    }
    assert set(failed) == {"corrupt.pdf", "empty.txt", "noise.txt", "refs.bib#bad2024"}
    assert "PDF" in failed["corrupt.pdf"]
    assert "empty" in failed["empty.txt"]
    assert "binary" in failed["noise.txt"]
    assert "malformed" in failed["refs.bib#bad2024"]
    assert [o.reason for o in report.skipped] == ["unsupported file type '.bin'"]
    assert len(report.added) == 1 + 10 + 1  # the page, the listing's ten, the good entry
    consistent(open_library())


def test_other_embedder_is_refused_on_any_backend(open_library: OpenLibrary, fake_embedder: object) -> None:
    from assistant import EmbedderMismatchError

    open_library().add(SEEDS / "000_f93e3115d50f0c1b.txt")
    with pytest.raises(EmbedderMismatchError):
        open_library(embedder=fake_embedder)


def test_remove_on_any_backend(open_library: OpenLibrary) -> None:
    library = open_library()
    library.add(SEEDS / "003_26e15eb79cce6a53.txt")
    key = library.papers()[0].key
    library.remove(key)
    assert key not in {p.key for p in library.papers()} and len(library.papers()) == 9
    consistent(library)
