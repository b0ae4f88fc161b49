"""The segmented lexical index against a fake store: adding papers writes a segment, removing
them marks their units dead, and either way the scores equal those of one index built afresh."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from store import lexical
from store.lexical import LexicalIndex
from store.paper import Paper


class FakeStore:
    """The part of ChromaStore the index reads, with a change marker that moves on every write."""

    def __init__(self) -> None:
        self.chunks: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        self.titles: dict[str, str] = {}
        self.marker = 0
        self.state_reads = 0

    def add(self, key: str, title: str, abstract: str, *body: str, year: int = 2024) -> None:
        texts = [(abstract, "Abstract"), *((b, "Method") for b in body)]
        self.chunks[key] = [
            (
                f"{key}:{i:05d}:h",
                text,
                {"paper_key": key, "kind": "passage", "section": section, "year": year},
            )
            for i, (text, section) in enumerate(texts)
        ]
        self.titles[key] = title
        self.marker += 1

    def remove(self, key: str) -> None:
        del self.chunks[key], self.titles[key]
        self.marker += 1

    def change_marker(self) -> str:
        return str(self.marker)

    def paper_states(self) -> dict[str, str]:
        self.state_reads += 1
        return {key: f"{len(chunks)}:hash-{key}" for key, chunks in self.chunks.items()}

    def chunks_of(self, keys: Sequence[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for key in keys:
            yield from self.chunks[key]

    def iter_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for chunks in self.chunks.values():
            yield from chunks

    def papers(self) -> list[Paper]:
        return [Paper(key=k, title=t) for k, t in self.titles.items()]

    def get_many(self, keys: Sequence[str]) -> dict[str, Paper]:
        return {k: Paper(key=k, title=self.titles[k]) for k in keys if k in self.titles}


def corpus(store: FakeStore, start: int, n: int) -> None:
    topics = ["graph neural networks", "diffusion models", "speech recognition", "protein folding"]
    for i in range(start, start + n):
        topic = topics[i % len(topics)]
        store.add(
            f"paper{i}",
            f"Paper {i} on {topic}",
            f"We study {topic} with a Method{i} (M{i}). It improves accuracy by {i}%.",
            f"The {topic} experiments use dataset D{i} and a baseline.",
        )


def ranking(index: LexicalIndex, query: str, **filters: Any) -> dict[str, tuple[float, float]]:
    scores = index.scores(query, **filters)
    assert scores is not None
    return {
        key: (round(float(p), 4), round(float(w), 4))
        for key, p, w, ok in zip(scores.papers, scores.passage, scores.window, scores.allowed, strict=True)
        if ok
    }


QUERIES = ["diffusion models accuracy", "Method7 speech", "protein dataset baseline", "M3"]


def test_additions_and_removals_score_as_a_fresh_index(tmp_path: Path) -> None:
    store = FakeStore()
    corpus(store, 0, 12)
    index = LexicalIndex(tmp_path / "lexical")
    assert index.ensure_current(store)  # type: ignore[arg-type]
    corpus(store, 12, 3)
    assert index.ensure_current(store)  # type: ignore[arg-type]
    store.remove("paper5")
    assert index.ensure_current(store)  # type: ignore[arg-type]
    assert len(index._segments) == 2  # an addition wrote a segment; the removal none
    fresh = LexicalIndex(tmp_path / "fresh")
    fresh.rebuild(store)  # type: ignore[arg-type]
    for query in QUERIES:
        assert ranking(index, query) == ranking(fresh, query), query
    assert "paper5" not in ranking(index, "diffusion models")
    top = index.scores("Method7 speech")
    assert top is not None and top.top_passages(1)[0][:2] == ("paper7:00000:h", "paper7")
    # filters by key and year
    assert set(ranking(index, "accuracy", keys=["paper1", "paper2"])) == {"paper1", "paper2"}
    assert ranking(index, "accuracy", years=(2025, None)) == {}


def test_a_term_only_papers_outside_the_filters_hold_is_unknown(tmp_path: Path) -> None:
    """What the evidence judgement reads as the question's unknown terms: those no paper the
    search may return holds (a removed paper's terms, or a filtered-out paper's, are unknown)."""
    store = FakeStore()
    corpus(store, 0, 8)
    index = LexicalIndex(tmp_path / "lexical")
    index.ensure_current(store)  # type: ignore[arg-type]

    def unknown(query: str, **filters: Any) -> set[str]:
        scores = index.scores(query, **filters)
        assert scores is not None
        return set(scores.unknown)

    assert unknown("Method3 speech quasars") == {"quasar"}  # stemmed; no paper holds it
    assert unknown("Method3 speech", keys=["paper3", "paper2"]) == set()
    assert unknown("Method3 speech", keys=["paper1", "paper2"]) == {"method3"}  # only paper3 has it
    scores = index.scores("Method3 speech", keys=["paper1", "paper2"])
    assert scores is not None and 0 < scores.unknown_share < 1
    store.remove("paper3")
    index.ensure_current(store)  # type: ignore[arg-type]  # its units are dead, not yet compacted
    assert unknown("Method3 speech") == {"method3"}


def test_reopened_and_unchanged_index_reads_nothing(tmp_path: Path) -> None:
    store = FakeStore()
    corpus(store, 0, 6)
    index = LexicalIndex(tmp_path / "lexical")
    index.ensure_current(store)  # type: ignore[arg-type]
    reads = store.state_reads
    assert not index.ensure_current(store)  # type: ignore[arg-type]
    assert store.state_reads == reads  # the marker has not moved: no read of the papers
    reopened = LexicalIndex(tmp_path / "lexical")
    assert not reopened.ensure_current(store)  # type: ignore[arg-type]  # loaded, and current
    assert ranking(reopened, "diffusion") == ranking(index, "diffusion")


def test_another_process_update_is_loaded_not_redone(tmp_path: Path) -> None:
    store = FakeStore()
    corpus(store, 0, 6)
    mine, other = LexicalIndex(tmp_path / "lexical"), LexicalIndex(tmp_path / "lexical")
    mine.ensure_current(store)  # type: ignore[arg-type]
    other.ensure_current(store)  # type: ignore[arg-type]  # finds the saved index current
    corpus(store, 6, 2)
    other.ensure_current(store)  # type: ignore[arg-type]
    segments = sorted(p.name for p in (tmp_path / "lexical").glob("seg-*"))
    mine.ensure_current(store)  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "lexical").glob("seg-*")) == segments
    assert "paper7" in ranking(mine, "Method7")


def test_segments_and_dead_units_are_compacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "MAX_SEGMENTS", 3)
    store = FakeStore()
    corpus(store, 0, 4)
    index = LexicalIndex(tmp_path / "lexical")
    index.ensure_current(store)  # type: ignore[arg-type]
    for start in (4, 5):
        corpus(store, start, 1)
        index.ensure_current(store)  # type: ignore[arg-type]
    assert len(index._segments) == 3
    corpus(store, 6, 1)
    index.ensure_current(store)  # type: ignore[arg-type]
    assert len(index._segments) == 1 and len(list((tmp_path / "lexical").glob("seg-*"))) == 1
    for key in ("paper0", "paper1", "paper2"):  # 3 of 7 papers: more than a quarter of the units
        store.remove(key)
    index.ensure_current(store)  # type: ignore[arg-type]
    assert index._removed == set() and len(index._segments[0].papers) == 4


def test_unreadable_index_is_rebuilt(tmp_path: Path) -> None:
    store = FakeStore()
    corpus(store, 0, 3)
    LexicalIndex(tmp_path / "lexical").ensure_current(store)  # type: ignore[arg-type]
    (tmp_path / "lexical" / "state.json").write_text("{not json")
    index = LexicalIndex(tmp_path / "lexical")
    assert index.ensure_current(store)  # type: ignore[arg-type]
    assert "paper1" in ranking(index, "Method1")
