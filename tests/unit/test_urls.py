"""Credentials written into an endpoint's URL are never shown or logged."""

from __future__ import annotations

import logging

import pytest

from assistant.llm import ChatModel
from store.urls import RedactingFilter, redacted


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:sk-123@host:8080/v1", "http://user:***@host:8080/v1"),
        ("https://sk-123@api.example.org/v1", "https://***@api.example.org/v1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_messages_and_logs_never_hold_the_key() -> None:
    chat = ChatModel(base_url="http://me:sk-secret@127.0.0.1:9/v1", model="m", max_retries=0)
    assert "sk-secret" not in chat.describe() and "sk-secret" not in repr(chat)
    record = logging.LogRecord(
        "httpx", logging.INFO, "", 0, "HTTP Request: POST %s", ("http://me:sk-secret@h/v1",), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "HTTP Request: POST http://me:***@h/v1"
