"""The chat model: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp's server, Ollama),
through the ``openai`` package.

The client retries 429/5xx and connection errors with exponential backoff (honouring
``Retry-After``); what is left after the retries becomes one of the specific ``LLMError``\\ s, whose
message names the endpoint and the fix. The key lives in the client only: it is never logged, and
it goes only to the configured base URL (the settings decide which key belongs to which host).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from assistant.errors import (
    ContextTooLongError,
    EndpointAuthError,
    EndpointResponseError,
    EndpointUnreachableError,
    LLMError,
    ModelNotFoundError,
)
from store.urls import redacted

if TYPE_CHECKING:
    import openai

    from assistant.settings import LLMSettings

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]

# a reply is cut client-side at this many characters per token of ``max_tokens`` (a token is
# rarely longer than a few characters): a server that ignores ``max_tokens`` must not hang a user
CHARS_PER_TOKEN = 16

_CONTEXT_WORDS = ("context length", "context window", "maximum context", "context size", "too many tokens")


@dataclass(frozen=True)
class Usage:
    """Tokens, as the server reports them (``None`` where it does not)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.completion_tokens or 0)

    def to_dict(self) -> dict[str, int | None]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    def __add__(self, other: Usage) -> Usage:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return Usage(
            add(self.prompt_tokens, other.prompt_tokens), add(self.completion_tokens, other.completion_tokens)
        )


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    finish_reason: str | None
    capped: bool = False  # cut client-side: the server sent more than ``max_tokens`` allows


class ChatStream:
    """Text deltas as they arrive; ``usage`` and ``finish_reason`` are known once it is exhausted.
    A stream that breaks off, or carries something that is not the API's, raises
    ``EndpointResponseError``. ``chunks``: the API's stream chunks (``choices[].delta.content``,
    ``finish_reason``, ``usage``); ``where`` names the model in messages; ``translate`` turns the
    ``openai`` package's errors into ours."""

    def __init__(
        self,
        chunks: Any,
        *,
        where: str,
        translate: Callable[[openai.APIError], LLMError],
        limit: int | None = None,
    ):
        self._where = where
        self._translate = translate
        self._source = chunks
        self._chunks: Iterator[Any] = iter(chunks)
        self._limit = limit  # characters
        self.received = 0  # characters so far
        self.usage = Usage()
        self.finish_reason: str | None = None

    def _cut(self, error: Exception) -> EndpointResponseError:
        cause = error.__cause__ or error
        return EndpointResponseError(
            f"{self._where}: the stream was cut after {self.received} characters "
            f"({cause}); the partial answer is shown"
        )

    def close(self) -> None:
        """Stop reading (the connection is closed; the server stops writing)."""
        close = getattr(self._source, "close", None)
        if callable(close):
            close()

    def __iter__(self) -> Iterator[str]:
        import openai

        where = self._where
        try:
            for chunk in self._chunks:
                if getattr(chunk, "usage", None):
                    self.usage = _usage(chunk.usage)
                choices = getattr(chunk, "choices", None)
                if choices is None:
                    raise EndpointResponseError(f"{where} streamed a chunk that is not a chat completion")
                for choice in choices:
                    if choice.finish_reason:
                        self.finish_reason = choice.finish_reason
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        self.received += len(delta)
                        if self._limit is not None and self.received > self._limit:
                            self.close()
                            raise EndpointResponseError(
                                f"{where}: the answer passed {self._limit} characters; stopped (the "
                                "server does not keep to max_tokens)"
                            )
                        yield delta
        except openai.APIConnectionError as e:  # the connection dropped mid-stream
            raise self._cut(e) from e
        except openai.APIError as e:
            raise self._translate(e) from e
        except (AttributeError, TypeError, ValueError) as e:  # a chunk the client could not parse
            raise EndpointResponseError(f"{where} sent a malformed stream ({e})") from e
        except Exception as e:  # httpx transport errors mid-stream: the connection dropped
            if type(e).__module__.split(".")[0].startswith("httpx"):
                raise self._cut(e) from e
            raise
        if self.finish_reason is None:
            raise EndpointResponseError(
                f"{where} ended the stream before the answer was complete (no finish reason)"
            )


# the origin of an endpoint a UI session chose (ChatModel.origin)
SESSION_ORIGIN = "this session's Settings tab"


class Chat(Protocol):
    """What litassist asks of a chat model: whole replies and streamed ones, and a name for
    messages. ``ChatModel`` (any OpenAI-compatible endpoint) is the one implementation; the
    tests have a recording fake (``tests/fakes.py``) for the paths that need no server."""

    model: str
    max_tokens: int

    @property
    def shown_url(self) -> str: ...

    def describe(self) -> str: ...

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> ChatStream: ...


