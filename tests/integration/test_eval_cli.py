"""`litassist eval` as a user runs it: the development files of ../shared/eval as they are (gold
named by slugs that their papers_index.jsonl maps to abstracts), over the listing's library,
which holds only some of those papers: the others are reported, not counted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.integration.test_cli import run

pytestmark = pytest.mark.integration

DEV_QA = SHARED / "eval" / "dev_qa.jsonl"


@pytest.fixture
def library(listing_library: Path, tmp_path: Path) -> str:
    shutil.copytree(listing_library, tmp_path / "lib")
    return str(tmp_path / "lib")


def test_eval_retrieval_on_the_dev_questions(library: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = run("--library", library, "eval", "retrieval", str(DEV_QA), "--json", "--html", str(page))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "retrieval" and report["k"] == 5 and len(report["questions"]) == 40
    hybrid = report["summary"]["retrievers"]["hybrid"]
    assert set(hybrid) >= {"lookup", "paraphrase", "numeric", "multi", "all"}
    assert 0.5 < hybrid["all"]["recall@5"] <= 1 and 0.5 < hybrid["all"]["ndcg@10"] <= 1
    # the listing holds 60 of the 95 papers: gold papers outside it are reported, not scored
    unresolved = [q for q in report["questions"] if q["unresolved"]]
    assert unresolved and report["summary"]["unresolved_gold"] == sum(
        len(q["unresolved"]) for q in unresolved
    )
    assert all("no paper's abstract has this text" in u for q in unresolved for u in q["unresolved"])
    scored = [q for q in report["questions"] if q["gold"]]
    assert all(set(q["ranked"]) == {"hybrid", "dense", "lexical"} for q in scored)
    refusal = report["summary"]["refusal"]
    assert refusal["negatives"] == 5 and refusal["answerable"] == 35
    html = page.read_text()
    assert html.count("<details") == 40 and "Retrieved (hybrid)" in html and "left out of the scores" in html


def test_eval_answers_and_drafts_extractive_tables(library: str, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "fine",
                "question": "How does FineCLIPER describe facial expressions?",
                "gold": [
                    "FineCLIPER: Multi-modal Fine-grained CLIP for Dynamic Facial Expression "
                    "Recognition with AdaptERs"
                ],
            }
        )
        + "\n"
        + json.dumps({"question": "What is the boiling point of ethanol?", "gold": []})
        + "\n"
    )
    answers = run("--library", library, "eval", "answers", str(questions))
    assert answers.returncode == 0, answers.stderr
    assert "mode: extractive" in answers.stderr and "citation validity" in answers.stdout
    assert "100% of" in answers.stdout  # every citation resolves to a passage it was given
    topics = tmp_path / "t.jsonl"
    topics.write_text(
        json.dumps({"topic": "dynamic facial expression recognition", "gold": ["finecliper2024"]}) + "\n"
    )
    drafts = run("--library", library, "eval", "drafts", str(topics), "--json")
    assert drafts.returncode == 0, drafts.stderr
    (topic,) = json.loads(drafts.stdout)["topics"]
    assert topic["error"] is None and topic["recall"] in (0.0, 1.0) and topic["cited"]


def test_a_broken_file_names_the_line(library: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "fine", "gold": []}\n{"question": oops}\n')
    result = run("--library", library, "eval", "answers", str(broken))
    assert result.returncode == 2 and "broken.jsonl, line 2: not JSON" in " ".join(result.stderr.split())
