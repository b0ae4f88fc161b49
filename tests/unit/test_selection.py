"""Topic paper selection (assistant.selection), shared by drafts and tables: facets, the
standing score, and a constructed library where the papers on the topic are known by
construction (the fake embedder: texts sharing words are close)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import Library
from assistant.retrieval import Filters
from assistant.selection import facets, select, standing

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


def test_standing_is_a_z_score_over_the_papers() -> None:
    vectors = {
        k: np.array(v, dtype=np.float32) for k, v in {"a": [1, 0], "b": [0.6, 0.8], "c": [0, 1]}.items()
    }
    z = standing(vectors, np.array([1, 0], dtype=np.float32))
    assert z["a"] > z["b"] > z["c"]
    assert sum(z.values()) == pytest.approx(0, abs=1e-3)
    assert np.std(list(z.values())) == pytest.approx(1, abs=1e-3)
    same = {k: np.array([1, 0], dtype=np.float32) for k in "xy"}
    assert standing(same, np.array([1, 0], dtype=np.float32)) == {"x": 0.0, "y": 0.0}
    assert standing({}, np.array([1, 0], dtype=np.float32)) == {}


def _bib(key: str, title: str, abstract: str, year: int) -> str:
    fields = f"  title={{{title}}},\n  author={{Doe, Jane}},\n  year={year},\n  abstract={{{abstract}}}\n"
    return f"@article{{{key},\n{fields}}}\n"


ON_TOPIC = {
    "asr1": ("Speech recognition for accented speakers", "We adapt speech recognition to accented speakers."),
    "asr2": ("Accented speech recognition", "Speech recognition of accented speakers with adapters."),
}
FACET = {"cs1": ("Code switching", "Code switching: we detect code switching in bilingual conversation.")}
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


def test_the_papers_on_the_topic_stand_out_and_the_facets_widen(library: Library) -> None:
    found = select(library.store, library.retriever, library.embedder, TOPIC, filters=Filters())
    assert set(found.scores) == set(found.wide) == {*ON_TOPIC, *FACET, *OFF}  # every admitted paper
    on_topic = found.chosen(1.0)  # one standard deviation above the library
    assert set(on_topic[:2]) == set(ON_TOPIC) and not any(k.startswith("off") for k in on_topic)
    assert list(found.scores) == sorted(found.scores, key=lambda k: -found.scores[k])
    assert all(found.wide[k] >= found.scores[k] for k in found.scores)  # a paper's best facet
    assert found.queries == (TOPIC,)
    # the code-switching facet is answerable and brings its paper closer than the whole topic does
    assert "accented speech recognition code switching" in found.facets
    assert found.wide["cs1"] > found.scores["cs1"]
    assert not any(k.startswith("off") for k in found.chosen(1.0, wide=True))


def test_filters_bound_the_papers_scored(library: Library) -> None:
    keys = frozenset({"asr1", "off0", "off1", "off2"})
    found = select(library.store, library.retriever, library.embedder, TOPIC, filters=Filters(keys=keys))
    assert set(found.scores) == keys and found.chosen(1.0) == ["asr1"]
    by_year = select(
        library.store, library.retriever, library.embedder, TOPIC, filters=Filters(years=(2020, 2020))
    )
    assert set(by_year.scores) == {k for k in library.store.all_keys() if library.get(k).year == 2020}
