"""The Library with a fake embedder on an embedded Chroma: dedupe, keys, removal, recovery."""

from __future__ import annotations

import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from assistant import (
    EmbedderMismatchError,
    EmbeddingError,
    Library,
    LibraryError,
    PaperNotFoundError,
    Settings,
)
from assistant import library as library_module
from assistant.settings import ChromaSettings, LLMSettings
from store import chroma
from store.chunking import chunk_id
from store.paper import Chunk, Paper
from tests.conftest import FakeEmbedder
from ui.handlers import Handlers
from ui.uploads import Uploads

LONG_BODY = " ".join(f"Sentence number {i} talks about facial landmarks and pose." for i in range(120))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def bib_entry(key: str, title: str, abstract: str) -> str:
    return (
        f"@article{{{key},\n  title={{{title}}},\n  author={{Doe, Jane}},\n  year=2024,\n"
        f"  abstract={{{abstract}}}\n}}\n"
    )


def test_add_list_get_and_chunks(fake_library: Library, fake_embedder: FakeEmbedder, tmp_path: Path) -> None:
    path = write(tmp_path / "in" / "paper.md", f"# Landmarks Everywhere\n\n{LONG_BODY}\n")
    report = fake_library.add(path)
    assert report.ok and [p.key for p in report.added] == ["landmarkseverywhere"]
    paper = fake_library.get("landmarkseverywhere")
    assert paper.title == "Landmarks Everywhere" and paper.sources == [str(path.resolve())]
    chunks = fake_library.chunks(paper.key)
    assert len(chunks) == paper.chunk_count > 3
    assert " ".join(c.text for c in chunks).count("Sentence number 119") >= 1
    # the title travels with every chunk into the embedder, not into the stored passage
    assert all(t.startswith("Landmarks Everywhere\n\n") for t in fake_embedder.texts)
    assert not chunks[0].text.startswith("Landmarks Everywhere")


def test_abstract_is_a_chunk_of_its_own(fake_library: Library, tmp_path: Path) -> None:
    abstract = "We propose PoseNet, a model for pose. " * 5
    write(tmp_path / "refs.bib", bib_entry("doe2024pose", "PoseNet", abstract.strip()))
    fake_library.add(tmp_path / "refs.bib")
    chunks = fake_library.chunks("doe2024pose")
    assert [(c.ordinal, c.section, c.text) for c in chunks] == [(0, "Abstract", abstract.strip())]


