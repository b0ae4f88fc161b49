"""In-process fakes for unit tests: a recording chat model (after llm's ``MockModel``), so that
the citation, retry and refusal paths are tested without a server. The wire tests keep the
scripted HTTP server (``tests/openai_server.py``) for what crosses the wire."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from assistant.errors import EndpointResponseError
from assistant.llm import ChatStream, Completion, Messages, Usage

Reply = str | Callable[[Messages], str]


class RecordingChat:
    """A chat model (``assistant.llm.Chat``) whose replies are given in advance: each call takes
    the next one (the last one repeats), a function gets the messages. Every call's messages
    are kept in ``calls``. Streams go through the real ``ChatStream``, a few words a chunk."""

    shown_url = "in-process"

    def __init__(self, *replies: Reply, model: str = "recording-fake", max_tokens: int = 600):
        assert replies, "give the fake at least one reply"
        self.model = model
        self.max_tokens = max_tokens
        self._replies = list(replies)
        self.calls: list[Messages] = []

    def describe(self) -> str:
        return f"model {self.model!r} (in-process fake)"

    def _reply(self, messages: Messages) -> str:
        self.calls.append(messages)
        reply = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        return reply(messages) if callable(reply) else reply

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        text = self._reply(messages)
        return Completion(text, _usage(messages, text), "stop")

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> ChatStream:
        text = self._reply(messages)
        words = text.split(" ")
        pieces = [
            " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "") for i in range(0, len(words), 3)
        ]
        chunks = [_chunk(piece, None) for piece in pieces] + [_chunk(None, "stop", _usage(messages, text))]
        return ChatStream(
            chunks,
            where=self.describe(),
            translate=lambda e: EndpointResponseError(f"{self.describe()}: {e}"),
            limit=(max_tokens or self.max_tokens) * 16,
        )


def _usage(messages: Messages, text: str) -> Usage:
    return Usage(sum(len(m["content"].split()) for m in messages), len(text.split()))


def _chunk(content: str | None, finish: str | None, usage: Usage | None = None) -> SimpleNamespace:
    choice = SimpleNamespace(delta=SimpleNamespace(content=content), finish_reason=finish)
    return SimpleNamespace(choices=[choice], usage=usage)
