"""A paper stored from its abstract gets its full text later, under the same key; a writer that
dies mid-update leaves the old text or the new one, whole, once the library is opened again."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import aclsum
import pytest

from assistant import Library
from assistant.settings import Settings
from store.chroma import ChromaStore
from tests.conftest import FakeEmbedder

ACL_PAPERS = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"


class Died(BaseException):
    """The writer dies here (not an Exception: nothing in the ingest catches it)."""


def one_text(library: Library, key: str) -> tuple[int, set[str | None]]:
    """The paper's passages: their number, and the text versions among them (one text only;
    the abstract's passage is kept as it was by an update that does not change it)."""
    metas = library.store.chunks_collection.get(where={"paper_key": key}, include=["metadatas"])["metadatas"]
    windows = library.store.windows_collection.get(where={"paper_key": key}, include=["metadatas"])
    paper = library.get(key)
    assert len(metas or []) == paper.chunk_count
    rest = [m for m in [*(metas or []), *(windows["metadatas"] or [])] if m["ordinal"] > 0]
    versions = {m.get("text_version") for m in rest}
    ordinals = [m["ordinal"] for m in metas or []]
    assert len(ordinals) == len(set(ordinals)), "passages of two texts under one key"
    return paper.chunk_count, versions


@pytest.fixture
def paper_file(tmp_path: Path) -> Path:
    source = sorted(ACL_PAPERS.glob("*.json"))[0]
    target = tmp_path / "papers" / source.name
    target.parent.mkdir()
    shutil.copy(source, target)
    return target


def open_again(library: Library, embedder: FakeEmbedder) -> Library:
    return Library(library.path, settings=Settings(), embedder=embedder)


def test_full_text_updates_the_abstract_under_the_same_key(
    fake_library: Library, fake_embedder: FakeEmbedder, paper_file: Path
) -> None:
    first = fake_library.add(paper_file, abstracts_only=True)
    [paper] = first.added
    assert paper.chunk_count == 1 and not first.full_texts
    body = json.loads(paper_file.read_text())["pdf_parse"]["body_text"][3]["text"]
    second = fake_library.add(paper_file)
    assert [p.key for p in second.full_texts] == [paper.key] and not second.added
    count, versions = one_text(fake_library, paper.key)
    assert count > 5 and len(versions) == 1 and None not in versions
    assert [p.key for p in fake_library.papers()] == [paper.key]
    found = fake_library.search(" ".join(body.split()[:30]), k=1)
    assert found and found[0].paper.key == paper.key and found[0].chunk_id.startswith(paper.key)
    again = fake_library.add(paper_file)  # nothing more to bring
    assert not again.full_texts and not again.added and "already in the library" in again.skipped[0].reason
    from ui.render import FULL_TEXT, ingest_rows

    assert ingest_rows(second)[0][:2] == [FULL_TEXT, paper.key]


def test_a_listing_first_then_the_full_text_by_title(
    fake_library: Library, paper_file: Path, tmp_path: Path
) -> None:
    data = json.loads(paper_file.read_text())
    listing = tmp_path / "listing.bib"
    listing.write_text(
        f"@article{{mine,\n  title = {{{data['title'].upper()}}},\n  year = {data['year']}\n}}\n"
    )
    [stored] = fake_library.add(listing).added
    report = fake_library.add(paper_file)
    [updated] = report.full_texts
    assert updated.key == stored.key == "mine" and updated.abstract
    assert fake_library.get("mine").sources == [str(listing.resolve()), str(paper_file.resolve())]


def dead_writer(library: Library, key: str) -> None:
    """Make the update's record look as a process that is gone left it."""
    process = subprocess.Popen(["true"])
    process.wait()
    meta = library.store.records([key])[key]
    writer = str(meta["writer"]).rpartition(":")[0] + f":{process.pid}"
    library.store.papers_collection.update(ids=[key], metadatas=[{"writer": writer}])


@pytest.mark.parametrize("dies_in", ["commit", "finish_updates"])
def test_a_writer_that_dies_mid_update_leaves_one_text(
    fake_library: Library,
    fake_embedder: FakeEmbedder,
    paper_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    dies_in: str,
) -> None:
    [paper] = fake_library.add(paper_file, abstracts_only=True).added
    before = fake_library.search(paper.title or "", k=1)[0].paper.key

    def dying(*args: object, **kwargs: object) -> None:
        raise Died

    monkeypatch.setattr(ChromaStore, dies_in, dying)
    with pytest.raises(Died):
        fake_library.add(paper_file)
    monkeypatch.undo()
    assert fake_library.store.records([paper.key])[paper.key]["updating"] is True
    dead_writer(fake_library, paper.key)
    library = open_again(fake_library, fake_embedder)  # recovery settles it
    count, versions = one_text(library, paper.key)
    assert not library.store.records([paper.key])[paper.key]["updating"]
    if dies_in == "commit":  # not committed: the abstract alone, as before
        assert count == 1 and versions <= {None}
    else:  # committed: the full text, whole
        assert count > 5 and len(versions) == 1 and None not in versions
    assert library.search(paper.title or "", k=1)[0].paper.key == before
    library.lexical.ensure_current(library.store)
    assert library.lexical._indexed == library.store.paper_states()
    resumed = library.add(paper_file)
    assert [p.key for p in resumed.full_texts] == ([paper.key] if dies_in == "commit" else [])
    count, versions = one_text(library, paper.key)
    assert count > 5 and len(versions) == 1
