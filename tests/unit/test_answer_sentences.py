"""Which sentences an extractive answer may quote (``assistant.extractive.evidence``) and which
one a definition question prefers (``answer_scores``); the third person of extractive drafts
(``assistant.person``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import Library
from assistant.extractive import answer_scores, defines, definition_subject, evidence, term_shares
from assistant.passages import Passage
from assistant.person import first_person, paper_name, third_person
from store.lexical import tokens
from store.paper import Paper

PROSE = "PaSa is an agent that searches academic papers with a language model and reinforcement learning."
TEMPLATE = "You need to predict which sections to look at and which references to expand for the query."
REFERENCE = "Smith, J. and Doe, A. 2021. Deep search agents. In Proceedings of ACL, pp. 1-10."
CAPTION = "Table 3: Recall of PaSa and the baselines on the RealScholarQuery benchmark of papers."


def test_references_appendix_templates_and_captions_are_not_evidence() -> None:
    passages = [
        Passage("pasa", "c1", f"{PROSE} {TEMPLATE} {CAPTION}", "Abstract", 1),
        Passage(
            "pasa",
            "c2",
            "The crawler reads every paper it selects and then decides what to read next.",
            "References",
            13,
        ),
        Passage("pasa", "c3", REFERENCE, None, 12),
    ]
    texts = [s.text for s in evidence(passages)]
    assert texts == [PROSE]


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("What is PaSa?", "PaSa"),
        ("What is PaSa and how does it search for papers?", "PaSa"),
        ("What does FineCLIPER do?", "FineCLIPER"),
        ("What's UniF^2ace?", "UniF^2ace"),
        ("What is masked image modeling?", "masked image modeling"),
        ("What is the main contribution of the paper about occluded faces?", None),
        ("Which models recognise facial expressions?", None),
        ("What does the FER-YOLO-VSS module in FER-YOLO-Mamba combine?", None),
    ],
)
def test_the_subject_of_a_definition_question(question: str, subject: str | None) -> None:
    assert definition_subject(question) == subject


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("To this end, we introduce PaSa, an advanced paper search agent powered by LLMs.", True),
        ("PaSa is an agent that searches academic papers.", True),
        ("We present a Paper Search Agent (PaSa) that reads papers.", True),
        ("PaSa (Paper Search Agent), which is trained with RL, reads papers.", True),
        ("PaSa outperforms Google Scholar by 37.78% in recall@20.", False),
        ("PaSaNet is a network.", False),  # another name
    ],
)
def test_a_sentence_that_defines_its_subject(sentence: str, expected: bool) -> None:
    assert defines(sentence, "PaSa") is expected


def test_a_sentence_holding_the_questions_rare_terms_is_weighed_by_their_rarity() -> None:
    opening = "Human pose plays a crucial role in understanding people in the digital age."
    answer = "Specifically, we apply a pose tokenizer to convert 3D poses into discrete pose tokens."
    found = evidence([Passage("unipose", "c1", f"{opening} {answer}", "Abstract", 1)])
    # the question's terms as the lexical index stems them, with their IDF: "token" is rare
    terms = dict.fromkeys(tokens("pose"), 0.5) | dict.fromkeys(tokens("tokens"), 3.0)
    assert term_shares(found, terms) == pytest.approx([0.5 / 3.5, 1.0])
    assert not term_shares(found, {}).any()  # no lexical side: the score alone decides


def test_a_definition_question_prefers_the_defining_sentence_to_a_closer_figure() -> None:
    figure = "PaSa outperforms Google Scholar by 37.78% in recall@20 on academic paper search queries."
    passages = [Passage("pasa", "c1", f"{figure} {PROSE}", "Abstract", 1)]
    found = evidence(passages)
    assert [s.text for s in found] == [figure, PROSE]
    similarity = np.array([0.6, 0.45])  # the figure shares more of the question's words
    assert int(np.argmax(answer_scores(found, similarity, passages, "What is PaSa?"))) == 1
    # any other question: closeness alone
    assert int(np.argmax(answer_scores(found, similarity, passages, "How well does PaSa recall?"))) == 0


@pytest.mark.parametrize(
    ("sentence", "name", "singular", "expected"),
    [
        (
            "In this paper, we propose a new benchmark dataset, called SCUT-FBP5500, for beauty prediction.",
            "SCUT-FBP5500",
            True,
            "The authors propose a new benchmark dataset, called SCUT-FBP5500, for beauty prediction.",
        ),
        (
            "We also show that our method outperforms prior work, and we release our code.",
            "PaSa",
            True,
            "PaSa also shows that their method outperforms prior work, and they release their code.",
        ),
        ("We study how masks help us.", "FSFM", True, "FSFM studies how masks help them."),
        ("This paper presents a unified model.", "the authors", False, "That work presents a unified model."),
        (
            "We have evaluated ours on three datasets.",
            "Smith et al.",
            False,
            "Smith et al. have evaluated theirs on three datasets.",
        ),
        ("The model improves lane topology.", "Lane", True, "The model improves lane topology."),
    ],
)
def test_first_person_claims_in_the_third_person(
    sentence: str, name: str, singular: bool, expected: str
) -> None:
    rewritten = third_person(sentence, name, singular)
    assert rewritten == expected and not first_person(rewritten)


def test_how_a_paper_is_named() -> None:
    assert paper_name(Paper(key="k", title="PaSa: An LLM Agent for Paper Search")) == ("PaSa", True)
    assert paper_name(Paper(key="k", title="Deep Search", authors=["Doe, Jane", "Roe, Ann"])) == (
        "Doe et al.",
        False,
    )
    assert paper_name(Paper(key="k", title="Deep Search", authors=["Jane Doe"])) == ("Doe", True)
    assert paper_name(Paper(key="k", title="Deep Search")) == ("the authors", False)


def test_what_is_x_is_answered_with_the_sentence_that_defines_x(
    fake_library: Library, tmp_path: Path
) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@article{he2025pasa, title={PaSa: An LLM Agent for Academic Paper Search}, author={He, Yichen},\n"
        "  year=2025, abstract={PaSa outperforms Google Scholar by 37.78 percent in recall on academic\n"
        "  paper search queries. We introduce PaSa, an agent that searches academic papers and follows\n"
        "  their citations.}}\n"
        "@article{lane2024, title={Lane Topology From Maps}, author={Roe, Ann}, year=2023, abstract={Lane\n"
        "  topology reasoning for autonomous driving uses map priors. The model improves lane topology.}}\n"
    )
    assert fake_library.add(bib).ok
    answer = fake_library.ask("What is PaSa?", mode="extractive")
    assert answer.raw_text.startswith("We introduce PaSa, an agent") and answer.citations
    assert all(c.key == "he2025pasa" for c in answer.citations)
