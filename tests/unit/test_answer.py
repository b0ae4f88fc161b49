"""Answers without a model (extractive) on a small library with the fake embedder: conversation,
numbering, streaming, and what needs a model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import prompts
from assistant import InvalidRequestError, Library
from store.lexical import tokens

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


@pytest.fixture
def library(fake_library: Library, tmp_path: Path) -> Library:
    path = tmp_path / "refs.bib"
    path.write_text(BIB)
    assert fake_library.add(path).ok
    return fake_library


def test_extractive_answer_streams_and_numbers_carry_over(library: Library) -> None:
    first = library.ask("Which virtual try-on model preserves garment texture?", stream=True)
    assert "".join(first) == first.text and first.mode == "extractive"
    assert [r.paper.key for r in first.references][:1] == ["tryon2024"]
    second = library.ask("And lane topology for autonomous driving with map priors?", history=[first])
    assert second.search_query.startswith("Which virtual try-on model")  # the context carried along
    numbers = {r.paper.key: r.number for r in second.references}
    assert numbers.get("tryon2024", 1) == 1  # a paper keeps its number in the conversation
    if "lane2024" in numbers:
        assert numbers["lane2024"] == 2


def test_a_search_gives_the_questions_terms_with_their_rarity(library: Library) -> None:
    terms = library.retriever.retrieve("Which model preserves garment texture?", k=5).terms
    assert set(tokens("garment texture")) <= set(terms)
    assert all(idf > 0 for idf in terms.values())


def test_refusal_needs_no_model_and_llm_mode_needs_one(library: Library) -> None:
    refused = library.ask("What is the boiling point of ethanol?")
    assert refused.refused and refused.text == prompts.REFUSAL and refused.citations == []
    assert refused.to_dict()["refused"] is True and refused.grounded
    with pytest.raises(ValueError, match="no chat endpoint is configured"):
        library.ask("Which virtual try-on model preserves garment texture?", mode="llm")


def test_an_empty_question_is_an_error_not_a_refusal(library: Library) -> None:
    # a refusal would offer to answer it anyway, from the nearest papers to nothing
    for question in ("", "  \n "):
        with pytest.raises(InvalidRequestError, match="the question is empty"):
            library.ask(question, anyway=True)


def test_empty_library_refuses(fake_library: Library) -> None:
    answer = fake_library.ask("Anything at all?")
    assert answer.refused and "no paper" in (answer.evidence.reason if answer.evidence else "")


def test_an_answer_from_one_paper_quotes_its_best_sentences_in_reading_order(
    fake_library: Library, tmp_path: Path
) -> None:
    sentences = [
        "Garment texture is lost when virtual try-on warps the garment onto the person.",
        "The weather in the valley was mild for most of the recorded seasons this year.",
        "Our diffusion model keeps garment texture sharp in virtual try-on of every garment.",
        "Garment texture keeps its fine patterns in virtual try-on with our diffusion model.",
    ]
    path = tmp_path / "refs.bib"
    path.write_text(
        "@article{tryon2024, title={Texture Preserving Virtual Try-On}, author={Doe, Jane}, year=2024,\n"
        f"  abstract={{{' '.join(sentences)}}}}}\n"
    )
    assert fake_library.add(path).ok
    answer = fake_library.ask("How does virtual try-on keep garment texture?", mode="extractive")
    quoted = [s for s in sentences if s.rstrip(".") in answer.raw_text]
    assert len(quoted) >= 2 and sentences[1] not in quoted  # more than one, none off the question
    assert quoted == [s for s in sentences if s in quoted]  # in the paper's order
    assert answer.raw_text.count("[@tryon2024]") == len(quoted)  # each one cited


def test_an_answer_on_weak_evidence_says_so(library: Library) -> None:
    """Between the operating point and the caution point a question is answered, with a note that
    the closest papers may be on a neighbouring topic; above the caution point, without one."""
    retriever = library.retriever
    question = "Which virtual try-on model preserves garment texture?"
    retriever.parameters = replace(
        retriever.parameters, min_answerable_probability=0.0, caution_probability=1.0
    )
    weak = library.ask(question)
    assert not weak.refused and weak.citations
    assert weak.notes[0].startswith("weak evidence (") and "neighbouring topic" in weak.notes[0]
    data = weak.to_dict()
    assert data["evidence"]["weak"] is True and data["notes"] == weak.notes
    retriever.parameters = replace(retriever.parameters, caution_probability=0.0)
    plain = library.ask(question)
    assert not plain.refused and plain.evidence is not None and not plain.evidence.weak
    assert not any(n.startswith("weak evidence") for n in plain.notes)
    retriever.parameters = replace(
        retriever.parameters, min_answerable_probability=1.01, caution_probability=1.5
    )
    refused = library.ask(question)
    assert refused.refused and not any(n.startswith("weak evidence") for n in refused.notes)


def test_a_refusal_says_why_and_names_the_nearest_papers(library: Library) -> None:
    """A question the judgement refuses gets one note: its probability against the operating
    point, and the papers that came nearest, so that the researcher can look at them."""
    retriever = library.retriever
    retriever.parameters = replace(retriever.parameters, min_answerable_probability=1.01)
    refused = library.ask("Which virtual try-on model preserves garment texture?")
    assert refused.refused and refused.text == prompts.REFUSAL and refused.citations == []
    [note] = refused.notes
    assert note.startswith("refused before any model was asked: ")
    assert "likely answerable (under 101%, a question is refused)" in note
    nearest = note.split("the nearest papers, judged not to answer it: ")[1].split("; ")
    assert nearest[0] == "Texture Preserving Virtual Try-On [tryon2024]" and len(nearest) <= 2
    assert refused.to_dict()["notes"] == [note]


def test_a_refused_question_can_be_answered_anyway_and_says_so(library: Library) -> None:
    """``anyway=True`` answers what the judgement refuses, from the same papers, with a caveat
    that says the judgement would refuse it; an answerable question is answered as always."""
    retriever = library.retriever
    question = "Which virtual try-on model preserves garment texture?"
    retriever.parameters = replace(retriever.parameters, min_answerable_probability=1.01)
    assert library.ask(question).judged_unanswerable
    answer = library.ask(question, anyway=True)
    assert not answer.refused and not answer.judged_unanswerable
    assert [r.paper.key for r in answer.references][:1] == ["tryon2024"] and answer.grounded
    assert answer.caveat is not None and answer.notes[0] == answer.caveat
    assert (
        answer.caveat.startswith("asked anyway, although the evidence judgement would refuse it: ")
        and "likely answerable (under 101%, a question is refused); the library may hold no paper"
        in answer.caveat
    )
    assert answer.to_dict()["evidence"]["overruled"] is True
    retriever.parameters = replace(
        retriever.parameters, min_answerable_probability=0.0, caution_probability=0.0
    )
    plain = library.ask(question, anyway=True)
    assert plain.caveat is None and plain.to_dict()["evidence"]["overruled"] is False


def test_a_question_no_paper_matches_says_so(fake_library: Library) -> None:
    [note] = fake_library.ask("Anything at all?").notes
    assert note == "refused before any model was asked: no paper in the library matches the question"
    anyway = fake_library.ask("Anything at all?", anyway=True)  # nothing to answer from
    assert anyway.judged_unanswerable and anyway.notes == [note]
