"""Summaries without a model (extractive) of a real full-text PDF with the real embedder; the
pieces they are made of (sections read from PDF text, bracketed titles, per-paper lines)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import pytest

from assistant import Library, Settings
from assistant.citations import strip_citations
from assistant.errors import NothingToSummarizeError, PaperNotFoundError
from assistant.passages import Passage
from assistant.sections import label_sections
from assistant.summary import Summarizer, Summary, split_lines
from store.embedder import LocalEmbedder
from store.paper import Chunk
from tests.conftest import PEER_DOCS, FakeEmbedder

PASA = "he2025pasa"
BIB = """
@article{tryon2024,
  title={Texture Preserving Virtual Try-On}, author={Doe, Jane}, year=2024,
  abstract={Virtual try-on transfers a garment onto a person image. Existing methods warp the garment
            with a separate network and lose its texture. Our diffusion model preserves garment texture
            by attending to the garment image directly. It reaches state-of-the-art fidelity on two
            public try-on benchmarks.}
}
@article{lane2024,
  title={Lane Topology From Maps}, author={Roe, Ann}, year=2023,
  abstract={Lane topology reasoning for autonomous driving uses map priors. We encode standard-definition
            maps as graphs and fuse them with camera features. The model improves lane topology
            reasoning on the OpenLane-V2 benchmark by a wide margin.}
}
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> Iterator[Library]:
    """The full-text PaSa PDF and two short papers, embedded once for the module."""
    folder = tmp_path_factory.mktemp("summaries")
    (folder / "refs.bib").write_text(BIB)
    with pytest.MonkeyPatch.context() as env:  # no endpoint from the developer's environment
        for name in [n for n in os.environ if n.startswith(("OPENAI_", "LITASSIST_"))]:
            env.delenv(name)
        library = Library(folder / "library", settings=Settings(), embedder=local_embedder)
        report = library.add([PEER_DOCS / "pasa.pdf", folder / "refs.bib"])
        assert report.ok and len(report.added) == 3
        yield library


def _ordinal(passage: Passage) -> int:
    return int(passage.chunk_id.split(":")[1])


def _reading_positions(summary: Summary) -> list[tuple[int, int]]:
    """Where each summary sentence stands in the paper: (passage, offset)."""
    positions = []
    for sentence in summary.sentences:
        claim = strip_citations(sentence.text, {summary.key}).rstrip(".")
        found = [(i, p.text.find(claim)) for i, p in enumerate(summary.passages) if claim in p.text]
        assert found, f"not a sentence of the passages: {claim!r}"
        positions.append(found[0])
    return positions


def test_long_extractive_summary_reads_every_section_of_a_full_text(library: Library) -> None:
    summary = library.summarize(PASA, length="long", mode="extractive")
    assert summary.mode == "extractive" and summary.key == PASA and summary.length == "long"
    passages = summary.passages
    # the whole paper, not its first chunk: the abstract, then sections spread over its pages
    assert passages[0].section == "Abstract"
    pages = {p.page for p in passages if p.page}
    assert len(pages) >= 5 and max(pages) >= 8
    sections = {p.section for p in passages}
    assert {"Abstract", "Introduction", "Methodology", "Experiments", "Conclusion"} <= sections
    assert "References" not in sections
    assert [_ordinal(p) for p in passages] == sorted(_ordinal(p) for p in passages)
    assert sum(len(p.text.split()) for p in passages) <= 2400
    # eight central sentences, in the paper's reading order, each cited to a passage it was given
    assert len(summary.sentences) == 8 and all(s.keys == (PASA,) for s in summary.sentences)
    positions = _reading_positions(summary)
    assert positions == sorted(positions)
    used = {p.chunk_id for p in passages}
    assert summary.citations and all(c.key == PASA and c.passage.chunk_id in used for c in summary.citations)
    assert any((c.passage.page or 0) > 1 for c in summary.citations)
    assert [r.paper.key for r in summary.references] == [PASA] and summary.dropped_citations == []
    assert "[@" not in summary.text and "[1]" in summary.text
    data = json.loads(json.dumps(summary.to_dict()))
    assert (
        data["mode"] == "extractive" and data["key"] == PASA and data["passages"][0]["section"] == "Abstract"
    )
    assert summary.markdown().startswith("## PaSa: An LLM Agent") and "[1] " in summary.markdown()


def test_short_summary_has_three_sentences_and_no_model_means_extractive(library: Library) -> None:
    summary = library.summarize(PASA)
    assert summary.mode == "extractive" and summary.usage.total_tokens is None
    assert len(summary.sentences) == 3 and summary.grounded
    assert sum(len(p.text.split()) for p in summary.passages) <= 1200
    assert len({p.section for p in summary.passages}) >= 4  # still every section, fewer passages
    positions = _reading_positions(summary)
    assert positions == sorted(positions)
    for sentence in summary.sentences:  # no fragments, captions or reference entries
        assert re.match(r"[A-Z]", sentence.text) and 8 <= len(sentence.text.split()) <= 70
        assert not re.search(r"arXiv|https?:|Figure \d|et al\., 20\d\d.*et al\., 20\d\d", sentence.text)
    # an abstract-only paper still gets its sentences
    short = library.summarize("tryon2024")
    assert len(short.sentences) == 3 and {c.key for c in short.citations} == {"tryon2024"}


