"""Topic paper selection (assistant.selection), shared by drafts and tables: facets, the
closeness score, and a constructed library where the papers on the topic are known by
construction (the fake embedder: texts sharing words are close)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import Library
from assistant.evidence import Evidence
from assistant.filters import Filters
from assistant.passages import Hit
from assistant.retrieval import Retrieval
from assistant.selection import Selection, closeness, facets, select
from store.paper import Paper

# constructed topics (not the evaluation's): parentheses, a listed head, neither
TOPIC = "accented speech recognition (code switching, noisy rooms)"


def test_facets_of_parentheses_and_lists() -> None:
    assert facets(TOPIC) == [
        TOPIC,
        "accented speech recognition",
        "accented speech recognition code switching",
        "accented speech recognition noisy rooms",
    ]
    assert facets("graph neural network pruning, quantization and distillation") == [
        "graph neural network pruning, quantization and distillation",
        "graph neural network pruning",
        "graph neural network quantization",
        "graph neural network distillation",
    ]
    assert facets("survey of parsing, tagging and chunking") == [
        "survey of parsing, tagging and chunking",
        "survey of parsing",
        "survey of tagging",
        "survey of chunking",
    ]
    assert facets("  protein   folding ") == ["protein folding"]


def test_closeness_is_a_share_of_the_best_cosine() -> None:
    vectors = {
        k: np.array(v, dtype=np.float32) for k, v in {"a": [0.8, 0.6], "b": [0.6, 0.8], "c": [0, 1]}.items()
    }
    shares = closeness(vectors, np.array([1, 0], dtype=np.float32))
    assert shares == {"a": 1.0, "b": 0.75, "c": 0.0}
    away = {k: np.array([-1, 0], dtype=np.float32) for k in "xy"}  # no paper near the query
    assert closeness(away, np.array([1, 0], dtype=np.float32)) == {"x": 0.0, "y": 0.0}
    assert closeness({}, np.array([1, 0], dtype=np.float32)) == {}
    # with its closest window, a paper's cosine is the mean of the two; without one, the abstract's
    near = closeness(vectors, np.array([1, 0], dtype=np.float32), {"b": 1.0, "c": 0.4})
    assert near == {"a": 1.0, "b": 1.0, "c": 0.25}  # cosines 0.8, (0.6 + 1) / 2, (0 + 0.4) / 2


def _bib(key: str, title: str, abstract: str, year: int) -> str:
    fields = f"  title={{{title}}},\n  author={{Doe, Jane}},\n  year={year},\n  abstract={{{abstract}}}\n"
    return f"@article{{{key},\n{fields}}}\n"


ON_TOPIC = {
    "asr1": ("Speech recognition for accented speakers", "We adapt speech recognition to accented speakers."),
    "asr2": ("Accented speech recognition", "Speech recognition of accented speakers with adapters."),
}
FACET = {
    "cs1": ("Code switching speech", "Code switching speech recognition: code switching in bilingual speech.")
}
OFF = {
    f"off{i}": (f"{w} study", f"A {w} study of {w} and {v} in cells and tissues.")
    for i, (w, v) in enumerate(
        [("protein", "folding"), ("enzyme", "kinetics"), ("membrane", "transport"), ("gene", "expression"),
         ("neuron", "firing"), ("plant", "growth"), ("soil", "carbon"), ("ocean", "salinity")]
    )
}  # fmt: skip


@pytest.fixture
def library(fake_library: Library, tmp_path: Path) -> Library:
    papers = {**ON_TOPIC, **FACET, **OFF}
    bib = "".join(_bib(k, t, a, 2020 + i % 5) for i, (k, (t, a)) in enumerate(papers.items()))
    path = tmp_path / "papers.bib"
    path.write_text(bib)
    assert fake_library.add(path).ok
    return fake_library


def _select(library: Library, filters: Filters) -> Selection:
    return select(library.store, library.retriever, library.embedder, TOPIC, filters=filters)


def test_the_papers_on_the_topic_come_first_and_a_facet_brings_its_paper_closer(library: Library) -> None:
    found = _select(library, Filters())
    assert set(found.scores) == {*ON_TOPIC, *FACET, *OFF}  # every admitted paper, best first
    assert list(found.scores) == sorted(found.scores, key=lambda k: -found.scores[k])
    assert set(list(found.scores)[:3]) == {*ON_TOPIC, *FACET} and max(found.scores.values()) == 1.0
    assert set(found.chosen(0.78)) == {*ON_TOPIC, *FACET}
    # the whole topic's wording is nearest the code-switching paper; the facet "accented speech
    # recognition" (answerable) brings a paper on it back above the cut-off
    assert "accented speech recognition" in found.queries
    vectors = library.store.paper_vectors(sorted(found.scores))
    topic_only = closeness(vectors, library.embedder.embed([TOPIC])[0])
    assert topic_only["cs1"] == 1.0 and topic_only["asr1"] < 0.78 <= found.scores["asr1"]
    assert all(found.scores[k] >= topic_only[k] for k in found.scores)  # a paper's best query
    # counting each paper's closest abstract window too: the same papers, on the topic first
    assert set(found.near) == set(found.scores) and max(found.near.values()) == 1.0
    assert set(found.chosen(0.78, near=True)) == {*ON_TOPIC, *FACET}


def test_papers_on_other_subjects_change_no_score(library: Library) -> None:
    near = frozenset({*ON_TOPIC, *FACET, "off0"})
    few, every = _select(library, Filters(keys=near)), _select(library, Filters())
    assert set(few.scores) == near
    assert {k: every.scores[k] for k in near} == few.scores


def test_years_bound_the_papers_scored(library: Library) -> None:
    by_year = _select(library, Filters(years=(2020, 2021)))
    assert set(by_year.scores) == {p.key for p in library.papers() if p.year in (2020, 2021)}


def test_a_table_also_takes_papers_whose_passages_match_after_those_about_the_topic() -> None:
    def hit(key: str, score: float) -> Hit:
        return Hit(Paper(key=key, title=key), "", score, "")

    hits = [hit("reports", 4.0), hit("about", 3.0), hit("weak", 1.0)]
    found = Selection(
        {"about": 1.0, "other": 0.9, "reports": 0.6, "weak": 0.5},
        Retrieval(hits, Evidence(True, 1.0, "constructed")),
        (TOPIC,),
    )
    assert found.passages == {"reports": 1.0, "about": 0.75, "weak": 0.25}
    assert found.chosen(0.8) == ["about", "other"]
    assert found.chosen(0.8, 0.35) == ["about", "other", "reports"]  # about the topic first
