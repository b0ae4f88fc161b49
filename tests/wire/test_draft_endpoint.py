"""Drafts written by a (scripted) model through the real client: the outline it proposes and the
keys and titles it invents are checked, removed and reported."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bibtexparser
import pytest

from assistant import Library
from tests.openai_server import OpenAIServer
from tests.wire.conftest import library_at

TOPIC = "image generation and pre-training"
OWN = (
    "We propose a garment-aware masked pre-training for virtual try-on. Our model beats diffusion baselines."
)


@pytest.fixture
def library(tmp_path: Path, openai_server: OpenAIServer, papers: Path) -> Library:
    return library_at(tmp_path, openai_server, papers)


def test_invented_keys_in_outline_and_paragraphs_are_removed_and_reported(
    library: Library, openai_server: OpenAIServer
) -> None:
    outline = {
        "themes": [
            {"name": "Virtual try-on", "keys": ["tryon2024", "smith2020deep"]},
            {"name": "Masked pre-training", "keys": ["@mae2023"]},
        ]
    }
    openai_server.replies = [
        "Here is the outline: " + json.dumps(outline),
        "Diffusion try-on preserves texture [@tryon2024], unlike GAN warping [@smith2020deep]. "
        "Masking colour channels also helps [@mae2023]. Unlike [@tryon2024], we mask garments.",
        "Masked modelling pretrains transformers [@mae2023; @jones2021fake]. "
        "Residual networks came first [He2016DeepResidual].",
    ]
    draft = library.related_work(TOPIC, keys=["tryon2024", "mae2023"], own_abstract=OWN, mode="llm")
    assert draft.mode == "llm"
    assert [t.name for t in draft.outline] == ["Virtual try-on", "Masked pre-training"]
    assert any("smith2020deep" in note for note in draft.notes)  # the outline's invented key
    # a paragraph may cite only the papers its writer was given: mae2023 was not in the first
    assert draft.dropped_citations == ["smith2020deep", "mae2023", "jones2021fake", "He2016DeepResidual"]
    assert draft.cited_keys == ["tryon2024", "mae2023"]
    for invented in ("smith2020deep", "jones2021fake", "He2016DeepResidual"):
        assert invented not in draft.markdown and invented not in draft.latex and invented not in draft.bibtex
    assert {e.key for e in bibtexparser.parse_string(draft.bibtex).entries} == {"tryon2024", "mae2023"}
    assert "**Virtual try-on.**" in draft.markdown and "[@tryon2024]" in draft.markdown
    assert re.search(r"\\cite\{mae2023\}", draft.latex)
    assert [r.paper.key for r in draft.references] == ["tryon2024", "mae2023"]
    # three calls: the outline, then one paragraph per theme, all given the user's abstract
    requests = openai_server.chat_requests()
    assert len(requests) == 3
    assert all("garment-aware masked pre-training" in r["body"]["messages"][1]["content"] for r in requests)
    assert "[1] Texture Preserving Virtual Try-On" in requests[1]["body"]["messages"][1]["content"]
    assert draft.usage.prompt_tokens == 300


def test_an_unusable_outline_falls_back_to_clusters(library: Library, openai_server: OpenAIServer) -> None:
    openai_server.replies = ["Sure! The themes are try-on and masking."]  # no JSON
    draft = library.related_work(TOPIC, keys=["tryon2024", "mae2023"], mode="llm")
    assert draft.outline and {k for t in draft.outline for k in t.keys} == {"tryon2024", "mae2023"}
    assert any("could not be used" in note for note in draft.notes)
    assert draft.cited_keys  # the scripted server's default reply cites its passages
