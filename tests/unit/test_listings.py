"""The four scraped listing formats of the seeds, parsed without a library."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from store.paper import normalise
from store.readers import read
from tests.conftest import SEEDS

ABSTRACT_LINES = SEEDS / "000_f93e3115d50f0c1b.txt"
ARXIV_GLUED = SEEDS / "001_87a3c465b45514ef.txt"
HUGGING_FACE = SEEDS / "002_47b77621b76a6c7c.txt"
ARXIV_CREATED = SEEDS / "004_10e82c028d3c4dce.txt"


def by_start(path: Path) -> dict[str, object]:
    return {normalise(d.paper.abstract or "")[:40]: d.paper for d in read(path).documents}


@pytest.mark.parametrize(
    ("path", "count"),
    [
        (ABSTRACT_LINES, 10),
        (ARXIV_GLUED, 10),
        (HUGGING_FACE, 60),
        (SEEDS / "003_26e15eb79cce6a53.txt", 10),
        (ARXIV_CREATED, 10),
    ],
)
def test_each_seed_file_splits_into_its_papers(path: Path, count: int) -> None:
    documents = read(path).documents
    assert len(documents) == count
    assert all(len(d.paper.abstract or "") > 300 for d in documents)
    # no abstract swallowed an id line or the start of the next abstract
    assert not any(re.search(r"arXiv:\d{4}\.\d+", d.paper.abstract or "") for d in documents)


def test_abstract_lines_have_no_title_or_id() -> None:
    papers = [d.paper for d in read(ABSTRACT_LINES).documents]
    assert papers[0].abstract is not None and papers[0].abstract.startswith("Human pose plays a crucial role")
    assert all(p.title is None and p.arxiv_id is None for p in papers)


def test_arxiv_id_line_closes_the_previous_abstract() -> None:
    papers = [d.paper for d in read(ARXIV_GLUED).documents]
    # the first abstract has no prefix; its id is the one glued before the second abstract
    assert papers[0].abstract.startswith("Although multimodal large language models")  # type: ignore[union-attr]
    assert papers[0].arxiv_id == "2410.20717"
    assert papers[1].abstract.startswith("Recently, large-scale diffusion models")  # type: ignore[union-attr]
    assert "CtrLoRA" in papers[1].abstract and papers[1].arxiv_id == "2410.09400"  # type: ignore[operator]
    # a comment line between an abstract and its id belongs to that paper
    sam = next(p for p in papers if p.arxiv_id == "2408.08315")
    assert "SAM" in (sam.abstract or "") and sam.note == "https://github.com/983632847/SAM-for-Videos"
    # the last id stands alone on the last line
    assert papers[-1].arxiv_id == "2406.14194"
    assert papers[-1].abstract.startswith("The emergence of Large Vision-Language Models")  # type: ignore[union-attr]
    assert all(p.year == 2000 + int(p.arxiv_id[:2]) for p in papers if p.arxiv_id)
    assert len({p.arxiv_id for p in papers}) == 10


def test_arxiv_listing_with_created_dates_and_doi() -> None:
    papers = [d.paper for d in read(ARXIV_CREATED).documents]
    assert [p.arxiv_id for p in papers][:3] == ["2403.05916", "2403.03400", "2401.09006"]
    assert papers[0].date == "2024-03-09" and papers[0].year == 2024
    assert papers[0].abstract.startswith("Multimodal language models (MLMs)")  # type: ignore[union-attr]
    assert papers[1].doi == "10.1109/TIP.2023.3279978"
    assert papers[1].note == "Published in Transaction on Image Processing 2023"
    assert papers[2].note == "v1"
    assert papers[-1].arxiv_id == "2311.14275" and papers[-1].date == "2023-11-23"


def test_hugging_face_titles_dates_and_author_counts() -> None:
    raw = HUGGING_FACE.read_text()
    papers = [d.paper for d in read(HUGGING_FACE).documents]
    assert all(p.title and p.author_count and p.date for p in papers)
    assert [p.author_count for p in papers] == [int(n) for n in re.findall(r"•\s*(\d+) authors", raw)]
    for paper in papers:  # each title is a line of the page, directly above its abstract
        assert f"\n{paper.title}\n\n{paper.abstract[:60]}" in raw  # type: ignore[index]
    first = papers[0]
    assert (
        first.title == "SCUT-FBP5500: A Diverse Benchmark Dataset for Multi-Paradigm Facial Beauty Prediction"
    )
    assert (first.author_count, first.date, first.year) == (5, "2018-01-19", 2018)
    unif = next(p for p in papers if p.title and p.title.startswith("UniF^2ace"))
    assert (unif.date, unif.year, unif.note) == ("Mar 11", None, "3 upvotes")  # year omitted on the page
    colormae = next(p for p in papers if p.title and p.title.startswith("ColorMAE"))
    assert (colormae.date, colormae.author_count, colormae.note) == ("2024-07-17", 3, "2 upvotes")


def test_plain_text_is_one_paper(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("My Working Paper on Gravity Hills\n\nFirst paragraph here.\n\nSecond paragraph.\n")
    documents = read(path).documents
    assert len(documents) == 1
    assert documents[0].paper.title == "My Working Paper on Gravity Hills"
    assert [s.text for s in documents[0].sections] == ["First paragraph here.", "Second paragraph."]
