"""Cited answers from a real local model: llama.cpp's server with SmolLM2-135M-Instruct, started
by `litassist serve-local`. The model is tiny, so the tests check structure, not wording."""

from __future__ import annotations

from pathlib import Path

import pytest

import prompts
from assistant import Library, Settings
from assistant.local_server import MODEL_ALIAS
from assistant.settings import LLMSettings
from store.embedder import LocalEmbedder
from tests.conftest import SEEDS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def library(
    tmp_path_factory: pytest.TempPathFactory, llama_server: str, local_embedder: LocalEmbedder
) -> Library:
    folder = tmp_path_factory.mktemp("local-llm")
    settings = Settings(
        llm=LLMSettings(base_url=llama_server, model=MODEL_ALIAS, max_tokens=160, timeout=300)
    )
    library = Library(folder / "library", settings=settings, embedder=local_embedder)
    # the Hugging Face listing: 60 papers with titles, dates and abstracts
    assert library.add(SEEDS / "002_47b77621b76a6c7c.txt").ok
    return library


def test_the_answer_streams_and_every_citation_resolves(library: Library) -> None:
    answer = library.ask(
        "How does Latent-OFER recognise facial expressions when the face is occluded?", k=3, stream=True
    )
    deltas = list(answer)
    assert answer.mode == "llm"
    assert len(deltas) > 5 and "".join(deltas) == answer.text
    given = {p.chunk_id for p in answer.passages}
    assert answer.passages and all(c.passage.chunk_id in given for c in answer.citations)
    assert {r.paper.key for r in answer.references} <= {p.key for p in answer.passages}
    assert "[@" not in answer.text  # every citation was rendered or removed
    for key in answer.dropped_citations:
        assert key not in {p.key for p in answer.passages}
    # llama.cpp's server reports no usage in streams: it stays None rather than made up
    assert answer.usage.completion_tokens is None or answer.usage.completion_tokens > 0
    # every sentence is cited (by the model, or attributed by the code and marked) or flagged
    for sentence in answer.sentences:
        assert sentence.cited or sentence.flagged
        assert not (sentence.cited and sentence.flagged)
    attributed = {c.sentence for c in answer.citations if c.attributed}
    assert attributed == {i for i, s in enumerate(answer.sentences) if s.attributed}


def test_a_draft_never_leaves_a_section_to_the_refusal(library: Library) -> None:
    draft = library.related_work("facial expression recognition in images and videos", max_papers=6)
    assert draft.mode == "llm" and draft.sections
    for section in draft.sections:
        assert section.checked.text.strip() != prompts.REFUSAL
        assert section.checked.citations, f"{section.theme.name} cites nothing"
        given = {p.chunk_id for p in section.passages}
        assert all(c.passage.chunk_id in given for c in section.checked.citations)
    assert set(draft.cited_keys) <= set(draft.papers)


def test_an_off_topic_question_is_refused(library: Library) -> None:
    answer = library.ask("What is the boiling point of ethanol at sea level?", stream=True)
    assert "".join(answer) == prompts.REFUSAL
    assert answer.refused and answer.references == [] and answer.usage.total_tokens is None  # no model call


def test_follow_up_through_the_model(library: Library) -> None:
    first = library.ask("Which papers study facial expression recognition?", k=3)
    assert first.usage.completion_tokens and first.usage.prompt_tokens  # reported without streaming
    second = library.ask("How do they deal with occluded faces?", k=3, history=[first])
    assert second.search_query != second.question  # rewritten into a standalone question (or carried)
    given = {p.chunk_id for p in second.passages}
    assert all(c.passage.chunk_id in given for c in second.citations)
    shared = {r.paper.key for r in first.references} & {r.paper.key for r in second.references}
    first_numbers = {r.paper.key: r.number for r in first.references}
    assert all(r.number == first_numbers[r.paper.key] for r in second.references if r.paper.key in shared)


def test_cli_ask_against_the_local_server(library: Library, llama_server: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "-L",
            str(library.path),
            "ask",
            "--k",
            "3",
            "--json",
            "What is facial beauty prediction?",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "LITASSIST_LLM__BASE_URL": llama_server,
            "LITASSIST_LLM__MODEL": MODEL_ALIAS,
            "LITASSIST_LLM__MAX_TOKENS": "120",
            "HF_HUB_OFFLINE": "1",
        },
    )
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["mode"] == "llm" and data["question"] == "What is facial beauty prediction?"
    keys = {c["key"] for c in data["citations"]}
    assert keys <= {r["key"] for r in data["references"]}
    assert all(isinstance(c["attributed"], bool) for c in data["citations"])
    assert all(s["keys"] or s["flagged"] for s in data["sentences"])
