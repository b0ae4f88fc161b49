"""Claims: who may create a key, or a paper's content, when several writers share one Chroma.

Two library folders, or two machines, can write to one Chroma server under one prefix; a file
lock serialises the writers of one folder only. Chroma has no transactions and no
compare-and-swap, so the writers agree through records in a collection of their own
(``<prefix>claims``), with only what Chroma does guarantee: a write that has returned is seen
by every read that starts after it (one server, one log).

**The protocol.** To claim a set of *names* (``key:gravityhill``, ``hash:<content hash>``,
``arxiv:2501.1234``, ``doi:...``) a writer

1. adds one record per name with an id of its own (``<name>@<token>``: no two writers ever
   write the same id, so nothing a writer does can overwrite or delete another's claim), with
   ``at`` (its clock);
2. reads every claim on those names;
3. per name: if its record is the only one, it **holds** the name. If it sees others, the
   earliest by ``(at, token)`` may still win: every other writer withdraws at once (deletes its
   record); the earliest re-reads for a short grace and holds the name once the others are gone.
   A writer that is not the earliest, that sees an earlier claim while it waits, or that is
   still not alone when the grace ends, withdraws: it has lost the name.

(Chroma ignores an ``add`` of an id that exists, and one shared id per name would make the first
writer win outright; but then recovery, deleting a dead writer's claim by that id, could delete
a live writer's claim made in between. Ids of one's own avoid that: a writer only ever deletes
its own records, or those of a writer that is gone.)

**Why two writers never hold one name.** Say A and B both hold it. Each wrote, then read. If
neither saw the other, each read came before the other's write: A wrote < A read < B wrote <
B read < A wrote, impossible. So one, say B, saw A's claim; B then held the name only as the
earliest after A withdrew, and A withdraws only after it lost (then A does not hold it) or when
it lets go after its work is done (then they did not hold it at the same time). Clocks decide
only who waits, never safety: with any skew the rule still gives at most one holder. Nor do
two writers wait for each other: a waiting writer gives up as soon as it sees an earlier claim,
so the earliest claim present is never one that waits for another waiting writer (a writer that
took its clock first but wrote last would otherwise wait for one that waits for it).

**What a held name is used for** (store/ingest.py, store/chroma.py). A writer claims a new
paper's key and its identities (content hash, arXiv id, DOI) *before* it writes anything else,
then checks the papers collection again (a writer that let go of a name did so after its commit,
which that check sees), and lets go only after its commit record is written. A writer that
loses a key takes the next one; one that loses an identity waits for the other writer's commit
and adds its file as another source of that paper. Editing a stored paper (another source, a
removal) claims ``edit:<key>`` around its read-modify-write.

A writer that dies leaves its claims; :meth:`Claims.recover` removes those of a process on this
host that is gone, and those of another host older than an hour (the same rule as pending
paper records). Until then its names are simply taken.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.types import Where

log = logging.getLogger(__name__)

_BATCH = 500


def writer_identity() -> dict[str, str]:
    """Who is writing, so that recovery can tell abandoned work from work in progress."""
    return {"writer": f"{socket.gethostname()}:{os.getpid()}", "since": datetime.now(UTC).isoformat()}


def abandoned(meta: dict[str, Any], stale_after: float) -> bool:
    """Whether the writer of a record (pending paper, claim) is gone: a process on this host
    that no longer runs, or one elsewhere not heard from within ``stale_after`` seconds."""
    host, _, pid = str(meta.get("writer") or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    since = meta.get("since")
    if not since:
        return True
    age = (datetime.now(UTC) - datetime.fromisoformat(str(since))).total_seconds()
    return age > stale_after


@dataclass(frozen=True)
class Holder:
    """Another writer's claim on a name."""

    name: str
    writer: str


