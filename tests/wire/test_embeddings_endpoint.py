"""The OpenAI-compatible embedder against a real HTTP server, through the real `openai` client."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import EmbedderMismatchError, EmbeddingError, Library, Settings
from assistant.settings import EmbedderSettings
from store.embedder import OpenAIEmbedder
from tests.conftest import SEEDS, FakeEmbedder, free_port
from tests.openai_server import DIMENSION, OpenAIServer


@pytest.fixture
def server(openai_server: OpenAIServer) -> OpenAIServer:
    return openai_server


def embedder(server: OpenAIServer, **kwargs: object) -> OpenAIEmbedder:
    return OpenAIEmbedder(model="fake-embed", base_url=server.url, api_key="sk-test", **kwargs)  # type: ignore[arg-type]


def test_vectors_batches_and_key(server: OpenAIServer) -> None:
    client = embedder(server, batch_size=2)
    assert (client.name, client.dimension) == ("openai:fake-embed", DIMENSION)
    vectors = client.embed(["face recognition", "face detection", "sparse matrices"])
    assert vectors.shape == (3, DIMENSION)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    posts = [r for r in server.requests if r["path"].endswith("/embeddings")]
    assert [len(r["body"]["input"]) for r in posts] == [1, 2, 1]  # the probe, then batches of two
    assert all(r["headers"]["authorization"] == "Bearer sk-test" for r in posts)


def test_a_500_is_retried(server: OpenAIServer) -> None:
    client = embedder(server, max_retries=2)
    server.faults = [500]
    assert client.embed(["hello"]).shape == (1, DIMENSION)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (500, "answered 500"),
        (401, "refused the key"),
        (404, "does not know model"),
        ("garbage", "not an embeddings response"),
        ("short", "returned 1 vectors for 2 texts"),
    ],
)
def test_failures_say_what_went_wrong(server: OpenAIServer, fault: int | str, message: str) -> None:
    client = embedder(server, max_retries=0)
    server.faults = [fault]
    with pytest.raises(EmbeddingError, match=message):
        client.embed(["one", "two"])


def test_endpoint_down() -> None:
    with pytest.raises(EmbeddingError, match="not reachable"):
        OpenAIEmbedder(model="m", base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=None, max_retries=0)


def test_library_on_an_embeddings_endpoint(server: OpenAIServer, tmp_path: Path) -> None:
    settings = Settings(embedder=EmbedderSettings(provider="openai", model="fake-embed", base_url=server.url))
    library = Library(tmp_path / "lib", settings=settings)
    report = library.add(SEEDS / "003_26e15eb79cce6a53.txt")
    assert len(report.added) == 10 and report.ok
    assert library.store.chunks_collection.metadata["embedder"] == "openai:fake-embed"
    with pytest.raises(EmbedderMismatchError, match="openai:fake-embed"):
        Library(tmp_path / "lib", embedder=FakeEmbedder())
