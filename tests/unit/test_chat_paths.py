"""The model path of answers without a server: the recording fake (``tests/fakes.py``) writes,
the real citation check, retry and refusal code read what it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

import prompts
from assistant import Library
from tests.fakes import RecordingChat
from tests.unit.test_answer import BIB

QUESTION = "Which virtual try-on model preserves garment texture?"


@pytest.fixture
def library(fake_library: Library, tmp_path: Path) -> Library:
    path = tmp_path / "refs.bib"
    path.write_text(BIB)
    assert fake_library.add(path).ok
    return fake_library


def test_a_citation_of_no_given_passage_is_removed_and_reported(library: Library) -> None:
    chat = RecordingChat("The diffusion model preserves garment texture [1]. It also folds laundry [9].")
    answer = library.using(chat).ask(QUESTION)
    assert answer.mode == "llm" and len(chat.calls) == 1
    assert "[9]" not in answer.text and answer.dropped_citations
    assert [r.paper.key for r in answer.references] == ["tryon2024"]
    assert all(c.key in answer.allowed_keys for c in answer.citations)
    # the prompt the model got holds the passage its label stands for
    assert "garment texture" in chat.calls[0][-1]["content"]


def test_a_model_that_declines_relevant_passages_is_asked_again_once(library: Library) -> None:
    chat = RecordingChat(prompts.REFUSAL, "The diffusion model preserves garment texture [1].")
    answer = library.using(chat).ask(QUESTION)
    assert len(chat.calls) == 2 and not answer.refused
    assert any("asked again" in note for note in answer.notes)
    assert "[1]" in chat.calls[1][-1]["content"]  # the second request names the relevant passages
    assert [r.paper.key for r in answer.references] == ["tryon2024"]


def test_a_question_the_library_cannot_answer_never_reaches_the_model(library: Library) -> None:
    chat = RecordingChat("Ethanol boils at 78 degrees [1].")
    answer = library.using(chat).ask("What is the boiling point of ethanol?")
    assert answer.refused and answer.text == prompts.REFUSAL and chat.calls == []


def test_a_streamed_answer_shows_the_checked_text(library: Library) -> None:
    chat = RecordingChat("Our diffusion model preserves garment texture. It transfers a garment [1].")
    answer = library.using(chat).ask(QUESTION, stream=True)
    assert "".join(answer) == answer.text
    # every sentence is cited by the writer or attributed by the code, or flagged
    first, second = answer.sentences
    assert second.keys == ("tryon2024",) and not second.attributed  # cited by the writer
    # left uncited by the writer, and the passage backs it: cited by the code, and marked so
    assert first.keys == ("tryon2024",) and first.attributed
