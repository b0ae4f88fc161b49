"""The Settings tab's connection test (ui/connection.py) against the scripted server and a dead
port, error messages that name where the endpoint was set, and citation numbers as links."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm import SESSION_ORIGIN, ChatModel
from assistant.settings import LLMSettings, endpoint_origin
from store.errors import LitassistError
from tests.conftest import free_port
from tests.openai_server import OpenAIServer
from ui import connection
from ui.citation_links import linked


def test_the_check_lists_the_models_or_says_what_failed(openai_server: OpenAIServer) -> None:
    configured = LLMSettings(base_url=openai_server.url, model="fake-chat")
    llm, origin = connection.endpoint(configured, None, "", "", "")
    assert llm == configured
    checked = connection.check(llm, "the environment")
    assert checked.ok and "2 model(s)" in checked.message and "`fake-chat` is among them" in checked.message
    wrong = connection.check(configured.model_copy(update={"model": "nope"}), None)
    assert not wrong.ok and "`nope` is not among them" in wrong.message

    dead = f"http://127.0.0.1:{free_port()}/v1"
    llm, origin = connection.endpoint(configured, None, dead, "m", "")
    assert llm is not None and llm.base_url == dead and origin == SESSION_ORIGIN
    failed = connection.check(llm, origin, timeout=2)
    assert not failed.ok and dead in failed.message and "Settings tab" in failed.message
    assert "LITASSIST_LLM__BASE_URL" not in failed.message
    assert connection.check(None, None).message.startswith("No endpoint to test")
    session = configured.model_copy(update={"mode": "extractive"})
    assert connection.endpoint(configured, session, "", "", "") == (None, SESSION_ORIGIN)


def test_errors_name_where_the_endpoint_was_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    messages = {}
    for origin in (None, "the environment", SESSION_ORIGIN):
        chat = ChatModel(base_url=dead, model="m", timeout=2, max_retries=0, origin=origin)
        with pytest.raises(LitassistError) as caught:
            chat.list_models()
        messages[origin] = str(caught.value)
    assert messages[None].endswith("fix LITASSIST_LLM__BASE_URL")
    assert messages["the environment"].endswith("fix LITASSIST_LLM__BASE_URL in the environment")
    assert messages[SESSION_ORIGIN].endswith("change it in this session's Settings tab, where it was set")

    llm = LLMSettings(base_url=dead)
    monkeypatch.delenv("LITASSIST_LLM__BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    settings_file = tmp_path / ".env"
    assert endpoint_origin(llm, settings_file) is None
    settings_file.write_text(f"LITASSIST_LLM__BASE_URL={dead}\n")
    assert endpoint_origin(llm, settings_file) == f"the settings file {settings_file.resolve()}"
    monkeypatch.setenv("LITASSIST_LLM__BASE_URL", dead)
    assert endpoint_origin(llm, settings_file) == "the environment"


def test_citation_numbers_link_to_their_cards() -> None:
    text = "Try-on keeps texture [1]. Lanes [2, 3]; unknown [7]."
    shown = linked(text, {1, 2, 3})
    assert shown == (
        "Try-on keeps texture [[1]](#source-1). Lanes [[2]](#source-2)[[3]](#source-3); unknown [7]."
    )
    assert linked(shown, {1, 2, 3}) == shown  # linked once only
