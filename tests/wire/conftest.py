"""A small library of three papers (BibTeX, fake embedder) against the scripted OpenAI-compatible
server, shared by the wire tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Library, Settings
from assistant.settings import LLMSettings
from tests.conftest import FakeEmbedder
from tests.openai_server import OpenAIServer

PAPERS = {
    "tryon2024": (
        "Texture Preserving Virtual Try-On",
        "Virtual try-on transfers a garment onto a person image. "
        "Our diffusion model preserves garment texture with 94.1 percent fidelity.",
    ),
    "lane2024": (
        "Lane Topology From Maps",
        "Lane topology reasoning for autonomous driving uses map priors. "
        "The model improves lane topology on OpenLane-V2.",
    ),
    "mae2023": (
        "Masked Colour Modelling",
        "Masked image modelling pretrains vision transformers. We mask colour channels instead of patches.",
    ),
}
QUESTION = "Which virtual try-on model preserves garment texture?"
SECRET = "sk-secret-test-key-123"


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    bib = "".join(
        f"@article{{{key},\n  title={{{title}}},\n  author={{Doe, Jane}},\n  year=2024,\n"
        f"  abstract={{{abstract}}}\n}}\n"
        for key, (title, abstract) in PAPERS.items()
    )
    path = tmp_path / "papers.bib"
    path.write_text(bib)
    return path


def library_at(tmp_path: Path, server: OpenAIServer, papers: Path | None = None, **llm: object) -> Library:
    settings = Settings(
        llm=LLMSettings(base_url=server.url, model="fake-chat", api_key=SECRET, max_retries=2, **llm)  # type: ignore[arg-type]
    )
    library = Library(tmp_path / "library", settings=settings, embedder=FakeEmbedder())
    if papers is not None:
        assert library.add(papers).ok
    return library
