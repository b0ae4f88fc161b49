"""The sample library's background fill: abstracts, then full texts; stopped, it resumes; a
library with papers of its own is left alone."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import aclsum
import pytest

from assistant import Library
from assistant.sample import FillState, SampleFill
from assistant.settings import Settings
from tests.conftest import FakeEmbedder

ACL_PAPERS = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in sorted(ACL_PAPERS.glob("*.json"))[:3]:
        shutil.copy(path, folder / path.name)
    return folder


def test_a_stopped_fill_resumes_and_ends_with_every_full_text(
    fake_library: Library, fake_embedder: FakeEmbedder, corpus: Path
) -> None:
    fill = SampleFill(fake_library, corpus, abstract_batch=2, full_batch=1)
    assert fill.start()
    deadline = time.monotonic() + 60
    while fill.state().full < 1 and fill.state().phase != "done" and time.monotonic() < deadline:
        time.sleep(0.02)
    fill.stop()
    stopped = fill.state()
    assert stopped.abstracts == 3 and stopped.full < 3 and stopped.phase == "stopped"
    assert "resumes on the next start" in stopped.line()
    assert (
        len(fake_library.papers()) == 3
        and not fake_library.store.papers_collection.get(where={"updating": True})["ids"]
    )

    library = Library(fake_library.path, settings=Settings(), embedder=fake_embedder)
    again = SampleFill(library, corpus)
    assert again.start()
    done = again.wait(60)
    assert done == FillState(3, 3, 3, "done") and "3/3 papers with their full text" in done.line()
    assert all(p.chunk_count > 1 for p in library.papers()) and len(library.papers()) == 3
    assert not SampleFill(library, corpus).start()  # nothing more to do


def test_a_library_with_papers_of_its_own_is_left_alone(
    fake_library: Library, corpus: Path, tmp_path: Path
) -> None:
    own = tmp_path / "own.bib"
    own.write_text("@article{mine2024,\n  title = {A paper of my own},\n  year = 2024\n}\n")
    fake_library.add(own)
    assert not SampleFill(fake_library, corpus).start()
    assert [p.key for p in fake_library.papers()] == ["mine2024"]


def test_the_banner_line_says_how_far_it_is() -> None:
    assert FillState(250, 120, 0, "abstracts").line() == "sample library filling: 120/250 abstracts …"
    assert "250/250 abstracts in, 40/250 full texts" in FillState(250, 250, 40, "full texts").line()
    assert FillState(250, 250, 40, "full texts").filling and not FillState(250, 250, 250, "done").filling
