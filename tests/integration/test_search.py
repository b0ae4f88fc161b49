"""Search on both backends with the real embedder: retrievers, filters, one hit per paper, and a
lexical index that follows changes made by another process (or another machine on the server)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import Library
from assistant.filters import Filters
from store.embedder import LocalEmbedder
from tests.conftest import HF_LISTING, backend_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["embedded", "server"])
def open_shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, local_embedder: LocalEmbedder
) -> Callable[[], Library]:
    """One library of the listing per backend for the module (ingesting it takes a while);
    the factory opens it again as another process would."""
    settings = backend_settings(str(request.param), request)
    folder = tmp_path_factory.mktemp("search") / "library"
    if request.param == "embedded":  # a copy of the session's library of the listing
        shutil.copytree(request.getfixturevalue("listing_library"), folder)
    else:
        assert Library(folder, settings=settings, embedder=local_embedder).add(HF_LISTING).ok
    return lambda: Library(folder, settings=settings, embedder=local_embedder)


@pytest.fixture
def library(open_shared: Callable[[], Library]) -> Library:
    return open_shared()


def test_retrievers_filters_and_hits(library: Library) -> None:
    for retriever in ("hybrid", "dense", "lexical"):
        hits = library.search(
            "FineCLIPER dynamic facial expression recognition with adapters", retriever=retriever
        )
        assert hits and hits[0].paper.title and hits[0].paper.title.startswith("FineCLIPER"), retriever
        assert len({h.key for h in hits}) == len(hits) <= 5  # one hit per paper
        assert all(h.text == h.passages[0].text and h.chunk_id == h.passages[0].chunk_id for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    years = {p.key: p.year for p in library.papers()}
    recent = library.search("facial expression recognition", k=10, filters={"years": (2024, None)})
    assert recent and all((years[h.key] or 0) >= 2024 for h in recent)
    older = library.search("facial expression recognition", k=10, filters=Filters(years=(None, 2023)))
    assert all((years[h.key] or 9999) <= 2023 for h in older)
    some = sorted(years)[:3]
    only = library.search("face", k=10, filters={"keys": some})
    assert {h.key for h in only} <= set(some)
    with pytest.raises(ValueError, match="unknown filters"):
        library.search("face", filters={"venue": "CVPR"})
    with pytest.raises(ValueError, match="unknown retriever"):
        library.search("face", retriever="magic")  # type: ignore[arg-type]
    assert library.search("   ") == []
    # a broken lexical cache is rebuilt, not fatal
    (library.lexical.folder / "state.json").write_text("{not json")
    reopened = Library(library.path, settings=library.settings, embedder=library.embedder)
    top = reopened.search("FineCLIPER", retriever="lexical")[0]
    assert top.paper.title and top.paper.title.startswith("FineCLIPER")


def test_lexical_index_follows_other_writers(
    library: Library, open_shared: Callable[[], Library], tmp_path: Path
) -> None:
    """A second Library object (another process, or a teammate on the Chroma server) adds and
    removes papers; this one's lexical index notices and rebuilds before it searches."""
    other = open_shared()
    extra = tmp_path / "extra.bib"
    extra.write_text(
        "@article{zyx2024quokka,\n  title={Quokka Detection in Camera Traps},\n  author={Roe, Ann},\n"
        "  year=2024,\n  abstract={We detect quokkas in camera trap images with a tiny detector.}\n}\n"
    )
    assert other.add(extra).ok
    hits = library.search("quokka camera traps", retriever="lexical")
    assert hits and hits[0].key == "zyx2024quokka"
    other.remove("zyx2024quokka")
    assert all(h.key != "zyx2024quokka" for h in library.search("quokka camera traps", retriever="lexical"))
