"""A small OpenAI-compatible HTTP server for wire tests, run in a thread on a free loopback port.

It serves ``/v1/models`` and ``/v1/embeddings`` (deterministic bag-of-words vectors), records
every request, and can be scripted to fail: ``server.faults`` is a queue of HTTP status codes (or
``"garbage"`` for a body that is not JSON, ``"short"`` for fewer vectors than inputs) answered to
the next requests in turn.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
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
    faults: list[int | str] = field(default_factory=list)


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
                self._json(200, {"object": "list", "data": [{"id": "fake-embed", "object": "model"}]})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append({"path": self.path, "headers": self._headers(), "body": body})
            fault = state.faults.pop(0) if state.faults else None
            if isinstance(fault, int):
                self._json(fault, {"error": {"message": f"scripted fault {fault}", "type": "server_error"}})
                return
            if fault == "garbage":
                self._send(200, b"<html>not json</html>", "text/html")
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

    return Handler


@contextmanager
def serve_in_thread() -> Iterator[OpenAIServer]:
    """Start the server on 127.0.0.1 on a free port; shut it down on exit."""
    state = OpenAIServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
