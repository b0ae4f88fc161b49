"""Summaries written by a model through the real `openai` client against the scripted server:
what the prompt holds (passages from the whole paper), the check of what comes back (invented
keys and bracketed titles removed and reported), a prompt too long, several papers at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant import Library, Settings
from assistant.citations import shown_text
from assistant.settings import LLMSettings
from tests.conftest import PEER_DOCS, FakeEmbedder
from tests.openai_server import OpenAIServer

PASA = "he2025pasa"
BIB = """
@article{lane2024,
  title={Lane Topology From Maps}, author={Roe, Ann}, year=2023,
  abstract={Lane topology reasoning for autonomous driving uses map priors. The model improves lane topology.}
}
"""


@pytest.fixture
def library(tmp_path: Path, openai_server: OpenAIServer) -> Library:
    (tmp_path / "refs.bib").write_text(BIB)
    settings = Settings(llm=LLMSettings(base_url=openai_server.url, model="fake-chat", api_key="sk-test"))
    library = Library(tmp_path / "library", settings=settings, embedder=FakeEmbedder())
    assert library.add([PEER_DOCS / "pasa.pdf", tmp_path / "refs.bib"]).ok
    return library


def _prompt(server: OpenAIServer, index: int = 0) -> tuple[str, str]:
    messages = server.chat_requests()[index]["body"]["messages"]
    return messages[0]["content"], messages[1]["content"]


def test_the_model_reads_the_whole_paper_and_its_citations_are_checked(
    library: Library, openai_server: OpenAIServer
) -> None:
    summary = library.summarize(PASA, length="long")  # the server cites the first two passages
    assert summary.mode == "llm" and summary.usage.prompt_tokens == 100
    system, user = _prompt(openai_server)
    assert "one per aspect" in user and "limitations" in user and PASA not in system + user
    assert user.startswith("Paper: PaSa: An LLM Agent for Comprehensive Academic Paper Search (2025)")
    later = [p for p in summary.passages if (p.page or 0) >= 5]
    # every passage, under its label, without the paper's own reference markers
    assert later and all(shown_text(p.text) in user for p in summary.passages)
    assert "[1] Abstract" in user and any(f"page {p.page}" in user for p in later)
    assert openai_server.chat_requests()[0]["body"]["max_tokens"] == 1000  # room for four paragraphs
    used = {p.chunk_id for p in summary.passages}
    assert summary.citations and all(c.key == PASA and c.passage.chunk_id in used for c in summary.citations)
    assert [r.paper.key for r in summary.references] == [PASA] and summary.dropped_citations == []
    assert "[1]" in summary.text and summary.grounded


def test_invented_keys_and_titles_are_removed_and_reported(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.replies = [
        "PaSa is an agent that searches for papers [@he2025pasa]. "
        "It outperforms Google Scholar [@smith2021made]. "
        "Its crawler is trained with reinforcement learning [@Attention Is All You Need]. "
        "Maps also help [Lane Topology From Maps]. "
        "The selector reads each paper [@he2025pasa, p. 5]."
    ]
    summary = library.summarize(PASA, focus="the crawler")
    assert summary.dropped_citations == [
        "smith2021made",
        "Attention Is All You Need",
        "Lane Topology From Maps",
    ]
    assert "smith2021made" not in summary.text and "smith2021made" in summary.model_text
    for title in ("Attention Is All", "Lane Topology"):
        assert title not in summary.text and title not in summary.raw_text
    written = [s for s in summary.sentences if not s.attributed]
    assert [s.text for s in written if s.cited] == [
        "PaSa is an agent that searches for papers [@he2025pasa].",
        "The selector reads each paper [@he2025pasa].",
    ]
    # a sentence whose citation was invented may be attributed to the passage that backs it
    # ("Google Scholar" is in PaSa's passages), never to the lane paper
    assert all(s.keys == (PASA,) for s in summary.sentences if s.attributed)
    assert "Maps also help." in summary.text
    assert {c.key for c in summary.citations} == {PASA}
    assert [r.paper.key for r in summary.references] == [PASA]  # never the lane paper
    assert "Concentrate on: the crawler" in _prompt(openai_server)[1]
    assert summary.to_dict()["dropped_citations"] == summary.dropped_citations


def test_a_prompt_too_long_is_retried_once_with_half_the_passages(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.faults = ["context"]
    summary = library.summarize(PASA)
    first, second = (_prompt(openai_server, i)[1] for i in (0, 1))
    assert len(second) < len(first) and summary.mode == "llm"
    assert summary.passages[0].section == "Abstract"
    assert all(shown_text(p.text) in second for p in summary.passages)
    assert summary.citations


def test_several_papers_one_line_each_and_a_synthesis(library: Library, openai_server: OpenAIServer) -> None:
    openai_server.replies = [
        "- PaSa is an LLM agent for academic paper search [@he2025pasa].\n"
        "- Map priors help lane topology reasoning [@lane2024].\n\n"
        "Synthesis: Both use learned models with outside knowledge [@he2025pasa; @lane2024], "
        "unlike earlier work [@doe2020old]."
    ]
    summaries = library.summarize_many([PASA, "lane2024"])
    _, user = _prompt(openai_server)
    assert "Paper 1: PaSa" in user and "Paper 2: Lane Topology From Maps (2023)" in user
    assert "[1] Abstract" in user and re.search(r"Paper 2: Lane[^\n]*\n\[\d+\] Abstract", user)
    assert [line.key for line in summaries.lines] == [PASA, "lane2024"]
    assert [line.text for line in summaries.lines] == [
        "PaSa is an LLM agent for academic paper search [1].",
        "Map priors help lane topology reasoning [2].",
    ]
    assert (
        summaries.synthesis == "Both use learned models with outside knowledge [1, 2], unlike earlier work."
    )
    assert summaries.dropped_citations == ["doe2020old"]
    assert [r.paper.key for r in summaries.references] == [PASA, "lane2024"]
    assert summaries.markdown().startswith("- PaSa is an LLM agent") and "[2] " in summaries.markdown()


def test_a_one_sentence_summary_through_the_model(library: Library, openai_server: OpenAIServer) -> None:
    summary = library.summarize(PASA, length="sentence", focus="approach")
    _, user = _prompt(openai_server)
    assert "Write one sentence." in user and "Concentrate on: approach" in user
    assert summary.mode == "llm" and summary.length == "sentence" and summary.citations