def test_adding_again_adds_nothing(
    fake_library: Library, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    write(
        folder / "refs.bib",
        bib_entry("a1", "Alpha", "Alpha abstract text.") + bib_entry("b1", "Beta", "Beta text."),
    )
    assert len(fake_library.add(folder).added) == 2
    embedded = len(fake_embedder.texts)
    again = fake_library.add(folder)
    assert again.added == [] and again.failed == []
    assert [o.reason for o in again.skipped] == [
        "already in the library as a1",
        "already in the library as b1",
    ]
    assert len(fake_embedder.texts) == embedded  # nothing re-embedded


def test_same_paper_in_two_files_is_one_paper_with_both_sources(
    fake_library: Library, tmp_path: Path
) -> None:
    abstract = "Abstract:" + "Face anti-spoofing with interpretable captions and a lopsided loss. " * 4
    first = write(tmp_path / "a" / "listing.txt", abstract + "\n")
    second = write(tmp_path / "b" / "other.txt", "Abstract:" + abstract[9:].upper() + "\n")  # case differs
    report = fake_library.add([first, second])
    assert len(report.added) == 1 and "same paper as" in report.skipped[0].reason
    (paper,) = fake_library.papers()
    assert paper.sources == [str(first.resolve()), str(second.resolve())]


def test_same_arxiv_id_is_the_same_paper(fake_library: Library, tmp_path: Path) -> None:
    listing = write(tmp_path / "l.txt", "A" * 20 + " abstract of the paper. " * 12 + "\narXiv:2501.10120\n")
    bib = write(
        tmp_path / "r.bib",
        "@misc{pasa, title={PaSa}, author={He, Yichen}, year={2025}, eprint={2501.10120}}\n",
    )
    report = fake_library.add([listing, bib])
    assert len(report.added) == 1
    (paper,) = fake_library.papers()
    assert paper.title == "PaSa" and paper.authors == ["Yichen He"]  # blanks filled from the richer source
    assert len(paper.sources) == 2


def test_removed_keys_are_never_reused(fake_library: Library, tmp_path: Path) -> None:
    write(tmp_path / "one.bib", bib_entry("k", "Alpha", "First paper's abstract."))
    fake_library.add(tmp_path / "one.bib")
    removed = fake_library.remove("k")
    assert removed.key == "k" and fake_library.papers() == []
    with pytest.raises(PaperNotFoundError, match="No paper with key 'k'"):
        fake_library.get("k")
    assert fake_library.store.chunks("k") == []
    # another paper asking for the same BibTeX key gets a fresh one
    write(tmp_path / "two.bib", bib_entry("k", "Beta", "A different paper."))
    (other,) = fake_library.add(tmp_path / "two.bib").added
    assert other.key != "k"
    # the removed paper itself comes back under its old key
    (back,) = fake_library.add(tmp_path / "one.bib").added
    assert back.key == "k"


def test_remove_unknown_key(fake_library: Library) -> None:
    with pytest.raises(PaperNotFoundError, match="litassist papers"):
        fake_library.remove("nope")


def dead_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this process write pending records as a process that has since died."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    writer = {"writer": f"{socket.gethostname()}:{dead.pid}", "since": datetime.now(UTC).isoformat()}
    monkeypatch.setattr(chroma, "_writer", lambda: writer)


def half_written(library: Library, embedder: FakeEmbedder, key: str = "half") -> None:
    paper = Paper(key=key, title="Half written", content_hash="h")
    chunks = [Chunk(id=chunk_id(key, i, f"t{i}"), paper_key=key, text=f"t{i}", ordinal=i) for i in range(3)]
    vectors = embedder.embed([c.text for c in chunks])
    library.store.begin([paper], vectors[:1])  # ... and the process dies before the commit
    library.store.write_chunks(chunks, vectors, {})


def test_interrupted_ingest_is_cleaned_up_on_open(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = Library(tmp_path / "lib", embedder=fake_embedder)
    dead_writer(monkeypatch)
    half_written(library, fake_embedder)
    assert library.papers() == [] and library.store.count_chunks() == 3
    reopened = Library(tmp_path / "lib", embedder=fake_embedder)
    assert reopened.store.count_chunks() == 0 and "half" not in reopened.store.all_keys()


def test_work_in_progress_of_a_live_writer_is_left_alone(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    library = Library(tmp_path / "lib", embedder=fake_embedder)
    half_written(library, fake_embedder)  # this process is alive: another open must not undo it
    assert Library(tmp_path / "lib", embedder=fake_embedder).store.count_chunks() == 3


def test_a_writer_on_another_host_is_given_up_on_after_a_while(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = Library(tmp_path / "lib", embedder=fake_embedder)
    since = datetime.now(UTC) - timedelta(hours=2)
    monkeypatch.setattr(chroma, "_writer", lambda: {"writer": "elsewhere:1", "since": since.isoformat()})
    half_written(library, fake_embedder, "old")
    monkeypatch.setattr(
        chroma, "_writer", lambda: {"writer": "elsewhere:2", "since": datetime.now(UTC).isoformat()}
    )
    half_written(library, fake_embedder, "recent")
    assert library.store.recover() == ["old"]
    assert library.store.count_chunks() == 3


def test_interrupted_removal_completes_on_open(
    fake_library: Library, tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "one.bib", bib_entry("k", "Alpha", "First paper's abstract."))
    fake_library.add(tmp_path / "one.bib")
    dead_writer(monkeypatch)  # a process that died between the first and the last step of remove()
    fake_library.store.papers_collection.update(
        ids=["k"], metadatas=[{"status": "removing", **chroma._writer()}]
    )
    reopened = Library(fake_library.path, embedder=fake_embedder)
    assert reopened.papers() == [] and reopened.store.count_chunks() == 0
    assert "k" in reopened.store.all_keys()  # still reserved


def test_other_embedder_is_refused(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    Library(tmp_path / "lib", embedder=fake_embedder)

    class Other(FakeEmbedder):
        name = "another-model"

    with pytest.raises(EmbedderMismatchError, match="built with embedder 'fake-hash-64'"):
        Library(tmp_path / "lib", embedder=Other())


def test_embedder_failure_fails_the_files_and_keeps_the_library_consistent(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    class Broken(FakeEmbedder):
        def embed(self, texts: list[str]) -> np.ndarray:
            raise EmbeddingError("embeddings endpoint not reachable at http://127.0.0.1:9/v1")

    write(
        tmp_path / "in" / "r.bib",
        bib_entry("a", "Alpha", "Alpha text.") + bib_entry("b", "Beta", "Beta text."),
    )
    broken = Library(tmp_path / "lib", embedder=Broken())
    report = broken.add(tmp_path / "in")
    assert report.added == [] and len(report.failed) == 2
    assert all("not reachable" in o.reason for o in report.failed)
    assert broken.store.all_keys() == set() and broken.store.count_chunks() == 0
    # with a working embedder the same files go in
    assert len(Library(tmp_path / "lib", embedder=fake_embedder).add(tmp_path / "in").added) == 2


def test_library_folder_from_settings(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    library = Library(settings=Settings(library=tmp_path / "from-settings"), embedder=fake_embedder)
    assert library.path == tmp_path / "from-settings" and (library.path / "chroma").is_dir()


def test_a_schema_1_library_gets_its_windows_moved(fake_embedder: FakeEmbedder, tmp_path: Path) -> None:
    """Libraries written before windows had a collection of their own kept them among the
    passages; opening one moves them, and searching finds them there."""
    abstract = (
        "We propose QuokkaNet, a small detector for quokkas in camera trap images. It counts the "
        "quokkas that pass a trap at night with infrared light. It runs on a phone without a network."
    )
    library = Library(tmp_path / "lib", embedder=fake_embedder)
    library.add(write(tmp_path / "refs.bib", bib_entry("roe2024quokka", "QuokkaNet", abstract)))
    store = library.store
    windows = store.windows_collection.get(include=["embeddings", "documents", "metadatas"])
    assert len(windows["ids"]) == 2
    store.chunks_collection.add(
        ids=windows["ids"],
        embeddings=windows["embeddings"],
        documents=windows["documents"],
        metadatas=windows["metadatas"],
    )
    store.windows_collection.delete(ids=windows["ids"])
    meta = dict(store.chunks_collection.metadata or {})
    store.chunks_collection.modify(metadata={**meta, "litassist_schema": 1})
    reopened = Library(tmp_path / "lib", embedder=fake_embedder)
    assert sorted(reopened.store.windows_collection.get()["ids"]) == sorted(windows["ids"])
    assert [c.kind for c in reopened.chunks("roe2024quokka")] == ["passage"]
    assert len(reopened.store.chunks("roe2024quokka", kind="window")) == 2
    assert reopened.search("quokkas pass a trap at night", retriever="dense")[0].key == "roe2024quokka"
    assert (reopened.store.chunks_collection.metadata or {})["litassist_schema"] == chroma.SCHEMA_VERSION


def test_the_dense_search_breadth_follows_the_settings(fake_embedder: FakeEmbedder, tmp_path: Path) -> None:
    """A library's vector collections are made with the configured HNSW search breadth; one made
    with another (a library from before the setting, at Chroma's default) is changed when it is
    opened, and still searches."""
    narrow = Settings(library=tmp_path / "lib", chroma=ChromaSettings(search_ef=100))
    library = Library(settings=narrow, embedder=fake_embedder)
    library.add(write(tmp_path / "refs.bib", bib_entry("roe2024quokka", "QuokkaNet", "Quokkas at night.")))

    def breadths(store: chroma.ChromaStore) -> list[int]:
        collections = (store.papers_collection, store.chunks_collection, store.windows_collection)
        return [
            store.client.get_collection(c.name).configuration_json["hnsw"]["ef_search"] for c in collections
        ]

    assert breadths(library.store) == [100, 100, 100]
    reopened = Library(settings=Settings(library=tmp_path / "lib"), embedder=fake_embedder)
    assert (
        breadths(reopened.store) == [Settings().chroma.search_ef] * 3 and Settings().chroma.search_ef == 800
    )
    assert reopened.search("Quokkas at night", retriever="dense")[0].key == "roe2024quokka"


def test_a_folder_link_loop_gets_a_row(fake_library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "refs.bib").write_text(
        "@article{a2024, title={A Title Here}, year=2024, abstract={Some abstract text.}}"
    )
    (folder / "again").symlink_to(folder)
    report = fake_library.add(folder)
    assert [p.key for p in fake_library.papers()] == ["a2024"]
    assert any(o.source.endswith("again") and "already read" in o.reason for o in report.skipped)


def test_a_folder_holding_the_library_and_a_readme_adds_only_its_papers(
    fake_library: Library, tmp_path: Path
) -> None:
    (tmp_path / "refs.bib").write_text(
        "@article{a2024, title={A Title Here}, year=2024, abstract={Some abstract text.}}"
    )
    (tmp_path / "README.md").write_text("# My papers\n\nWhere these files came from, and their licences.\n")
    assert fake_library.add(tmp_path / "refs.bib").ok  # the library's folder now holds its files
    report = fake_library.add(tmp_path)
    assert [p.key for p in fake_library.papers()] == ["a2024"]
    why = {Path(o.source).name: o.reason for o in report.skipped}
    assert "library's own folder" in why["library"] and "README" in why["README.md"]
    assert not report.failed and not any("chroma" in o.source for o in report.skipped)
    assert fake_library.add(tmp_path / "README.md").added  # named, it is read


def test_a_library_path_that_cannot_be_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    from assistant import LibraryError

    (tmp_path / "a-file").write_text("")
    with pytest.raises(LibraryError, match="is a file, not a library folder"):
        Library(tmp_path / "a-file", embedder=FakeEmbedder())
    with pytest.raises(LibraryError, match="cannot make the library folder"):
        Library(tmp_path / "a-file" / "inside", embedder=FakeEmbedder())


def test_an_empty_topic_is_an_invalid_request(fake_library: Library) -> None:
    from assistant import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="the topic is empty"):
        fake_library.related_work("  ")


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def read_only(fake_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``fake_library``'s folder, with two papers, as if it could not be written (what the
    probe finds on a read-only mount; root ignores permissions, so the probe is told)."""
    bib = write(
        tmp_path / "refs.bib", bib_entry("a", "Alpha", "Quokkas at night.") + bib_entry("b", "Beta", "Pose.")
    )
    assert fake_library.add(bib).ok
    folder = fake_library.path
    monkeypatch.setattr(
        library_module,
        "_unwritable",
        lambda path: "Read-only file system" if path.is_relative_to(folder) else None,
    )
    return folder


def test_a_read_only_library_is_searched_from_a_copy(
    read_only: Path, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    before = _contents(read_only)
    with Library(read_only, embedder=fake_embedder) as library:
        assert library.read_only == "Read-only file system" and library.snapshot is not None
        copy = library.snapshot.path
        assert not copy.is_relative_to(read_only) and (copy / "chroma").is_dir()
        assert [p.key for p in library.papers()] == ["a", "b"]
        for retriever in ("hybrid", "dense", "lexical"):
            assert library.search("quokkas at night", retriever=retriever)[0].key == "a"  # type: ignore[arg-type]
        assert library.using(LLMSettings(mode="extractive")).ask("quokkas at night?").mode == "extractive"
        refused = r"this library is read-only \(.+ cannot be written: Read-only file system\): search only"
        with pytest.raises(LibraryError, match=refused):
            library.add(write(tmp_path / "new.bib", bib_entry("c", "Gamma", "Gamma text.")))
        with pytest.raises(LibraryError, match=refused):
            library.remove("a")
        handlers = Handlers(library, uploads=Uploads(tmp_path / "uploads", max_bytes=10_000))
        summary, rows = handlers.add_files([tmp_path / "new.bib"])
        assert "search only" in summary and rows == [] and not (tmp_path / "uploads").exists()
        assert "search only" in handlers.remove("a") and "read-only" in handlers.banner(None)
        assert [p.key for p in library.papers()] == ["a", "b"]
    assert not copy.exists()
    assert _contents(read_only) == before


def test_a_read_only_library_above_the_copy_bound_is_refused(
    read_only: Path, fake_embedder: FakeEmbedder
) -> None:
    settings = Settings(library_copy_mb=0.001)
    bound = r"LITASSIST_LIBRARY_COPY_MB \(0.001 MB\), and this one holds .* MB"
    with pytest.raises(LibraryError, match=rf"this library is read-only: {read_only} .*{bound}"):
        Library(read_only, settings=settings, embedder=fake_embedder)
