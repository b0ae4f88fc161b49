"""Claims (store/claims.py), with writers that share one Chroma: several ``Claims`` objects on
one embedded client stand for processes on one server."""

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

from store import claims as claims_module
from store.claims import Claims


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