class Claims:
    """The claims of one writer (``token``) in ``<prefix>claims``."""

    def __init__(self, client: ClientAPI, prefix: str = "", *, grace: float = 2.0, poll: float = 0.05):
        # Chroma wants a vector per record (claims get a constant one: they are never searched)
        self.collection = client.get_or_create_collection(
            f"{prefix}claims", embedding_function=None, metadata={"litassist_claims": 1}
        )
        self.token = uuid.uuid4().hex
        self.grace = grace
        self.poll = poll

    def _id(self, name: str) -> str:
        return f"{name}@{self.token}"

    def claim(self, names: Iterable[str]) -> tuple[set[str], dict[str, Holder]]:
        """Claim ``names``: returns those held now, and for each lost one the writer that
        holds it (or is still trying for it). Waits at most ``grace`` seconds, and only when it
        met a later writer that has not yet withdrawn (one that read before this one wrote
        holds the name, and this one gives up when the grace ends)."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return set(), {}
        at = time.time()
        meta: dict[str, Any] = {**writer_identity(), "token": self.token, "at": at}
        for start in range(0, len(wanted), _BATCH):
            some = wanted[start : start + _BATCH]
            self.collection.add(
                ids=[self._id(n) for n in some],
                embeddings=np.ones((len(some), 1), dtype=np.float32),
                metadatas=[{**meta, "name": n} for n in some],
            )
        held: set[str] = set()
        lost: dict[str, Holder] = {}
        waiting: list[str] = []
        rivals = self._others(wanted)
        for name in wanted:
            others = rivals.get(name, [])
            if not others:
                held.add(name)
            elif all((at, self.token) < _order(o) for o in others):
                waiting.append(name)  # the earliest: the others withdraw
            else:
                lost[name] = _holder(name, others)
        self.release(lost)  # at once: an earlier writer may be waiting for this one to go
        deadline = time.monotonic() + self.grace
        while waiting:
            time.sleep(self.poll)
            rivals = self._others(waiting)
            still = []
            for name in waiting:
                others = rivals.get(name, [])
                if not others:
                    held.add(name)
                elif time.monotonic() > deadline or any(_order(o) < (at, self.token) for o in others):
                    lost[name] = _holder(name, others)
                else:
                    still.append(name)
            self.release([n for n in waiting if n in lost])
            waiting = still
        return held, lost

    def claim_one(self, name: str, *, timeout: float = 60.0) -> bool:
        """Claim one name, retrying while another writer holds it (for short edits)."""
        deadline = time.monotonic() + timeout
        while True:
            held, _ = self.claim([name])
            if held:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(self.poll * (1 + uuid.uuid4().int % 4))

    def release(self, names: Iterable[str]) -> None:
        """Let go of these names (only this writer's own records are touched)."""
        ids = [self._id(n) for n in dict.fromkeys(names)]
        for start in range(0, len(ids), _BATCH):
            self.collection.delete(ids=ids[start : start + _BATCH])

    def release_all(self) -> None:
        self.collection.delete(where={"token": self.token})

    def held_by_others(self, names: Sequence[str]) -> dict[str, Holder]:
        """Names in ``names`` another writer claims now."""
        return {name: _holder(name, others) for name, others in self._others(names).items()}

    def recover(self, *, stale_after: float = 3600.0) -> int:
        """Remove the claims of writers that are gone; returns how many."""
        found = self.collection.get(include=["metadatas"])
        ids = [
            id_
            for id_, meta in zip(found["ids"], found["metadatas"] or [], strict=True)
            if abandoned(dict(meta or {}), stale_after)
        ]
        for start in range(0, len(ids), _BATCH):
            self.collection.delete(ids=ids[start : start + _BATCH])
        if ids:
            log.info("removed %d claims of writers that are gone", len(ids))
        return len(ids)

    def _others(self, names: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Other writers' claims on ``names``, by name."""
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(names), _BATCH):
            result = self.collection.get(
                where=cast("Where", {"name": {"$in": list(names[start : start + _BATCH])}}),
                include=["metadatas"],
            )
            for meta in result["metadatas"] or []:
                if meta and meta.get("token") != self.token:
                    found.setdefault(str(meta["name"]), []).append(dict(meta))
        return found


def _order(meta: dict[str, Any]) -> tuple[float, str]:
    return float(meta.get("at") or 0.0), str(meta.get("token"))


def _holder(name: str, others: list[dict[str, Any]]) -> Holder:
    first = min(others, key=_order) if others else {}
    return Holder(name, str(first.get("writer", "another writer")))
