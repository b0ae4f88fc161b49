"""Evaluation data and metrics: JSON Lines read with clear errors, gold papers found by key,
title, abstract fragment or a papers file, and the ranking metrics on known rankings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from assistant.errors import EvaluationDataError
from assistant.evaluation import aliases, metrics, questions, topics
from assistant.evaluation.gold import Resolver, Unresolved
from store.paper import Paper

PAPERS = [
    Paper(
        key="smith2024mask",
        title="Masked Modeling of Faces",
        abstract="We mask 75% of face patches and reconstruct them.",
    ),
    Paper(
        key="lee2023tryon",
        title="Diffusion Try-On",
        abstract="A diffusion model dresses a person in a given garment.",
    ),
    Paper(
        key="kim2022tryon",
        title="Better Try-On for Loose Clothes",
        abstract="Loose clothes are hard to try on virtually.",
    ),
]


def test_ranking_metrics() -> None:
    ranked = ["a", "x", "b", "y", "z", "c"]
    assert metrics.recall_at(ranked, {"a", "b", "c"}, 5) == pytest.approx(2 / 3)
    assert metrics.recall_at(ranked, {"c"}, 5) == 0.0 and metrics.recall_at(ranked, {"c"}, 6) == 1.0
    assert metrics.reciprocal_rank(ranked, {"b"}) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(ranked, {"q"}) == 0.0
    ideal = 1 + 1 / math.log2(3)
    assert metrics.ndcg(ranked, {"a", "b"}) == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert metrics.ndcg(["a", "b"], {"a", "b"}) == 1.0
    assert math.isnan(metrics.ndcg(ranked, set()))
    assert metrics.condensed(ranked, {"x", "y"}) == ["a", "b", "z", "c"]
    assert metrics.percentile([0.9, 0.1, 0.5, 0.7, 0.3], 10) == 0.1
    assert metrics.percentile([0.9, 0.1, 0.5, 0.7, 0.3], 50) == 0.5
    assert math.isnan(metrics.mean([])) and metrics.mean([1.0, math.nan, 3.0]) == 2.0
    assert metrics.json_ready({"a": [math.nan, 1.0]}) == {"a": [None, 1.0]}


def test_gold_by_key_title_abstract_and_papers_file(tmp_path: Path) -> None:
    names = tmp_path / "papers_index.jsonl"
    names.write_text(
        '{"slug": "mask", "abstract_start": "We mask 75% of face patches"}\n{"slug": "gone", "key": "nope"}\n'
    )
    resolver = Resolver(PAPERS, aliases(names))
    assert resolver.resolve("lee2023tryon") == "lee2023tryon"
    assert resolver.resolve("masked modeling of FACES") == "smith2024mask"  # a title, any case
    assert resolver.resolve("Better Try-On for Loose") == "kim2022tryon"  # the start of a title
    assert resolver.resolve("Better Try") == "kim2022tryon"  # a short start ("Latent-OFER")
    assert resolver.resolve("dresses a person in a given garment") == "lee2023tryon"  # abstract text
    assert resolver.resolve({"abstract": "loose clothes are hard to try on"}) == "kim2022tryon"
    assert resolver.resolve({"key": "kim2022tryon"}) == "kim2022tryon"
    assert resolver.resolve("mask") == "smith2024mask"  # through the papers file
    gone = resolver.resolve("gone")
    assert isinstance(gone, Unresolved) and "no paper has this key" in gone.problem
    several = resolver.resolve("Try-On")
    assert isinstance(several, Unresolved)
    ambiguous = resolver.resolve({"title": "try on"})
    assert isinstance(ambiguous, Unresolved) and "too short" not in ambiguous.problem
    short = resolver.resolve({"abstract": "garment"})
    assert isinstance(short, Unresolved) and "too short" in short.problem
    # a name the papers file lacks is found by the question's own quote of the abstract
    quote = {"tryon": "A diffusion model dresses a person"}
    assert resolver.resolve_all(["tryon", "tryon", "unknown"], quote)[0] == ["lee2023tryon"]
    assert [u.reference for u in resolver.resolve_all(["tryon", "unknown"], quote)[1]] == ["unknown"]


def test_questions_and_topics_files(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    rows = [
        {"question": "Which papers mask faces?", "gold": ["smith2024mask"], "partial": "lee2023tryon"},
        {},
        {"id": "n1", "question": "Rain?", "gold": []},
    ]
    path.write_text("\n".join(json.dumps(r) if r else "" for r in rows) + "\n")
    first, negative = questions(path)
    assert (first.id, first.type, first.gold, first.partial) == (
        "q1",
        "question",
        ["smith2024mask"],
        ["lee2023tryon"],
    )
    assert (negative.id, negative.type, negative.answerable) == ("n1", "negative", False)
    (topic,) = topics([{"topic": "virtual try-on", "gold": ["lee2023tryon", {"title": "Better Try-On"}]}])
    assert topic.id == "t1" and topic.core == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "ok", "gold": []}\n{"question": broken}\n', "line 2: not JSON"),
        ('["a list"]\n', "line 1: a JSON object is expected"),
        ('{"gold": ["x"]}\n', "line 1: 'question' is missing"),
        ('{"question": "q", "gold": "x", "type": "negative"}\n', "'negative' question has gold"),
        ('{"question": "q", "gold": [3]}\n', "'gold' holds 3"),
        ('{"question": "q", "gold": []}\n{"question": "no gold field"}\n', "line 2: 'gold' is missing"),
        ("\n\n", "holds no questions"),
    ],
)
def test_broken_question_files_say_where_and_why(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(content)
    with pytest.raises(EvaluationDataError, match=message):
        questions(path)


def test_broken_topic_and_papers_files(tmp_path: Path) -> None:
    with pytest.raises(EvaluationDataError, match="no such file"):
        topics(tmp_path / "missing.jsonl")
    with pytest.raises(EvaluationDataError, match="'gold' is empty"):
        topics([{"topic": "x", "gold": []}])
    bad = tmp_path / "papers.jsonl"
    bad.write_text('{"slug": "a"}\n')
    with pytest.raises(EvaluationDataError, match="line 1: a papers file names a paper"):
        aliases(bad)
