"""The UI's handlers (ui/handlers.py) called directly, without Gradio or a browser, over a small
library and the scripted OpenAI-compatible server: streaming chat turns, errors as messages,
per-session endpoints, uploads, removal, summaries and drafts."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import bibtexparser
import pytest

from assistant import Library
from store.errors import LitassistError
from tests.conftest import free_port
from tests.openai_server import OpenAIServer
from tests.wire.conftest import QUESTION, SECRET, library_at
from ui.handlers import Handlers
from ui.uploads import Uploads

NEW_PAPER = """@inproceedings{colour2025,
  title = {Colour Constancy for Garment Photographs},
  author = {Roe, Richard},
  year = {2025},
  abstract = {Colour constancy keeps garment colours stable across lighting in product photographs.}
}
"""


@pytest.fixture
def library(tmp_path: Path, openai_server: OpenAIServer, papers: Path) -> Library:
    return library_at(tmp_path, openai_server, papers)


@pytest.fixture
def handlers(library: Library, tmp_path: Path) -> Handlers:
    return Handlers(library, uploads=Uploads(tmp_path / "uploads", max_bytes=20_000), files_route="/f=")


def markers(text: str) -> set[str]:
    return set(re.findall(r"\[(\d+)\]", text))


def cards(sources: str) -> set[str]:
    return set(re.findall(r'id="source-(\d+)"', sources))


def test_chat_streams_then_shows_the_checked_answer_with_a_card_per_marker(
    handlers: Handlers, openai_server: OpenAIServer
) -> None:
    turns = list(handlers.chat(f"  {QUESTION} ", [], [], None))
    first, last = turns[0], turns[-1]
    assert first.messages == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": ""},
    ]
    replies = [t.messages[-1]["content"] for t in turns[1:-1]]
    assert len(replies) >= 5  # it grows, delta by delta
    assert all(b.startswith(a) and b != a for a, b in pairwise(replies))
    final = last.messages[-1]["content"]
    assert markers(final) and markers(final) == cards(last.sources)
    assert "Texture Preserving Virtual Try-On" in last.sources and "⚠️" not in final
    assert len(last.answers) == 1 and first.answers == []
    assert openai_server.chat_requests()[-1]["body"]["stream"] is True


def test_follow_up_carries_the_conversation_and_its_numbers(
    handlers: Handlers, openai_server: OpenAIServer
) -> None:
    first = list(handlers.chat(QUESTION, [], [], None))[-1]
    openai_server.replies = [
        "How is the texture fidelity of the virtual try-on diffusion model measured?",  # the rewrite
        "Texture fidelity reaches 94.1 percent [@tryon2024]. Masking colour channels differs [@mae2023].",
    ]
    follow = list(
        handlers.chat("And how is its texture fidelity measured?", first.messages, first.answers, None)
    )
    last = follow[-1]
    assert [m["role"] for m in last.messages] == ["user", "assistant", "user", "assistant"]
    assert last.messages[:2] == first.messages and len(last.answers) == 2
    before = {r.paper.key: r.number for r in first.answers[0].references}
    after = {r.paper.key: r.number for r in last.answers[1].references}
    assert after["tryon2024"] == before["tryon2024"] and after["mae2023"] == max(before.values()) + 1
    assert follow[0].sources == first.sources  # shown while the next one streams
    # every marker of the conversation has its card: the latest answer's first, then the earlier
    conversation = " ".join(m["content"] for m in last.messages if m["role"] == "assistant")
    assert markers(conversation) == cards(last.sources)
    latest, _, earlier = last.sources.partition("Earlier in this conversation")
    assert cards(latest) == markers(last.messages[-1]["content"])
    assert cards(earlier) == markers(conversation) - markers(last.messages[-1]["content"])


def test_an_endpoint_that_is_down_ends_the_answer_with_a_readable_message(handlers: Handlers) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    llm, note = handlers.choose_endpoint(dead, "some-model", "", False)
    assert dead in note
    assert llm is not None
    llm = llm.model_copy(update={"max_retries": 0})
    turns = list(handlers.chat(QUESTION, [], [], llm))
    reply = turns[-1].messages[-1]["content"]
    assert reply.startswith("⚠️") and dead in reply and "Traceback" not in reply
    assert turns[-1].answers == []  # a failed answer is not part of the conversation


def test_a_broken_stream_keeps_what_came_and_says_what_failed(
    handlers: Handlers, openai_server: OpenAIServer
) -> None:
    openai_server.faults = ["malformed"]
    reply = list(handlers.chat(QUESTION, [], [], None))[-1].messages[-1]["content"]
    streamed, _, error = reply.partition("⚠️")
    assert streamed.strip() and "malformed stream" in error


def test_the_session_endpoint_and_the_settings_view(handlers: Handlers, openai_server: OpenAIServer) -> None:
    assert "fake-chat" in handlers.banner(None)
    extractive, note = handlers.choose_endpoint("", "", "", True)
    assert "Extractive mode" in handlers.banner(extractive) and "extractively" in note
    turns = list(handlers.chat(QUESTION, [], [], extractive))
    assert turns[-1].answers[0].mode == "extractive" and not openai_server.chat_requests()
    assert handlers.choose_endpoint("", "", "", False) == (None, "This session uses the configured endpoint.")
    with pytest.raises(LitassistError, match="not an http"):
        handlers.choose_endpoint("file:///etc/passwd", "", "", False)
    own, _ = handlers.choose_endpoint(openai_server.url, "", "sk-session-key", False)
    view = handlers.settings_markdown(own)
    assert openai_server.url in view and "this session" in view and "3 papers" in view
    assert (
        "sk-session-key" not in view and SECRET not in view and SECRET not in handlers.settings_markdown(None)
    )
    assert (
        handlers.library.chat is not None and handlers.library.chat.base_url == openai_server.url
    )  # unchanged


def test_uploads_go_in_with_progress_and_a_result_per_file(handlers: Handlers, tmp_path: Path) -> None:
    browser = tmp_path / "gradio-cache"  # where Gradio puts uploads, under their own names
    browser.mkdir()
    (browser / "new refs.bib").write_text(NEW_PAPER)
    (browser / "broken.pdf").write_bytes(b"this is not a PDF")
    (browser / "huge.txt").write_text("x" * 30_000)
    calls: list[tuple[float | None, str]] = []
    summary, rows = handlers.add_files(
        [browser / "new refs.bib", browser / "broken.pdf", browser / "huge.txt"],
        lambda f, d: calls.append((f, d)),
    )
    assert summary.startswith("**1 added, 0 skipped, 1 failed.**") and "1 file(s) refused" in summary
    assert rows[0][:3] == ["added", "colour2025", "Colour Constancy for Garment Photographs"]
    assert rows[1][0] == "failed" and rows[1][2] == "broken.pdf" and rows[1][3]
    assert rows[2][0] == "failed" and rows[2][2] == "huge.txt" and "over the upload limit" in str(rows[2][3])
    assert calls[-1] == (1.0, "done")
    kept = sorted(p.name for p in handlers.uploads.folder.iterdir() if not p.name.startswith("."))
    assert kept == ["new_refs.bib"]  # the broken file is not kept, the huge one never copied
    paper = handlers.library.get("colour2025")
    assert paper.sources == [str(handlers.uploads.folder.resolve() / "new_refs.bib")]
    assert [r[0] for r in handlers.paper_rows("constancy roe")] == ["colour2025"]
    assert ("colour2025 - Colour Constancy for Garment Photographs", "colour2025") in handlers.paper_choices()
    again, rows = handlers.add_files([browser / "new refs.bib"])
    assert again.startswith("**0 added, 1 skipped") and rows[0][0] == "skipped"


def test_remove(handlers: Handlers) -> None:
    assert handlers.remove(None) == "Choose a paper to remove."
    assert handlers.remove("lane2024").startswith("Removed `lane2024`")
    assert "lane2024" not in [r[0] for r in handlers.paper_rows()]
    assert handlers.remove("lane2024").startswith("⚠️ No paper with key 'lane2024'")


def test_summary_on_demand(handlers: Handlers, openai_server: OpenAIServer) -> None:
    assert handlers.summarize(None, "short", None) == ("Choose a paper to summarise.", "")
    extractive, _ = handlers.choose_endpoint("", "", "", True)
    text, sources = handlers.summarize("tryon2024", "short", extractive)
    assert text.startswith("## Texture Preserving Virtual Try-On (2024)") and "*extractive summary*" in text
    assert markers(text) == cards(sources) == {"1"}
    text, sources = handlers.summarize("tryon2024", "long", None)  # through the scripted model
    assert "*summary*" in text and cards(sources)
    assert handlers.summarize("nope", "short", None)[0].startswith("⚠️ No paper with key 'nope'")


def test_draft_with_files_to_download(handlers: Handlers) -> None:
    extractive, _ = handlers.choose_endpoint("", "", "", True)
    view = handlers.draft("virtual try-on garment texture", "", extractive)
    assert view.outline.startswith("**Outline**") and "tryon2024" in view.outline
    assert "*extractive draft (no language model)*" in view.text and "**References**" in view.text
    assert view.files is not None
    md, tex, bib = view.files
    cited = {e.key for e in bibtexparser.parse_string(bib.read_text()).entries}
    assert "tryon2024" in cited and cards(view.sources) == markers(view.text.split("**References**")[0])
    assert (
        md.name == "related-work-virtual-try-on-garment-texture.md"
        and md.read_text().startswith(
            "---\nbibliography: related-work-virtual-try-on-garment-texture.bib\n---"
        )
        and "[@tryon2024]" in md.read_text()
    )
    assert (
        "\\cite{tryon2024}" in tex.read_text()
        and "\\bibliography{related-work-virtual-try-on-garment-texture}" in tex.read_text()
    )
    assert handlers.draft("  ", "", None).text == "Give a topic for the related-work section."
    off_topic = handlers.draft("quantum chromodynamics lattice simulations", "", extractive)
    assert off_topic.text.startswith("⚠️") and off_topic.files is None


def test_each_answer_says_what_was_searched_and_a_follow_up_can_be_asked_anew(handlers: Handlers) -> None:
    extractive, _ = handlers.choose_endpoint("", "", "", True)
    first = list(handlers.chat(QUESTION, [], [], extractive))[-1]
    assert first.messages[-1]["content"].endswith(f"Searched for:* {QUESTION}") and not first.follow_up
    follow = list(handlers.chat("How is it evaluated?", first.messages, first.answers, extractive))[-1]
    assert follow.follow_up and follow.answers[-1].search_query == f"{QUESTION} How is it evaluated?"
    assert "carried on from the previous question" in follow.messages[-1]["content"]
    anew = list(handlers.ask_again(follow.messages, follow.answers, extractive))[-1]
    assert anew.answers[-1].search_query == "How is it evaluated?" and not anew.follow_up
    assert [m["content"] for m in anew.messages[:3]] == [m["content"] for m in follow.messages[:3]]
    assert len(anew.messages) == 4 and len(anew.answers) == 2  # the follow-up's turn replaced


def test_an_answer_on_weak_evidence_says_so_above_it(handlers: Handlers, library: Library) -> None:
    extractive, _ = handlers.choose_endpoint("", "", "", True)
    retriever = library.retriever
    retriever.parameters = replace(
        retriever.parameters, min_answerable_probability=0.0, caution_probability=1.0
    )
    turns = list(handlers.chat(QUESTION, [], [], extractive))
    growing, final = turns[1].messages[-1]["content"], turns[-1].messages[-1]["content"]
    assert growing.startswith("⚠️ Weak evidence (") and final.startswith("⚠️ Weak evidence (")
    assert final.count("Weak evidence") == 1  # not repeated among the notes under the answer
    retriever.parameters = replace(retriever.parameters, caution_probability=0.0)
    assert (
        "Weak evidence" not in list(handlers.chat(QUESTION, [], [], extractive))[-1].messages[-1]["content"]
    )


def test_a_question_refused_before_any_model_can_be_answered_anyway(
    handlers: Handlers, library: Library
) -> None:
    """A refusal offers "Answer anyway"; taking it replaces the refusal with an answer from the
    same papers that says above it that the judgement would refuse it."""
    extractive, _ = handlers.choose_endpoint("", "", "", True)
    first = list(handlers.chat(QUESTION, [], [], extractive))[-1]
    assert not first.refused and not list(
        handlers.ask_again(first.messages, first.answers, extractive, anyway=True)
    )
    retriever = library.retriever
    retriever.parameters = replace(retriever.parameters, min_answerable_probability=1.01)
    refused = list(handlers.chat(QUESTION, first.messages, first.answers, extractive, follow_up=False))[-1]
    assert refused.refused and refused.answers[-1].citations == []
    turns = list(handlers.ask_again(refused.messages, refused.answers, extractive, anyway=True))
    final = turns[-1]
    assert final.messages[-1]["content"].startswith(
        "⚠️ Asked anyway, although the evidence judgement would refuse it"
    )
    assert not final.refused and final.answers[-1].citations and len(final.answers) == 2
    assert len(final.messages) == 4 and final.messages[:3] == refused.messages[:3]  # the refusal replaced
    # through the model: the refusal asks none, answering anyway does
    by_model = list(handlers.chat(QUESTION, [], [], None))[-1]
    assert by_model.refused and by_model.answers[-1].mode == "llm"
    written = list(handlers.ask_again(by_model.messages, by_model.answers, None, anyway=True))[-1]
    assert written.answers[-1].mode == "llm" and written.answers[-1].citations and not written.refused
    assert written.messages[-1]["content"].startswith("⚠️ Asked anyway, although the evidence judgement")
