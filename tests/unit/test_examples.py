"""The example files the project ships: every one is read, the gold files name papers they hold,
the wheel carries all of them, and ``litassist examples`` copies them without overwriting."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

import pytest

from assistant.errors import LitassistError
from assistant.evaluation import gold
from assistant.examples import copy_examples, examples_folder
from store.paper import Paper
from store.readers import read
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
# what each file holds; the keys are those the files give (a .bib's and Zotero's own keys)
EXPECTED = {
    "papers.bib": ["wang2021enpar", "zhao2021relation", "verga2016multilingual"],
    "zotero": ["han2020continual", "liu2019shared"],
    "pdfs/quirk2017distant.pdf": ["Distant Supervision for Relation Extraction beyond the Sentence Boundary"],
    "pdfs/bao2021nonautoregressive.pdf": ["Non-Autoregressive Translation by Learning Target Categorical"],
    "web/shi2021bilingual.html": [
        "Bilingual Lexicon Induction via Unsupervised Bitext Construction and Word Alignment"
    ],
    "arxiv-listing.txt": ["2403.05916", "2403.03400", "2401.09006", "2401.07584"],
    "hf-daily-papers.txt": ["Latent-OFER", "FSFM", "GSmoothFace", "FineCLIPER", "FER-YOLO-Mamba", "Facial"],
}


@pytest.fixture(scope="module")
def papers() -> dict[str, list[Paper]]:
    found = {}
    for name in EXPECTED:
        result = read(EXAMPLES / name)
        assert result.problems == [], name
        found[name] = [document.paper for document in result.documents]
    return found


def test_every_example_file_is_read_with_its_papers(papers: dict[str, list[Paper]]) -> None:
    for name, expected in EXPECTED.items():
        got = papers[name]
        assert len(got) == len(expected), name
        for paper, what in zip(got, expected, strict=True):
            assert what in (paper.key, paper.arxiv_id) or (paper.title or "").startswith(what), (name, what)
            assert paper.abstract, (name, what)  # every example paper can be searched by its abstract
    assert sum(len(found) for found in papers.values()) == 18  # as examples/README.md says
    pdf = papers["pdfs/quirk2017distant.pdf"][0]
    assert pdf.authors == ["Chris Quirk", "Hoifung Poon"] and pdf.year == 2017
    zotero = {paper.key: paper for paper in papers["zotero"]}
    assert zotero["han2020continual"].collections == ["Information extraction/Relations"]
    assert zotero["han2020continual"].tags == ["to-read"]


def test_the_gold_files_name_papers_the_examples_hold(papers: dict[str, list[Paper]]) -> None:
    """Each gold reference of examples/questions.jsonl and topics.jsonl resolves to exactly one
    example paper (the keys the files give; titles and abstracts for the others)."""
    # keys as the library would give them: the files' own, else a stand-in
    everything = [
        paper if paper.key else paper.model_copy(update={"key": f"paper{n}"})
        for n, paper in enumerate(paper for found in papers.values() for paper in found)
    ]
    resolver = gold.Resolver(everything)
    questions = gold.questions(EXAMPLES / "questions.jsonl")
    topics = gold.topics(EXAMPLES / "topics.jsonl")
    assert [q.type for q in questions].count("negative") == 1 and len(questions) >= 5
    references = [r for q in questions for r in q.gold] + [r for t in topics for r in [*t.gold, *t.core]]
    resolved = [resolver.resolve(reference) for reference in references]
    assert [r for r in resolved if isinstance(r, gold.Unresolved)] == []
    for topic in topics:
        keys = [resolver.resolve(r) for r in topic.gold]
        assert len(set(keys)) == len(keys)  # no two references name the same paper


def _data_files() -> set[Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    return {Path(f) for patterns in config.values() for p in patterns for f in glob.glob(p, root_dir=ROOT)}


def test_the_wheel_carries_every_example_file() -> None:
    """pyproject's data-files (installed under share/litassist/examples) list every file of
    examples/, each under its own folder, so that an installed package finds them all."""
    shipped = {p.relative_to(ROOT) for p in EXAMPLES.rglob("*") if p.is_file()}
    assert _data_files() == shipped
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    for target, patterns in config.items():
        for pattern in patterns:
            assert target == "share/litassist/" + str(Path(pattern).parent), pattern
    assert "graft examples" in (ROOT / "MANIFEST.in").read_text().splitlines()  # and the sdist


def test_copy_examples_copies_every_file_and_never_overwrites(tmp_path: Path) -> None:
    written = copy_examples(tmp_path / "mine")
    shipped = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path / "mine") for p in written) == shipped
    assert (tmp_path / "mine" / "zotero" / "zotero.sqlite").read_bytes() == (
        EXAMPLES / "zotero" / "zotero.sqlite"
    ).read_bytes()

    again = tmp_path / "again"
    (again / "pdfs").mkdir(parents=True)
    (again / "pdfs" / "quirk2017distant.pdf").write_text("my own notes")
    with pytest.raises(LitassistError, match=r"quirk2017distant\.pdf already exists"):
        copy_examples(again)
    assert (again / "pdfs" / "quirk2017distant.pdf").read_text() == "my own notes"
    assert sorted(p.name for p in again.rglob("*")) == ["pdfs", "quirk2017distant.pdf"]  # nothing copied

    assert examples_folder() == EXAMPLES  # in a checkout, the repository's own folder
    assert copy_examples(EXAMPLES) == []  # already there: nothing to do
