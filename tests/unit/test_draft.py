"""The pure parts of drafting: clustering into themes, naming them, reading a model's outline."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from assistant.draft import _contributions
from assistant.themes import Theme, cluster, name_theme, parse_outline, phrases, short_title


def _unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_clusters_follow_the_vectors_and_no_theme_is_left_alone() -> None:
    vectors = _unit([1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0], [0.5, 0.5, 0.7])
    assert cluster(vectors, 2) == [[0, 1], [2, 3, 4]] or cluster(vectors, 2) == [[0, 1, 4], [2, 3]]
    # three groups asked for, but the odd one out would be alone: it joins its nearest group
    groups = cluster(vectors, 3)
    assert len(groups) == 2 and sorted(i for g in groups for i in g) == [0, 1, 2, 3, 4]
    assert cluster(vectors[:1], 1) == [[0]]


def test_theme_names_are_shared_rarephrases() -> None:
    members = [
        "Masked Image Modeling for Pre-training. We show that results improve with masking.",
        "Colour Masked Image Modeling Revisited. Results improve on three benchmarks.",
    ]
    others = ["Facial Expression Recognition in the Wild. Results improve.", "Image Super-Resolution."]
    frequency = Counter(p for text in members + others for p in phrases(text))
    assert name_theme(members, others, frequency, 4) == "Masked image modeling"
    assert name_theme(members[:1] + others[:1], others[1:], frequency, 4) is None  # nothing shared but words
    assert short_title("FSFM: A Face Security Foundation Model") == "FSFM"


def test_outline_keeps_given_keys_once_and_reports_invented_ones() -> None:
    themes = [{"name": "Try-on.", "keys": ["a", "@b", "x1"]}, {"name": "Rest", "keys": ["b", "c"]}]
    text = "Outline: " + json.dumps({"themes": themes})
    parsed, invented = parse_outline(text, {"a", "b", "c"})
    assert parsed == [Theme("Try-on", ("a", "b")), Theme("Rest", ("c",))]
    assert invented == ["x1"]
    assert parse_outline("no json here", {"a"}) == ([], [])
    assert parse_outline('{"themes": "not a list"}', {"a"}) == ([], [])


def test_contributions_are_the_sentences_that_say_what_the_work_does() -> None:
    abstract = (
        "Faces are hard to recognise under occlusion. We propose a masked autoencoder for faces. "
        "It runs in real time on a phone. Our results beat the baselines on three benchmarks."
    )
    assert _contributions(abstract, 4) == [
        "We propose a masked autoencoder for faces.",
        "Our results beat the baselines on three benchmarks.",
    ]
    plain = "Faces are hard to recognise under occlusion. Masks help the recognition of faces."
    assert _contributions(plain, 1) == ["Faces are hard to recognise under occlusion."]
    assert _contributions(None, 4) == []