class ChatModel:
    """One model at one OpenAI-compatible endpoint. ``client`` may be injected (tests, proxies)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        temperature: float = 0.1,
        max_tokens: int = 600,
        client: openai.OpenAI | None = None,
        origin: str | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        # where the endpoint was set, for the fix an error message names (None: the settings)
        self.origin = origin
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._key_configured = bool(api_key)
        self.client = client or self._create_client(api_key, timeout, max_retries)

    @classmethod
    def from_settings(cls, conf: LLMSettings, *, origin: str | None = None) -> ChatModel:
        assert conf.base_url, "a chat model needs an endpoint"
        return cls(
            origin=origin,
            base_url=conf.base_url,
            model=conf.model,
            api_key=conf.api_key.get_secret_value() if conf.api_key else None,
            timeout=conf.timeout,
            max_retries=conf.max_retries,
            temperature=conf.temperature,
            max_tokens=conf.max_tokens,
        )

    def _create_client(self, api_key: str | None, timeout: float, max_retries: int) -> openai.OpenAI:
        import openai

        # an explicit key, so that the client never falls back to $OPENAI_API_KEY by itself;
        # local servers want none, and get a placeholder that means nothing anywhere
        return openai.OpenAI(
            base_url=self.base_url, api_key=api_key or "no-key", timeout=timeout, max_retries=max_retries
        )

    @property
    def shown_url(self) -> str:
        """The base URL as messages show it (no credentials)."""
        return redacted(self.base_url)

    def describe(self) -> str:
        return f"model {self.model!r} at {self.shown_url}"

    def __repr__(self) -> str:
        return f"<ChatModel {self.describe()}>"  # never the key

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        """One whole reply. ``response_format``: a JSON schema the server should hold the reply
        to (in the server's own form), or None for text."""
        import openai

        extra = {"response_format": response_format} if response_format else {}
        tokens = max_tokens or self.max_tokens
        try:
            response = self.client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=tokens,
                **extra,
            )
        except openai.APIError as e:
            raise self.translate(e) from e
        except ValueError as e:  # json.JSONDecodeError: a JSON content type over a broken body
            raise EndpointResponseError(f"{self.describe()} answered something that is not JSON ({e})") from e
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices or choices[0].message is None:
            raise EndpointResponseError(f"{self.describe()} answered something that is not a chat completion")
        choice = choices[0]
        text = choice.message.content or ""
        limit = tokens * CHARS_PER_TOKEN
        if len(text) > limit:
            log.warning(
                "%s sent %d characters for at most %d tokens; cut", self.describe(), len(text), tokens
            )
            return Completion(text[:limit], _usage(response.usage), "length", capped=True)
        return Completion(text, _usage(response.usage), choice.finish_reason)

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> ChatStream:
        """Start a streamed completion. Connection, key, model and context errors are raised
        here, before the first delta."""
        import openai

        extra = {"response_format": response_format} if response_format else {}
        try:
            chunks = self.client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=max_tokens or self.max_tokens,
                stream=True,
                stream_options={"include_usage": True},
                **extra,
            )
        except openai.APIError as e:
            raise self.translate(e) from e
        return ChatStream(
            chunks,
            where=self.describe(),
            translate=self.translate,
            limit=(max_tokens or self.max_tokens) * CHARS_PER_TOKEN,
        )

    def list_models(self) -> list[str]:
        """The model names the endpoint serves (``/v1/models``): a connection test. Raises the
        same errors as a completion, with what failed and why."""
        import openai

        try:
            return sorted(m.id for m in self.client.models.list())
        except openai.APIError as e:
            raise self.translate(e) from e
        except ValueError as e:
            raise EndpointResponseError(f"{self.describe()} answered something that is not JSON ({e})") from e

    def _fix(self, setting: str, verb: str = "set") -> str:
        """The fix an error names: the setting, and where this endpoint was set when known."""
        if self.origin == SESSION_ORIGIN:
            return f"change it in {SESSION_ORIGIN}, where it was set"
        return f"{verb} {setting}" + (f" in {self.origin}" if self.origin else "")

    def translate(self, error: openai.APIError) -> LLMError:
        """The openai package's error as ours, with a message that says what to do."""
        import openai

        where = self.describe()
        if isinstance(error, openai.APITimeoutError):
            return EndpointUnreachableError(
                f"{where} did not answer in time; raise LITASSIST_LLM__TIMEOUT or check the server"
            )
        if isinstance(error, openai.APIConnectionError):
            return EndpointUnreachableError(
                f"nothing answers at {self.shown_url} ({error.__cause__ or error}); start the server "
                f"or {self._fix('LITASSIST_LLM__BASE_URL', 'fix')}"
            )
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            hint = "the key is wrong" if self._key_configured else "it needs a key"
            return EndpointAuthError(
                f"{self.shown_url} refused the request ({error.status_code}): {hint}; "
                f"{self._fix('LITASSIST_LLM__API_KEY')}"
            )
        if isinstance(error, openai.NotFoundError):
            return ModelNotFoundError(
                f"{self.shown_url} does not serve model {self.model!r} (404: {error.message}); "
                f"{self._fix('LITASSIST_LLM__MODEL')} to one the server lists at /v1/models"
            )
        if isinstance(error, openai.APIStatusError):
            message = str(error.message).lower()
            code = str(getattr(error, "code", "") or "")
            if error.status_code in (400, 413) and (
                code == "context_length_exceeded" or any(w in message for w in _CONTEXT_WORDS)
            ):
                return ContextTooLongError(f"the prompt is too long for {where}: {error.message}")
            if isinstance(error, openai.RateLimitError):
                return EndpointResponseError(
                    f"{where} is rate-limiting (429) and still was after the retries; wait and ask again"
                )
            return EndpointResponseError(f"{where} answered {error.status_code}: {error.message}")
        return EndpointResponseError(f"{where} answered something that is not the API's ({error})")


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