def test_focus_changes_which_passages_and_sentences_are_picked(library: Library) -> None:
    plain = library.summarize(PASA, length="long", mode="extractive")
    focus = "reinforcement learning rewards and PPO training of the crawler"
    focused = library.summarize(PASA, length="long", mode="extractive", focus=focus)
    assert focused.focus == focus and plain.focus is None
    assert {s.text for s in focused.sentences} != {s.text for s in plain.sentences}
    assert {p.chunk_id for p in focused.passages} != {p.chunk_id for p in plain.passages}

    def mentions(summary: Summary) -> int:
        return len(re.findall(r"reward|reinforcement|PPO|\bRL\b", summary.raw_text))

    assert mentions(focused) > mentions(plain)
    positions = _reading_positions(focused)
    assert positions == sorted(positions)


def test_unknown_keys_empty_requests_and_missing_endpoint(library: Library) -> None:
    with pytest.raises(PaperNotFoundError, match="nosuchkey"):
        library.summarize("nosuchkey")
    with pytest.raises(PaperNotFoundError, match="nosuchkey"):
        library.summarize_many([PASA, "nosuchkey"])
    with pytest.raises(NothingToSummarizeError, match="give their keys or a query"):
        library.summarize_many([])
    with pytest.raises(NothingToSummarizeError, match="No papers in the library"):
        library.summarize_many("What is the boiling point of ethanol at sea level?")
    with pytest.raises(ValueError, match="no chat endpoint is configured"):
        library.summarize(PASA, mode="llm")
    with pytest.raises(ValueError, match="short or long"):
        library.summarize(PASA, length="medium")  # type: ignore[arg-type]


def test_summarize_many_gives_a_cited_line_per_paper_and_a_synthesis(library: Library) -> None:
    keys = [PASA, "tryon2024", "lane2024"]
    summaries = library.summarize_many(keys, mode="extractive")
    assert summaries.mode == "extractive" and [p.key for p in summaries.papers] == keys
    assert [line.key for line in summaries.lines] == keys
    for line in summaries.lines:
        assert line.raw_text.endswith(f"[@{line.key}].") and "[@" not in line.text
    synthesis = [s for s in summaries.sentences if s.text not in {x.raw_text for x in summaries.lines}]
    assert 1 <= len(synthesis) <= 2
    synthesis_keys = [s.keys[0] for s in synthesis]
    assert all(len(s.keys) == 1 for s in synthesis) and len(set(synthesis_keys)) == len(synthesis_keys)
    assert summaries.synthesis and summaries.synthesis in summaries.text
    assert all(s.cited for s in summaries.sentences)
    used = {p.chunk_id for p in summaries.passages}
    assert all(c.passage.chunk_id in used for c in summaries.citations)
    assert {r.paper.key for r in summaries.references} == set(keys)
    assert summaries.dropped_citations == []
    data = json.loads(json.dumps(summaries.to_dict()))
    assert [line["key"] for line in data["lines"]] == keys
    assert summaries.markdown().startswith("- ")
    # a query: its best papers
    found = library.summarize_many("diffusion model that preserves garment texture in virtual try-on", k=2)
    assert found.query and found.papers[0].key == "tryon2024" and len(found.papers) <= 2


def test_a_paper_without_passages_is_a_clear_error(fake_embedder: FakeEmbedder) -> None:
    summarizer = Summarizer(lambda key: [], lambda ids: {}, fake_embedder, None, list)
    with pytest.raises(NothingToSummarizeError, match="'empty2024' has no passages"):
        summarizer.passages("empty2024", words=1200)


def _chunk(ordinal: int, text: str, page: int | None = 1, section: str | None = None) -> Chunk:
    return Chunk(f"k:{ordinal:05d}:x", "k", text, ordinal, section, page)


def test_pdf_sections_are_read_from_numbered_headings_in_order() -> None:
    chunks = [
        _chunk(0, "We study things.", None, "Abstract"),
        _chunk(1, "1 Introduction Search is hard. We list 3 Things that matter here."),
        _chunk(
            2, "More introduction text that goes on for a while. 2 Related Work Others tried. 2024 Results."
        ),
        _chunk(
            3, "Figure 1: 1 Introduction of it. 3 Method We propose a crawler that reads and ranks papers."
        ),
        _chunk(4, "The crawler reads papers.", 2),
        _chunk(5, "Table text. 4 Experiments 4.1 Setup We test it on a benchmark.", 3),
        _chunk(6, "Ann Author. 2023. A paper title.", 4, "References"),
    ]
    assert label_sections(chunks) == [
        "Abstract",
        "Introduction",  # "3 Things" is not the next number
        "Introduction",  # the heading comes late in the passage; the next one starts with it
        "Method",  # "1 Introduction" inside a figure is out of order
        "Method",
        "Experiments",
        "References",
    ]
    unnumbered = [
        _chunk(0, "Introduction Deep learning is used. It works."),
        _chunk(1, "Theory In this work we."),
    ]
    assert label_sections(unnumbered) == ["Introduction", "Theory"]


def test_model_lines_and_synthesis_are_told_apart() -> None:
    text = "- A does x [@a].\n* B does y [@b].\n\nSynthesis: Both do things [@a; @b]."
    assert split_lines(text) == (["A does x [@a].", "B does y [@b]."], "Both do things [@a; @b].")
    plain = "A does x [@a].\nB does y [@b].\n\nBoth do things [@a; @b]."
    assert split_lines(plain) == (["A does x [@a].", "B does y [@b]."], "Both do things [@a; @b].")
    assert split_lines("Only a synthesis [@a].") == ([], "Only a synthesis [@a].")
