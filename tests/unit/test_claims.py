"""Claims (store/claims.py) and the ingest's use of them, with writers that share one Chroma:
several ``Claims`` or ``Ingest`` objects on one embedded client stand for processes on one
server (the real processes and server: tests/integration/test_shared_server.py)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaClientSettings

from assistant import Library, Settings
from store import claims as claims_module
from store.claims import Claims
from store.ingest import Ingest
from store.paper import Paper, content_hash
from store.readers import read
from tests.conftest import FakeEmbedder
from tests.unit.test_library import bib_entry, write


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ClientAPI]:
    yield chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ChromaClientSettings(anonymized_telemetry=False)
    )


def test_a_name_held_by_one_writer_is_lost_by_the_next_until_released(client: ClientAPI) -> None:
    first, second = Claims(client), Claims(client)
    assert first.claim(["key:a", "hash:1"]) == ({"key:a", "hash:1"}, {})
    held, lost = second.claim(["key:a", "key:b"])
    assert held == {"key:b"} and set(lost) == {"key:a"}
    assert lost["key:a"].writer.endswith(f":{claims_module.os.getpid()}")
    # the loser's own record is gone: it never blocks the holder
    assert first.held_by_others(["key:a"]) == {}
    first.release(["key:a"])
    assert second.claim(["key:a"])[0] == {"key:a"}


def _record(claims: Claims, name: str, *, at: float, token: str = "0" * 32) -> None:
    """Another writer's claim, written just before this one's (what a real race leaves)."""
    claims.collection.add(
        ids=[f"{name}@{token}"],
        embeddings=[[1.0]],
        metadatas=[{**claims_module.writer_identity(), "name": name, "token": token, "at": at}],
    )


def test_of_two_writers_that_see_each_other_the_earlier_one_wins(client: ClientAPI) -> None:
    mine = Claims(client, grace=3.0)
    _record(mine, "key:early", at=time.time() - 10)  # the rival claimed first: this writer withdraws
    held, lost = mine.claim(["key:early"])
    assert held == set() and set(lost) == {"key:early"}
    assert [m["token"] for m in mine.collection.get(include=["metadatas"])["metadatas"] or []] == ["0" * 32]

    # the rival is later: it withdraws (here, a moment later) and this writer holds the name
    _record(mine, "key:late", at=time.time() + 10, token="f" * 32)
    threading.Timer(0.3, lambda: mine.collection.delete(ids=[f"key:late@{'f' * 32}"])).start()
    started = time.monotonic()
    assert mine.claim(["key:late"])[0] == {"key:late"}
    assert 0.2 < time.monotonic() - started < 3.0


def test_the_earlier_writer_gives_up_to_a_later_one_that_read_first(client: ClientAPI) -> None:
    mine = Claims(client, grace=0.3)
    _record(mine, "key:k", at=time.time() + 10)  # later, but it read before this one wrote: it holds
    started = time.monotonic()
    held, lost = mine.claim(["key:k"])
    assert held == set() and set(lost) == {"key:k"} and time.monotonic() - started < 2
    assert mine.held_by_others(["key:k"]) != {}  # its claim stands; this writer's is gone


def test_writers_racing_for_the_same_names_never_both_hold_one(client: ClientAPI) -> None:
    writers = [Claims(client) for _ in range(3)]
    names = [f"key:k{i}" for i in range(15)]
    won: dict[str, list[int]] = {n: [] for n in names}
    barrier = threading.Barrier(len(writers))

    def race(index: int) -> None:
        for name in names:
            barrier.wait()
            held, _ = writers[index].claim([name])
            if held:
                won[name].append(index)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert {n: w for n, w in won.items() if len(w) != 1} == {}


def test_claims_of_a_writer_that_died_are_recovered(
    client: ClientAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    mine = Claims(client)
    with monkeypatch.context() as patch:
        identity = {
            "writer": f"{claims_module.socket.gethostname()}:{dead.pid}",
            "since": "2000-01-01T00:00:00+00:00",
        }
        patch.setattr(claims_module, "writer_identity", lambda: identity)
        Claims(client).claim(["key:gone"])
    assert set(mine.held_by_others(["key:gone"])) == {"key:gone"}
    assert mine.recover() == 1
    assert mine.claim(["key:gone"])[0] == {"key:gone"}


# -- the ingest -------------------------------------------------------------------------------


def writers(tmp_path: Path, count: int = 2) -> list[Library]:
    """Libraries in separate folders on one Chroma (as on one server): separate stores and claims."""
    client = chromadb.PersistentClient(
        path=str(tmp_path / "shared"), settings=ChromaClientSettings(anonymized_telemetry=False)
    )
    return [
        Library(tmp_path / f"lib{i}", settings=Settings(), embedder=FakeEmbedder(), client=client)
        for i in range(count)
    ]


def ingest(library: Library, **kwargs: float) -> Ingest:
    return Ingest(library.store, library.embedder, library.chunker, **kwargs)


def test_a_key_another_writer_holds_is_passed_over(tmp_path: Path) -> None:
    mine, other = writers(tmp_path)
    other.store.claims.claim(["key:landmarks"])
    path = write(tmp_path / "in" / "a.bib", bib_entry("landmarks", "Landmarks", "Landmarks everywhere."))
    report = ingest(mine).run([path])
    assert [p.key for p in report.added] == ["doe2024landmarks"]
    assert other.store.chunks("landmarks") == [] and "landmarks" not in mine.store.all_keys()


def content_name(path: Path) -> str:
    [document] = read(path).documents
    return f"hash:{content_hash(document)}"


def test_a_paper_another_writer_is_adding_becomes_a_source_of_its_paper(tmp_path: Path) -> None:
    mine, other = writers(tmp_path)
    entry = bib_entry("shared", "Shared", "The same abstract in two files.")
    theirs, ours = write(tmp_path / "a" / "s.bib", entry), write(tmp_path / "b" / "s.bib", entry)
    # the other writer holds the paper's content while it writes; this run waits for it
    name = content_name(theirs)
    assert other.store.claims.claim([name])[0] == {name}
    added: list[str] = []

    def finish() -> None:
        time.sleep(0.5)  # then it stores the paper (its claim is its own) and lets go after the commit
        added.extend(p.key for p in ingest(other).run([theirs]).added)

    thread = threading.Thread(target=finish)
    thread.start()
    report = ingest(mine).run([ours])
    thread.join()
    assert added == ["shared"]
    assert report.added == [] and report.failed == []
    assert [o.reason for o in report.skipped] == ["same paper as shared; this source was added to it"]
    [paper] = mine.papers()
    assert set(paper.sources) == {str(theirs.resolve()), str(ours.resolve())}


def test_a_paper_whose_other_writer_never_finishes_is_reported_not_stored(tmp_path: Path) -> None:
    mine, other = writers(tmp_path)
    path = write(tmp_path / "in" / "s.bib", bib_entry("s", "Stuck", "Another writer hangs on this."))
    other.store.claims.claim([content_name(path)])
    report = ingest(mine, wait_for_others=0.5).run([path])
    assert report.added == [] and mine.papers() == []
    [failed] = report.failed
    assert "was adding the same paper and had not finished after 0 s; not stored by this run" in failed.reason


def test_writers_racing_on_overlapping_files_keep_every_paper_once(tmp_path: Path) -> None:
    libraries = writers(tmp_path, 3)
    shared = "".join(bib_entry(f"s{i}", f"Shared {i}", f"Shared abstract number {i}.") for i in range(4))
    inputs = []
    for w in range(len(libraries)):
        own = "".join(
            bib_entry(key, f"Own {key} {w}", f"Writer {w} wrote {key} alone.") for key in ("a", "b", "s0")
        )
        inputs.append(
            [write(tmp_path / f"in{w}" / "shared.bib", shared), write(tmp_path / f"in{w}" / "own.bib", own)]
        )
    reports: list = [None] * len(libraries)
    barrier = threading.Barrier(len(libraries))

    def run(index: int) -> None:
        barrier.wait()
        reports[index] = ingest(libraries[index]).run(inputs[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(libraries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    papers = libraries[0].papers()
    assert len(papers) == 4 + 3 * len(libraries)
    assert len({p.content_hash for p in papers}) == len(papers)
    added = [p.key for r in reports for p in r.added]
    assert sorted(added) == sorted(p.key for p in papers) and all(r.failed == [] for r in reports)
    for paper in papers:
        passages = libraries[0].store.chunks(paper.key)
        assert len(passages) == paper.chunk_count and passages[0].text == paper.abstract
    shared_papers = [p for p in papers if p.title and p.title.startswith("Shared")]
    assert all(len(p.sources) == len(libraries) for p in shared_papers)


def test_a_commit_that_another_writer_overwrote_is_not_reported_added(
    fake_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fake_library.store
    real_commit = store.commit

    def commit_then_overwritten(papers: list[Paper], vectors: object) -> None:
        real_commit(papers, vectors)  # type: ignore[arg-type]
        store.papers_collection.update(ids=[papers[0].key], metadatas=[{"claim": "someone-else"}])

    monkeypatch.setattr(store, "commit", commit_then_overwritten)
    path = write(tmp_path / "in" / "a.bib", bib_entry("k", "Alpha", "First paper's abstract."))
    report = fake_library.add(path)
    assert report.added == []
    [failed] = report.failed
    assert "check after the commit found its record was written by another writer" in failed.reason
