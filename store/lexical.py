"""The lexical (BM25) side of search: a bm25s index over the library's chunks, persisted in the
library folder and kept in step with Chroma.

Chroma's own sparse index exists only in its hosted service, so this index lives with the client,
also when the library is on a ``chroma run`` server. It records the store's fingerprint it was
built from; when another process (or another machine sharing the server) has changed the library
since, :meth:`LexicalIndex.ensure_current` rebuilds it from the chunks in Chroma.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from store.acronyms import expand, mine
from store.sentences import split_sentences

if TYPE_CHECKING:
    import bm25s

    from store.chroma import ChromaStore

log = logging.getLogger(__name__)

FORMAT = 4
RECHECK_SECONDS = 2.0  # the longest a commit by another process can go unseen
# words that ask rather than describe: dropped from queries ("which papers propose ...")
QUERY_STOPWORDS = frozenset(
    """which what how does do did is are there any paper papers work works study studies method methods
    approach approaches collection corpus library article articles publication publications propose
    proposes proposed use uses using used can could would should when why where who whose about from
    between than other others its it this these those has have had been being was were our we they them
    their such also only not both each every some one two based new novel""".split()
)


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


_WORD = re.compile(r"(?u)\b\w\w+\b")


@cache
def _bm25s() -> Any:
    """bm25s, imported on first use (search and ingest need it, `--help` does not), with its
    logger back at WARNING: it sets itself to DEBUG on import."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def stopwords(*, query: bool = False) -> frozenset[str]:
    """English stopwords (and, for a query, the words that only ask)."""
    return _stopwords() | QUERY_STOPWORDS if query else _stopwords()


def tokens(text: str, *, query: bool = False) -> list[str]:
    """Lower-cased words of two or more characters, English stopwords out (and, in a query,
    the words that only ask), Snowball-stemmed."""
    stop = stopwords(query=query)
    return list(_stemmer().stemWords([w for w in _WORD.findall(text.lower()) if w not in stop]))


def document_text(title: str | None, text: str) -> str:
    """What the lexical index reads for a chunk: the paper's title, then the passage."""
    return f"{title}\n{text}" if title else text


@dataclass(frozen=True)
class LexicalScores:
    """BM25 scores of one query, gathered per paper: the best passage's and the best abstract
    window's score of every paper in the index (0 where nothing matches), and the passages'
    scores for picking what to show."""

    papers: list[str]
    passage: np.ndarray
    window: np.ndarray
    chunk_ids: list[str]
    chunk_papers: np.ndarray
    chunk_scores: np.ndarray  # passages only; windows are 0 here
    allowed: np.ndarray  # per paper: within the filters

    def top_passages(self, n: int) -> list[tuple[str, str, float]]:
        """The ``n`` best passages: (chunk id, paper key, score), score > 0."""
        n = min(n, len(self.chunk_scores))
        if n == 0:
            return []
        top = np.argpartition(-self.chunk_scores, n - 1)[:n]
        top = top[np.argsort(-self.chunk_scores[top], kind="stable")]
        return [
            (self.chunk_ids[i], self.papers[self.chunk_papers[i]], float(self.chunk_scores[i]))
            for i in top
            if self.chunk_scores[i] > 0
        ]


