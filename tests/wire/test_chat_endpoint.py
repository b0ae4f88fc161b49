"""Cited answers through the real `openai` client against a real (scripted) HTTP server:
streaming, invented keys, refusals, faults, bad configuration and where the key goes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import prompts
from assistant import Library
from assistant.errors import (
    ContextTooLongError,
    EndpointAuthError,
    EndpointResponseError,
    EndpointUnreachableError,
    ModelNotFoundError,
)
from assistant.llm import ChatModel
from tests.conftest import FakeEmbedder, free_port
from tests.openai_server import OpenAIServer, serve_in_thread
from tests.wire.conftest import PAPERS, QUESTION, SECRET, library_at


@pytest.fixture
def library(tmp_path: Path, openai_server: OpenAIServer, papers: Path) -> Library:
    return library_at(tmp_path, openai_server, papers)


def test_streamed_answer_is_cited_and_checked(library: Library, openai_server: OpenAIServer) -> None:
    answer = library.ask(QUESTION, stream=True)
    deltas = list(answer)
    assert len(deltas) > 3  # it streamed
    assert answer.mode == "llm" and not answer.refused
    assert "".join(deltas) == answer.text
    assert "[@" not in answer.text and "[1]" in answer.text
    given = {p.chunk_id: p for p in answer.passages}
    assert answer.citations and all(c.passage.chunk_id in given for c in answer.citations)
    assert [r.number for r in answer.references] == list(range(1, len(answer.references) + 1))
    assert answer.references[0].paper.key == "tryon2024"
    assert answer.usage.prompt_tokens == 100 and answer.usage.completion_tokens
    # the model saw the passages under numbered labels, without their papers' keys
    prompt = openai_server.chat_requests()[0]["body"]["messages"][1]["content"]
    assert "[1] Texture Preserving Virtual Try-On" in prompt and "tryon2024" not in prompt
    assert openai_server.chat_requests()[0]["body"]["stream"] is True
    assert not any(s.attributed for s in answer.sentences)  # the model cited every sentence


@pytest.mark.parametrize("style", ["labels", "parens", "words"])
def test_the_forms_models_cite_in_resolve_to_their_passages(
    library: Library, openai_server: OpenAIServer, style: str
) -> None:
    openai_server.style = style
    for stream in (False, True):
        answer = library.ask(QUESTION, stream=stream)
        shown = "".join(answer)
        assert shown == answer.text and answer.citations
        assert all(s.cited and not s.attributed for s in answer.sentences)
        assert "(1)" not in answer.text and "passage 1" not in answer.text
        # each citation points to the passage its label named
        given = {p.chunk_id: p for p in answer.passages}
        for c in answer.citations:
            assert given[c.passage.chunk_id].key == c.key
            assert c.passage.text.split(".")[0].lower() in answer.sentences[c.sentence].text.lower()


def test_sentences_a_model_left_uncited_are_attributed_and_marked(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.style = "uncited"
    answer = library.ask(QUESTION, stream=True)
    shown = "".join(answer)
    assert shown == answer.text and "[1]" in shown
    assert answer.sentences and all(s.cited and s.attributed for s in answer.sentences)
    assert all(c.attributed for c in answer.citations)
    assert answer.references[0].paper.key == "tryon2024"
    data = answer.to_dict()
    assert all(c["attributed"] for c in data["citations"]) and data["model_text"] == answer.model_text
    assert "[" not in answer.model_text  # what the model wrote cited nothing


def test_a_sentence_nothing_backs_stays_uncited_and_flagged(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.replies = [
        "Our diffusion model preserves garment texture with 94.1 percent fidelity. "
        "Quantum annealing schedules are unrelated to anything here."
    ]
    answer = library.ask(QUESTION)
    first, second = answer.sentences
    assert first.attributed and first.keys == ("tryon2024",) and not first.flagged
    assert second.flagged and not second.keys and second.score is None
    assert answer.text.endswith("Quantum annealing schedules are unrelated to anything here.")


def test_invented_keys_and_titles_are_removed_and_reported(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.replies = [
        "Texture is preserved by a diffusion model [@tryon2024; @smith2021made]. "
        "A famous study agrees [@Made-Up Paper]. Another one does too [jones2020fake]. Lanes [@lane2024]."
    ]
    answer = library.ask(QUESTION)
    assert answer.dropped_citations == ["smith2021made", "jones2020fake", "Made-Up Paper"]
    for invented in ("smith2021made", "jones2020fake", "Made-Up Paper"):
        assert invented not in answer.text
    assert "A famous study agrees." in answer.text
    assert {c.key for c in answer.citations} <= {p.key for p in answer.passages}
    assert {r.paper.key for r in answer.references} <= {"tryon2024", "lane2024"}


@pytest.mark.parametrize("stream", [False, True])
def test_a_refusal_the_evidence_contradicts_is_asked_again(
    library: Library, openai_server: OpenAIServer, stream: bool
) -> None:
    openai_server.style = "refuses-once"
    answer = library.ask(QUESTION, stream=stream)
    assert "".join(answer) == answer.text
    assert not answer.refused and answer.mode == "llm" and answer.citations
    assert prompts.REFUSAL not in answer.text and "asked again" in answer.notes[0]
    retry = openai_server.chat_requests()[-1]["body"]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[2]["content"] == prompts.REFUSAL and "[1] and [2]" in retry[3]["content"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_that_declines_twice_is_answered_for_extractively(
    library: Library, openai_server: OpenAIServer, stream: bool
) -> None:
    openai_server.style = "refuses"
    answer = library.ask(QUESTION, stream=stream)
    assert "".join(answer) == answer.text
    assert not answer.refused and answer.mode == "extractive" and "extractive" in answer.notes[-1]
    assert answer.references[0].paper.key == "tryon2024" and prompts.REFUSAL not in answer.text
    assert len(openai_server.chat_requests()) == 2


@pytest.mark.parametrize("stream", [False, True])
def test_a_refusal_stands_where_the_evidence_is_not_confident(
    library: Library, openai_server: OpenAIServer, stream: bool
) -> None:
    from assistant.answer import Answerer, AnswerParameters

    openai_server.style = "refuses"
    answerer = Answerer(
        library.retriever,
        library.embedder,
        library.chat,
        library.store.chunk_vectors,
        parameters=AnswerParameters(insist_above=99.0),
    )
    answer = answerer.ask(QUESTION, stream=stream)
    assert "".join(answer) == prompts.REFUSAL == answer.text
    assert answer.refused and not answer.references and len(openai_server.chat_requests()) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_asks_for_sentences_under_a_schema(
    tmp_path: Path, openai_server: OpenAIServer, papers: Path, stream: bool
) -> None:
    library = library_at(tmp_path, openai_server, papers, response_format="json_object")
    answer = library.ask(QUESTION, stream=stream)
    assert "".join(answer) == answer.text and "[1]" in answer.text and "{" not in answer.text
    assert all(s.cited and not s.attributed for s in answer.sentences)
    body = openai_server.chat_requests()[0]["body"]
    assert body["response_format"]["type"] == "json_object"
    assert body["response_format"]["schema"]["required"] == ["sentences"]
    assert '"passages"' in body["messages"][-1]["content"]


def test_off_topic_question_is_refused_without_calling_the_model(
    library: Library, openai_server: OpenAIServer
) -> None:
    answer = library.ask("How do quantum error correcting codes protect qubits?")
    assert answer.refused and answer.text == prompts.REFUSAL
    assert openai_server.chat_requests() == []


def test_extractive_mode_cites_evidence_sentences(library: Library, openai_server: OpenAIServer) -> None:
    answer = library.ask(QUESTION, mode="extractive")
    assert answer.mode == "extractive" and not answer.refused
    assert answer.citations and answer.references[0].paper.key == "tryon2024"
    assert openai_server.chat_requests() == []
    for sentence in answer.sentences:
        assert sentence.keys  # every extractive sentence is cited
        assert sentence.text.replace(f" [@{sentence.keys[0]}]", "").rstrip(".") in PAPERS[sentence.keys[0]][1]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried(library: Library, openai_server: OpenAIServer, status: int) -> None:
    openai_server.faults = [status]
    answer = library.ask(QUESTION, stream=True)
    assert "".join(answer) and answer.citations
    assert len(openai_server.chat_requests()) == 2


def test_persistent_rate_limit_is_a_clear_error(library: Library, openai_server: OpenAIServer) -> None:
    openai_server.faults = [429] * 3
    with pytest.raises(EndpointResponseError, match=r"rate-limiting"):
        library.ask(QUESTION)
    assert len(openai_server.chat_requests()) == 3  # the first try and two retries


def test_slow_server_times_out(tmp_path: Path, openai_server: OpenAIServer, papers: Path) -> None:
    library = library_at(tmp_path, openai_server, papers, timeout=0.3)
    library.chat.client = library.chat.client.with_options(max_retries=0)  # type: ignore[union-attr]
    openai_server.faults, openai_server.delay = ["slow"], 1.5
    with pytest.raises(EndpointUnreachableError, match=r"did not answer in time"):
        library.ask(QUESTION)


@pytest.mark.parametrize(
    ("fault", "message"), [("malformed", "malformed stream"), ("truncated", "before the answer")]
)
def test_broken_streams_are_clear_errors(
    library: Library, openai_server: OpenAIServer, fault: str, message: str
) -> None:
    openai_server.faults = [fault]
    answer = library.ask(QUESTION, stream=True)
    with pytest.raises(EndpointResponseError, match=message):
        list(answer)


def test_garbage_body_is_a_clear_error(library: Library, openai_server: OpenAIServer) -> None:
    openai_server.faults = ["garbage"]
    with pytest.raises(EndpointResponseError, match=r"not a chat completion|not the API"):
        library.ask(QUESTION)


def test_context_too_long_trims_passages_and_retries_once(
    library: Library, openai_server: OpenAIServer
) -> None:
    openai_server.faults = ["context"]
    answer = library.ask(QUESTION, stream=True)
    assert "".join(answer)
    first, second = (r["body"]["messages"][1]["content"] for r in openai_server.chat_requests())
    assert second.count("\n[") < first.count("\n[")
    assert "[1] Texture Preserving Virtual Try-On" in second  # the best paper's passage survives
    openai_server.faults = ["context", "context"]
    with pytest.raises(ContextTooLongError, match=r"too long"):
        library.ask(QUESTION)


def test_wrong_key_unknown_model_and_no_server(
    tmp_path: Path, openai_server: OpenAIServer, papers: Path
) -> None:
    library = library_at(tmp_path, openai_server, papers)
    openai_server.faults = [401]
    with pytest.raises(EndpointAuthError, match=r"key is wrong.*LITASSIST_LLM__API_KEY"):
        library.ask(QUESTION)
    library.chat.model = "no-such-model"  # type: ignore[union-attr]
    with pytest.raises(
        ModelNotFoundError, match=r"does not serve model 'no-such-model'.*LITASSIST_LLM__MODEL"
    ):
        library.ask(QUESTION)
    nowhere = ChatModel(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=0)
    library = Library(tmp_path / "library", embedder=FakeEmbedder(), chat=nowhere)
    with pytest.raises(EndpointUnreachableError, match=r"nothing answers at .*LITASSIST_LLM__BASE_URL"):
        library.ask(QUESTION)


def test_the_key_goes_only_to_the_configured_host(
    library: Library, openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve_in_thread() as elsewhere:
        openai_server.faults = [("redirect", f"{elsewhere.url}/chat/completions")]
        library.ask(QUESTION)
        assert elsewhere.chat_requests(), "the redirect was followed"
        assert all("authorization" not in r["headers"] for r in elsewhere.requests)
    assert openai_server.requests[-1]["headers"].get("authorization") == f"Bearer {SECRET}"
    assert SECRET not in caplog.text and SECRET not in repr(library.chat)


def test_openai_key_is_not_sent_to_another_base_url(
    tmp_path: Path, openai_server: OpenAIServer, papers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("LITASSIST_LLM__BASE_URL", openai_server.url)
    monkeypatch.setenv("LITASSIST_LLM__MODEL", "fake-chat")
    library = Library(tmp_path / "library", embedder=FakeEmbedder())
    library.add(papers)
    library.ask(QUESTION)
    assert openai_server.chat_requests()[0]["headers"]["authorization"] != f"Bearer {SECRET}"
    # OPENAI_BASE_URL is where OPENAI_API_KEY belongs
    monkeypatch.delenv("LITASSIST_LLM__BASE_URL")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    Library(tmp_path / "library", embedder=FakeEmbedder()).ask(QUESTION)
    assert openai_server.chat_requests()[-1]["headers"]["authorization"] == f"Bearer {SECRET}"


def test_follow_up_is_rewritten_and_numbers_carry_on(library: Library, openai_server: OpenAIServer) -> None:
    first = library.ask(QUESTION)
    assert first.references[0].paper.key == "tryon2024"
    openai_server.replies = [
        "Which lane topology model uses map priors for autonomous driving?",  # the rewrite
        "Map priors help lane topology [1]. Texture is kept too [2].",
    ]
    second = library.ask("And which one does it for driving?", history=[first])
    rewrite = openai_server.chat_requests()[-2]["body"]["messages"][1]["content"]
    assert QUESTION in rewrite and "And which one does it for driving?" in rewrite
    assert second.search_query == "Which lane topology model uses map priors for autonomous driving?"
    assert second.follow_up
    numbers = {r.paper.key: r.number for r in second.references}
    assert numbers["tryon2024"] == first.references[0].number  # same paper, same number
    assert numbers["lane2024"] == max(r.number for r in first.references) + 1 or numbers["lane2024"] in {
        r.number for r in first.references if r.paper.key == "lane2024"
    }


def test_a_body_that_is_not_json_says_so(library: Library, openai_server: OpenAIServer) -> None:
    openai_server.faults = ["badjson"]
    with pytest.raises(EndpointResponseError, match=r"answered something that is not JSON"):
        library.ask(QUESTION)


def test_a_stream_cut_mid_answer_says_how_much_came(library: Library, openai_server: OpenAIServer) -> None:
    openai_server.faults = ["cut"]
    answer = library.ask(QUESTION, stream=True)
    with pytest.raises(EndpointResponseError, match=r"the stream was cut after \d+ characters") as cut:
        list(answer)
    assert "nothing answers" not in str(cut.value)


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_that_ignores_max_tokens_is_capped(
    tmp_path: Path, openai_server: OpenAIServer, papers: Path, stream: bool
) -> None:
    library = library_at(tmp_path, openai_server, papers, max_tokens=50)
    openai_server.faults = ["huge"]
    if stream:
        answer = library.ask(QUESTION, stream=True)
        with pytest.raises(EndpointResponseError, match=r"the answer passed \d+ characters; stopped"):
            list(answer)
    else:
        answer = library.ask(QUESTION)
        assert len(answer.model_text) <= 50 * 16 and answer.citations
        assert any("cut at" in note for note in answer.notes)


def test_the_model_keeps_a_standalone_question_as_it_is(
    library: Library, openai_server: OpenAIServer
) -> None:
    first = library.ask(QUESTION)
    question = "Which lane topology model uses map priors?"
    openai_server.replies = [question, "Map priors help lane topology [1]."]  # the rewrite: unchanged
    second = library.ask(question, history=[first])
    assert second.search_query == question and not second.follow_up
    calls = len(openai_server.chat_requests())
    fresh = library.ask(question, history=[first, second], follow_up=False)  # no rewrite asked for
    assert fresh.search_query == question and len(openai_server.chat_requests()) == calls + 1
    # a follow-up the model hands back unchanged is carried on by the rule
    openai_server.replies = ["How is it evaluated?", "It is evaluated on lane benchmarks [1]."]
    follow = library.ask("How is it evaluated?", history=[first, second])
    assert follow.follow_up and follow.search_query == f"{question} How is it evaluated?"
