"""Evaluating answers and drafts written by a (scripted) model through the real client: what the
citation check removes and the numbers no passage holds are counted, a question whose endpoint
fails is reported while the rest are evaluated, and the report names the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Library, evaluation
from assistant.evaluation import report
from tests.openai_server import OpenAIServer
from tests.wire.conftest import library_at

QUESTIONS = [
    {
        "id": "fails",
        "question": "How is lane topology reasoned about for driving?",
        "gold": ["Lane Topology From Maps"],
    },
    {
        "id": "tryon",
        "question": "Which virtual try-on model preserves garment texture?",
        "gold": ["tryon2024"],
    },
    {"id": "none", "question": "What is the boiling point of ethanol?", "gold": [], "type": "negative"},
]


@pytest.fixture
def library(tmp_path: Path, openai_server: OpenAIServer, papers: Path) -> Library:
    return library_at(tmp_path, openai_server, papers)


def test_answers_report_removed_citations_unsupported_numbers_and_failures(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.faults = [500, 500, 500]  # every attempt at the first question
    openai_server.replies = [
        "The diffusion model keeps 97.5 percent of the texture [@tryon2024]. "
        "Lane priors help as well [@nosuch2020]."
    ]
    result = evaluation.evaluate_answers(library, QUESTIONS)
    assert result.mode == "llm" and "fake-chat" in result.writer
    failed, tryon, negative = result.cases
    assert failed.error and "500" in failed.error and failed.gold == ["lane2024"]
    assert tryon.error is None and tryon.cited[0] == "tryon2024" and tryon.gold_cited == 1.0
    assert tryon.checks.removed == ["nosuch2020"] and "tryon2024" in tryon.retrieved
    # the sentence whose citation was invented is attributed to the passage that backs it
    assert tryon.cited == ("tryon2024", "lane2024") and tryon.checks.attributed_keys == ["lane2024"]
    assert tryon.checks.citations == tryon.checks.valid == 2
    assert tryon.checks.unsupported_numbers == ["97.5"]
    assert tryon.checks.sentences == 2 and tryon.checks.cited_sentences == 2
    assert tryon.checks.attributed_sentences == 1 and tryon.attributed_right == 0.0
    summary = result.summary()
    assert (
        summary["errors"] == 1 and summary["removed_citations"] == 1 and summary["unsupported_numbers"] == 1
    )
    assert summary["citation_validity"] == 1.0 and summary["negatives"] == 1
    assert not negative.question.answerable and negative.gold == [] and negative.error is None
    page = report.html(result)
    assert "Invented citations removed: nosuch2020" in page and "97.5" in page
    assert "Failed:" in page and "fake-chat" in page
    assert "&lt;" not in result.cases[1].text  # the answer is escaped by the page, not altered
    # the extractive mode of the same library calls no model
    requests = len(openai_server.chat_requests())
    extractive = evaluation.evaluate_answers(library, QUESTIONS[1:2], mode="extractive")
    assert extractive.mode == "extractive" and extractive.writer == "no language model"
    assert len(openai_server.chat_requests()) == requests


def test_drafts_report_recall_and_precision_against_gold(
    library: Library, openai_server: OpenAIServer
) -> None:
    topics = [
        {"id": "fails", "topic": "lane topology reasoning uses map priors", "gold": ["lane2024"]},
        {
            "id": "tryon",
            "topic": "virtual try-on transfers a garment onto a person image",
            "gold": ["tryon2024", "mae2023"],
        },
    ]
    openai_server.faults = [500, 500, 500]  # every attempt at the first topic's first request
    result = evaluation.evaluate_drafts(library, topics)
    failed, case = result.cases
    assert failed.error and "500" in failed.error  # reported; the rest went on
    assert case.error is None and result.mode == "llm"
    assert case.cited and set(case.cited) <= {"tryon2024", "mae2023", "lane2024"}  # the default replies cite
    relevant = set(case.cited) & {"tryon2024", "mae2023"}
    assert case.recall == len(relevant) / 2 and case.precision == len(relevant) / len(case.cited)
    assert case.checks.valid == case.checks.citations > 0
    data = result.to_dict()
    assert data["topics"][1]["missed"] == [g for g in ("tryon2024", "mae2023") if g not in case.cited]
    assert result.summary()["errors"] == 1
    assert "virtual try-on transfers a garment" in report.html(result)


def test_an_endpoint_answering_garbage_fails_that_question_only(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.faults = ["badjson"]
    result = evaluation.evaluate_answers(library, QUESTIONS)
    failed, *rest = result.cases
    assert failed.error and "not JSON" in failed.error
    assert all(c.error is None for c in rest) and result.summary()["errors"] == 1