class LexicalIndex:
    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()
        self._bm25: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._papers: list[str] = []
        self._paper_of = np.zeros(0, dtype=np.int32)
        self._windows = np.zeros(0, dtype=bool)
        self._years = np.zeros(0, dtype=np.int32)
        self._fingerprint: str | None = None
        self._counts: tuple[int, int] | None = None  # the store's counts when last checked
        self._checked = 0.0
        self._load()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def fingerprint(self) -> str | None:
        return self._fingerprint

    def _load(self) -> None:
        state_file = self.folder / "state.json"
        if not state_file.is_file():
            return
        try:
            state = json.loads(state_file.read_text())
            if state.get("format") != FORMAT:
                return
            units = json.loads((self.folder / "chunks.json").read_text())
            bm25 = None
            if units["ids"]:
                bm25 = _bm25s().BM25.load(str(self.folder / "bm25"), mmap=False, show_progress=False)
        except (OSError, ValueError, KeyError) as e:
            log.warning("the lexical index in %s is unreadable (%s); it will be rebuilt", self.folder, e)
            return
        self._set(bm25, units)
        self._fingerprint = state.get("fingerprint")

    def _set(self, bm25: bm25s.BM25 | None, units: dict[str, Any]) -> None:
        self._bm25 = bm25
        self._ids, self._papers = units["ids"], units["papers"]
        self._paper_of = np.asarray(units["paper_of"], dtype=np.int32)
        self._windows = np.asarray(units["windows"], dtype=bool)
        self._years = np.array([y if y is not None else -1 for y in units["years"]], dtype=np.int32)
        self._acronyms: dict[str, str] = units.get("acronyms", {})

    def ensure_current(self, store: ChromaStore) -> bool:
        """Rebuild from the store when it has changed since the index was built; True if it did.

        The fingerprint reads every paper's record (~20 ms at 250 papers), too slow for every
        query: it is read when the store's counts have changed, and otherwise at most every
        ``RECHECK_SECONDS`` (a commit by another process changes a status, not a count)."""
        counts = store.counts()
        if counts == self._counts and time.monotonic() - self._checked < RECHECK_SECONDS:
            return False
        fingerprint = store.fingerprint()
        self._counts, self._checked = counts, time.monotonic()
        if fingerprint == self._fingerprint:
            return False
        with self._lock:
            if fingerprint == self._fingerprint:
                return False
            titles = {p.key: p.title for p in store.papers()}
            self.build(store.iter_chunks(), titles=titles, fingerprint=fingerprint)
        return True

    def build(
        self,
        chunks: Iterable[tuple[str, str, dict[str, Any]]],
        *,
        titles: dict[str, str | None],
        fingerprint: str,
    ) -> None:
        bm25s = _bm25s()
        ids: list[str] = []
        papers: dict[str, int] = {}
        paper_of: list[int] = []
        windows: list[bool] = []
        years: list[int | None] = []
        corpus: list[list[str]] = []
        # the lexical side reads the abstract's single sentences instead of its windows
        passages = [(cid, text, meta) for cid, text, meta in chunks if meta.get("kind") != "window"]
        acronyms = mine(text for _, text, _ in passages)

        def unit(chunk_id: str, key: str, text: str, fine: bool, year: int | None) -> None:
            ids.append(chunk_id)
            paper_of.append(papers.setdefault(key, len(papers)))
            windows.append(fine)
            years.append(year)
            corpus.append(tokens(expand(text, acronyms)))

        for chunk_id, text, meta in passages:
            key, year, title = (
                str(meta.get("paper_key")),
                meta.get("year"),
                titles.get(key := str(meta.get("paper_key"))),
            )
            unit(chunk_id, key, document_text(title, text), False, year)
            if meta.get("section") == "Abstract":
                for i, sentence in enumerate(([title] if title else []) + split_sentences(text)):
                    unit(f"{chunk_id}#s{i}", key, sentence, True, year)
        bm25 = None
        if corpus:
            bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
            bm25.index(corpus, show_progress=False)
        units = {
            "ids": ids,
            "papers": list(papers),
            "paper_of": paper_of,
            "windows": windows,
            "years": years,
            "acronyms": acronyms,
        }
        # written to a new folder, then swapped in: a crash leaves the old index or none
        staging = self.folder.with_name(self.folder.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if bm25 is not None:
            bm25.save(str(staging / "bm25"), show_progress=False)
        (staging / "chunks.json").write_text(json.dumps(units))
        (staging / "state.json").write_text(json.dumps({"format": FORMAT, "fingerprint": fingerprint}))
        old = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(old)
        staging.rename(self.folder)
        shutil.rmtree(old, ignore_errors=True)
        self._set(bm25, units)
        self._fingerprint = fingerprint
        log.info("lexical index rebuilt: %d chunks of %d papers", len(ids), len(papers))

    def scores(
        self,
        query: str,
        *,
        keys: Iterable[str] | None = None,
        years: tuple[int | None, int | None] | None = None,
    ) -> LexicalScores | None:
        """BM25 scores of ``query`` for every paper (optionally only papers with these keys and
        within these years, inclusive); None when the index is empty or the query has no words."""
        if self._bm25 is None or not self._ids:
            return None
        vocabulary = self._bm25.vocab_dict
        query_tokens = [t for t in tokens(expand(query, self._acronyms), query=True) if t in vocabulary]
        if not query_tokens:
            return None
        unit = np.asarray(self._bm25.get_scores(query_tokens), dtype=np.float32)
        mask = np.ones(len(unit), dtype=bool)
        if keys is not None:
            wanted = set(keys)
            allowed = np.fromiter((k in wanted for k in self._papers), dtype=bool, count=len(self._papers))
            mask &= allowed[self._paper_of]
        if years is not None:
            low, high = years
            mask &= self._years >= 0
            if low is not None:
                mask &= self._years >= low
            if high is not None:
                mask &= self._years <= high
        unit = np.where(mask, unit, 0.0)
        allowed = np.zeros(len(self._papers), dtype=bool)
        allowed[self._paper_of[mask]] = True
        passage = np.zeros(len(self._papers), dtype=np.float32)
        window = np.zeros(len(self._papers), dtype=np.float32)
        np.maximum.at(passage, self._paper_of[~self._windows], unit[~self._windows])
        np.maximum.at(window, self._paper_of[self._windows], unit[self._windows])
        return LexicalScores(
            self._papers,
            passage,
            window,
            self._ids,
            self._paper_of,
            np.where(self._windows, 0.0, unit),
            allowed,
        )
