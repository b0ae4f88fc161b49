"""A small OpenAI-compatible HTTP server for wire tests, run in a thread on a free loopback port.

It serves ``/v1/models``, ``/v1/embeddings`` (deterministic bag-of-words vectors) and
``/v1/chat/completions`` (plain and SSE-streamed), records every request, and can be scripted:

* ``server.replies``: a queue of answers for the next chat requests. With none queued it answers
  from the prompt: the first sentence of each of the first two passages (labelled ``[1]``,
  ``[2]``, … in the prompt), cited in ``server.style``: ``"labels"`` (``… [1].``), ``"parens"``
  (``… (1).``), ``"words"`` ("According to passage 1, …"), ``"uncited"`` (copied, no citation:
  what small real models do), ``"refuses"`` (the refusal sentence whatever the passages), or
  ``"refuses-once"`` (the refusal sentence, then an answer when asked again). A request with a
  ``response_format`` gets the same sentences as JSON (``{"sentences": [{"text", "passages"}]}``).
  A table prompt (``prompts/table.yaml``) gets a JSON table: per passage its first "NAME with
  N%" as a row, and one made-up row no passage holds (``table_reply``).
  ``server.refuse_when``: a text; a first request whose prompt holds it is refused (one draft
  section, say), its retry too.
* ``server.faults``: a queue of faults answered to the next requests in turn: an HTTP status code
  (429 comes with ``retry-after-ms: 10``), ``"garbage"`` (a body that is not JSON), ``"short"``
  (fewer vectors than inputs), ``"slow"`` (sleeps ``server.delay`` seconds first), ``"context"``
  (a 400 saying the context is too long), ``"malformed"`` (a stream chunk that is not JSON),
  ``"truncated"`` (a stream that stops mid-answer, without a finish reason), ``"cut"`` (a chunked
  stream whose connection drops mid-chunk), ``"badjson"`` (a JSON content type over a body that
  does not parse), ``"huge"`` (an answer of ``server.huge`` characters, whatever ``max_tokens``
  says), ``("redirect", URL)`` (a 307 to another server).
* ``server.models``: the model names it serves; a request for another model gets a 404.
* ``server.token_delay``: seconds between the pieces of a streamed answer (a model's pace).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSION = 32


def vector(text: str) -> list[float]:
    values = [0.0] * DIMENSION
    for word in re.findall(r"\w+", text.lower()):
        values[int(hashlib.md5(word.encode()).hexdigest()[:4], 16) % DIMENSION] += 1.0
    values[0] += 0.001
    return values


@dataclass
class OpenAIServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Any] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=lambda: ["fake-embed", "fake-chat"])
    delay: float = 2.0
    token_delay: float = 0.0
    style: str = "labels"
    refuse_when: str | None = None
    huge: int = 2_000_000

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if str(r["path"]).rstrip("/").endswith("/chat/completions")]


REFUSAL = "The papers in the library do not answer this."


def default_reply(
    messages: list[dict[str, Any]], style: str = "labels", refuse_when: str | None = None
) -> str:
    """The first sentences of the first two labelled passages of the prompt, cited in ``style``."""
    return " ".join(s for s, _ in reply_sentences(messages, style, refuse_when)) or REFUSAL


def reply_sentences(
    messages: list[dict[str, Any]], style: str = "labels", refuse_when: str | None = None
) -> list[tuple[str, int | None]]:
    """The reply's sentences with the label each cites (None: the sentence cites nothing)."""
    users = [str(m["content"]) for m in messages if m.get("role") == "user"]
    prompt, asked_again = (users[0] if users else ""), len(users) > 1
    refused = [(REFUSAL, None)]
    if refuse_when is not None and refuse_when in prompt:
        return refused
    if style == "refuses" or (style == "refuses-once" and not asked_again):
        return refused
    parts = re.split(r"^\[(\d+)\][^\n]*\n", prompt, flags=re.M)
    found: list[tuple[str, int | None]] = []
    for label, body in zip(parts[1::2], parts[2::2], strict=False):
        first = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0].rstrip(".")
        n = int(label)
        if style == "parens":
            found.append((f"{first} ({n}).", n))
        elif style == "words":
            found.append((f"According to passage {n}, {first[:1].lower()}{first[1:]}.", n))
        elif style == "uncited":
            found.append((f"{first}.", None))
        else:
            found.append((f"{first} [{n}].", n))
        if len(found) == 2:
            break
    return found


def json_reply(messages: list[dict[str, Any]], style: str, refuse_when: str | None) -> str:
    sentences = reply_sentences(messages, style, refuse_when)
    return json.dumps(
        {
            "sentences": [
                {"text": re.sub(r"\s*(\[\d+\]|\(\d+\))(?=\.$)", "", s), "passages": [n] if n else [1]}
                for s, n in sentences
            ]
        }
    )


# what the table prompt (prompts/table.yaml) asks for; such a prompt is answered by table_reply
TABLE_ASK = 'Reply with JSON only, in this form: {"rows"'
MADE_UP = "99.99%"


