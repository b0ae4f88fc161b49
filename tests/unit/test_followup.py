"""When a question carries on from the one before it (``assistant.followup``), and what an
answer then says it searched for."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Library
from assistant.followup import CARRIED_WORDS, refers_back, standalone


@pytest.mark.parametrize(
    "question",
    [
        "How do they evaluate it?",
        "What datasets do they use?",
        "How is this method different from CLIP?",
        "And the results?",
        "What about video clips?",
        "Why?",
        "What are the results?",
        "Which dataset does the paper use?",
        "What did the authors find?",
        "And how do they train it?",
    ],
)
def test_a_question_that_refers_back_is_a_follow_up(question: str) -> None:
    assert refers_back(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is PaSa?",
        "What is PaSa and how does it search for papers?",  # "it" has its antecedent here
        "Which models recognise facial expressions?",
        "Which works build their video generator on a transformer?",  # "their": the works asked for
        "Which paper predicts facial beauty and what is its dataset?",
        "Is it possible to detect deepfakes with foundation models?",  # "it" stands for nothing
        "And how is PaSa trained?",  # an "and" that asks a question of its own
        "What are the results of PaSa?",
        "What is the approach of masked image modeling?",
        "head-turn estimates for webcam attentiveness",  # "he" inside a word is no pronoun
        "",
    ],
)
def test_a_question_with_its_own_subject_is_not(question: str) -> None:
    assert not refers_back(question)


def test_a_follow_up_is_searched_after_the_previous_search_only() -> None:
    assert standalone("How is it evaluated?", "What is PaSa?") == "What is PaSa? How is it evaluated?"
    long = " ".join(f"w{i}" for i in range(100))
    assert standalone("Why?", long).split()[:-1] == long.split()[-CARRIED_WORDS:]
    assert standalone("Why?", None) == "Why?"


BIB = """
@article{tryon2024,
  title={Texture Preserving Virtual Try-On}, author={Doe, Jane}, year=2024,
  abstract={Virtual try-on transfers a garment onto a person image.
            Our diffusion model preserves garment texture.}
}
@article{lane2024,
  title={Lane Topology From Maps}, author={Roe, Ann}, year=2023,
  abstract={Lane topology reasoning for autonomous driving uses map priors. The model improves lane topology.}
}
"""


def test_an_unrelated_question_is_searched_on_its_own(fake_library: Library, tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(BIB)
    assert fake_library.add(path).ok
    first = fake_library.ask("Which virtual try-on model preserves garment texture?")
    second = fake_library.ask("Which lane topology model uses map priors?", history=[first])
    assert second.search_query == second.question and not second.follow_up
    assert second.to_dict()["search_query"] == second.question and second.to_dict()["follow_up"] is False
    third = fake_library.ask("How is it evaluated?", history=[first, second])
    assert third.follow_up and third.search_query == f"{second.search_query} How is it evaluated?"
    fresh = fake_library.ask("How is it evaluated?", history=[first, second], follow_up=False)
    assert fresh.search_query == "How is it evaluated?" and not fresh.follow_up
