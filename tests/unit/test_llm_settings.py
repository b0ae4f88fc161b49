"""Which endpoint and which key: our settings first, then the ecosystem's OPENAI_* variables, and
OpenAI's key only for the host it belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant import Library, Settings
from assistant.settings import OPENAI_URL
from tests.conftest import FakeEmbedder


def key(settings: Settings) -> str | None:
    return settings.llm.api_key.get_secret_value() if settings.llm.api_key else None


def test_nothing_configured_means_extractive(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.llm.base_url is None and key(settings) is None
    assert Library(tmp_path / "lib", settings=settings, embedder=FakeEmbedder()).chat is None


def test_openai_key_alone_means_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    settings = Settings()
    assert settings.llm.base_url == OPENAI_URL and key(settings) == "sk-openai"


def test_openai_base_url_and_key_go_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gpu-box:8000/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-vllm")
    settings = Settings()
    assert settings.llm.base_url == "http://gpu-box:8000/v1" and key(settings) == "sk-vllm"


def test_openai_key_is_not_given_to_our_own_other_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("LITASSIST_LLM__BASE_URL", "http://127.0.0.1:8080/v1")
    settings = Settings()
    assert settings.llm.base_url == "http://127.0.0.1:8080/v1" and key(settings) is None
    # ... but it is for OpenAI's own host, however the URL is spelled
    monkeypatch.setenv("LITASSIST_LLM__BASE_URL", "https://api.openai.com/v1/")
    assert key(Settings()) == "sk-openai"


def test_our_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("LITASSIST_LLM__BASE_URL", "http://mine/v1")
    monkeypatch.setenv("LITASSIST_LLM__API_KEY", "sk-mine")
    settings = Settings()
    assert settings.llm.base_url == "http://mine/v1" and key(settings) == "sk-mine"
    assert "sk-mine" not in repr(settings) and "sk-mine" not in str(settings.model_dump())


def test_extractive_mode_setting_never_makes_a_chat_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITASSIST_LLM__BASE_URL", "http://mine/v1")
    monkeypatch.setenv("LITASSIST_LLM__MODE", "extractive")
    assert Library(tmp_path / "lib", embedder=FakeEmbedder()).chat is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LITASSIST_CHUNKING__CHUNK_SIZE", "-5", "greater than or equal to 16"),
        ("LITASSIST_CHUNKING__CHUNK_OVERLAP", "500", "must be smaller than the chunk size"),
        ("LITASSIST_LLM__BASE_URL", "localhost:8080", r"not an http\(s\) URL"),
        ("LITASSIST_UI__PORT", "70000", "less than or equal to 65535"),
        ("LITASSIST_LLM__MAX_TOKENS", "0", "greater than or equal to 1"),
    ],
)
def test_settings_are_validated_where_they_are_read(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