def table_reply(messages: list[dict[str, Any]]) -> str:
    """A table prompt's reply: per labelled passage, its first "NAME with N%" (or "N% ... on
    NAME") as a row, then one row no passage holds (``MADE_UP`` on "ImageNet-21K"): what a model
    that guesses writes, for the check to drop."""
    prompt = str(messages[-1]["content"])
    rows = []
    for label, text in re.findall(r"^\[(\d+)\] (.+)$", prompt, flags=re.M):
        n = int(label)
        m = re.search(r"([A-Z][\w+-]*[A-Z][\w+-]*) with (\d+(?:\.\d+)?%)", text) or re.search(
            r"(\d+(?:\.\d+)?%)[^.]*? on ([A-Z][\w+-]*[A-Z][\w+-]*)", text
        )
        if m:
            name, value = (m.group(1), m.group(2)) if m.group(1)[0].isalpha() else (m.group(2), m.group(1))
            rows.append({"dataset": {"value": name, "passage": n}, "value": {"value": value, "passage": n}})
    rows.append(
        {"dataset": {"value": "ImageNet-21K", "passage": 1}, "value": {"value": MADE_UP, "passage": 1}}
    )
    return json.dumps({"rows": rows})


def _handler(state: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode())

        def do_GET(self) -> None:
            state.requests.append({"path": self.path, "headers": self._headers()})
            if self.path.rstrip("/").endswith("/models"):
                self._json(
                    200, {"object": "list", "data": [{"id": m, "object": "model"} for m in state.models]}
                )
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append({"path": self.path, "headers": self._headers(), "body": body})
            fault = state.faults.pop(0) if state.faults else None
            if fault == "slow":
                time.sleep(state.delay)
            if isinstance(fault, tuple) and fault[0] == "redirect":
                self.send_response(307)
                self.send_header("Location", fault[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if isinstance(fault, int):
                self.send_response(fault)
                body = json.dumps({"error": {"message": f"scripted fault {fault}", "type": "server_error"}})
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if fault == 429:
                    self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(body.encode())
                return
            if fault == "garbage":
                self._send(200, b"<html>not json</html>", "text/html")
                return
            if fault == "badjson":
                self._send(200, b'{"id": "chatcmpl-1", "choices": [{"mess', "application/json")
                return
            if self.path.rstrip("/").endswith("/chat/completions"):
                self._chat(body, fault)
                return
            if not self.path.rstrip("/").endswith("/embeddings"):
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            if fault == "short":
                texts = texts[:-1]
            self._json(
                200,
                {
                    "object": "list",
                    "model": body.get("model"),
                    "data": [
                        {"object": "embedding", "index": i, "embedding": vector(t)}
                        for i, t in enumerate(texts)
                    ],
                    "usage": {"prompt_tokens": sum(len(t.split()) for t in texts), "total_tokens": 0},
                },
            )

        def _chat(self, body: dict[str, Any], fault: Any) -> None:
            model = body.get("model")
            if model not in state.models:
                self._json(
                    404,
                    {"error": {"message": f"The model `{model}` does not exist", "code": "model_not_found"}},
                )
                return
            if fault == "context":
                self._json(
                    400,
                    {
                        "error": {
                            "message": "This model's maximum context length is 2048 tokens",
                            "code": "context_length_exceeded",
                        }
                    },
                )
                return
            messages = body.get("messages") or []
            if fault == "huge":
                text = "Texture is kept [1]. " * (state.huge // 20)
            elif state.replies:
                text = state.replies.pop(0)
            elif messages and TABLE_ASK in str(messages[-1].get("content")):
                text = table_reply(messages)
            elif body.get("response_format"):
                text = json_reply(messages, state.style, state.refuse_when)
            else:
                text = default_reply(messages, state.style, state.refuse_when)
            usage = {
                "prompt_tokens": 100,
                "completion_tokens": len(text.split()),
                "total_tokens": 100 + len(text.split()),
            }
            base = {"id": "chatcmpl-1", "created": int(time.time()), "model": model}
            if not body.get("stream"):
                self._json(
                    200,
                    {
                        **base,
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage,
                    },
                )
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            chunked = fault == "cut"
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pieces = re.findall(r"\S+\s*", text)

            def event(payload: dict[str, Any] | str) -> None:
                data = payload if isinstance(payload, str) else json.dumps(payload)
                line = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n" if chunked else line)
                self.wfile.flush()

            for i, piece in enumerate(pieces):
                if fault == "truncated" and i == len(pieces) // 2:
                    self.close_connection = True
                    return
                if fault == "cut" and i == len(pieces) // 2:
                    self.wfile.write(b"400\r\ndata: {")  # a chunk announced, a few bytes of it sent
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "malformed" and i == len(pieces) // 2:
                    event("{not json")
                if i and state.token_delay:
                    time.sleep(state.token_delay)
                event(
                    {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                    }
                )
            event(
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
            )
            if (body.get("stream_options") or {}).get("include_usage"):
                event({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
            event("[DONE]")
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout test) is expected; socketserver would print it


@contextmanager
def serve_in_thread() -> Iterator[OpenAIServer]:
    """Start the server on 127.0.0.1 on a free port; shut it down on exit."""
    state = OpenAIServer(url="")
    httpd = _Server(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
