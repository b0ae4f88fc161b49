"""The lexical (BM25) side of search: an index over the library's chunks, persisted in the
library folder and kept in step with Chroma.

Chroma's own sparse index exists only in its hosted service, so this index lives with the client,
also when the library is on a ``chroma run`` server. It is a list of immutable *segments*, each
holding the postings of some papers; adding papers writes a new segment, removing them marks
their units dead, and a query scores every segment with the statistics of them all (so the BM25
scores equal those of one index over the live units). When segments pile up or a quarter of the
units are dead, the next update rebuilds it as one segment. The index records, per paper, the
state it indexed; when another process (or another machine sharing the server) has changed the
library, :meth:`LexicalIndex.ensure_current` indexes just the difference.

Hand-written rather than bm25s (whose tokenizer's stopwords it still uses): bm25s bakes each
term's IDF into its matrix when it indexes, so it can only be rebuilt whole, which takes minutes
at a million chunks; here the postings keep raw term frequencies, and IDF and length norms are
applied at query time over all segments (Lucene's BM25, as bm25s's ``method="lucene"``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import uuid
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from filelock import FileLock

from store.acronyms import expand, mine
from store.sentences import split_sentences

if TYPE_CHECKING:
    from store.chroma import ChromaStore

log = logging.getLogger(__name__)

FORMAT = 5
K1, B = 1.2, 0.75
MAX_SEGMENTS = 16  # more, and the next update merges them into one
MAX_DEAD_SHARE = 0.25  # more units of removed papers than this, and the next update rebuilds
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
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets it to DEBUG on import

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
    sentence's score of every paper in the index (0 where nothing matches, or the paper is
    outside the filters or removed), and the passages' scores for picking what to show."""

    papers: list[str]
    index: dict[str, int]  # key -> position in ``papers``
    passage: np.ndarray
    window: np.ndarray
    allowed: np.ndarray  # per paper: live and within the filters
    _units: list[tuple[Segment, np.ndarray]]  # per segment: its units' passage scores
    # per paper: the share of the query's distinct terms, each weighted by its IDF, that occur
    # somewhere in the paper (0 outside the filters); a term no unit holds weighs the most
    coverage: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    idf: dict[str, float] = field(default_factory=dict)  # the query's distinct terms -> IDF
    unknown: frozenset[str] = frozenset()  # the query's terms that no unit within the filters holds

    @property
    def unknown_share(self) -> float:
        """The IDF-weighted share of the query's distinct terms that no unit (of a live paper
        within the filters) holds."""
        total = sum(self.idf.values())
        return sum(self.idf[t] for t in self.unknown) / total if total > 0 else 0.0

    def best_passage(self, key: str) -> tuple[str, float] | None:
        """The paper's best passage by this query: (chunk id, score), None when none matches."""
        position = self.index.get(key)
        if position is None:
            return None
        for segment, scores in self._units:
            if position < len(segment.papers):
                start = int(segment.starts[position])
                end = (
                    int(segment.starts[position + 1]) if position + 1 < len(segment.papers) else len(segment)
                )
                best = start + int(np.argmax(scores[start:end]))
                return (segment.unit_id(best), float(scores[best])) if scores[best] > 0 else None
            position -= len(segment.papers)
        return None

    def top_passages(self, n: int) -> list[tuple[str, str, float]]:
        """The ``n`` best passages: (chunk id, paper key, score), score > 0."""
        best: list[tuple[float, str, str]] = []
        for segment, scores in self._units:
            m = min(n, len(scores))
            if m == 0:
                continue
            top = np.argpartition(-scores, m - 1)[:m]
            best += [
                (float(scores[i]), segment.unit_id(i), segment.paper_of_unit(i)) for i in top if scores[i] > 0
            ]
        best.sort(key=lambda t: -t[0])
        return [(chunk_id, key, score) for score, chunk_id, key in best[:n]]


# -- segments -------------------------------------------------------------------------------------

Vector = npt.NDArray[Any]


class Segment:
    """The postings of some papers' units, written once and read memory-mapped: per term (a
    column), the units that hold it and how often (CSC). A unit is a passage, or one sentence
    of an abstract (a *window*); a paper's units are contiguous, so per-paper maxima are one
    ``np.maximum.reduceat``."""

    FILES = ("indptr", "rows", "tf", "lengths", "ids", "starts", "windows", "years")

    def __init__(self, folder: Path, arrays: dict[str, Vector], vocab: dict[str, int], papers: list[str]):
        self.folder = folder
        self.indptr, self.rows, self.tf = arrays["indptr"], arrays["rows"], arrays["tf"]
        self.lengths, self.ids, self.starts = arrays["lengths"], arrays["ids"], arrays["starts"]
        self.windows, self.years = arrays["windows"], arrays["years"]
        self.vocab, self.papers = vocab, papers
        self.live = np.ones(len(papers), dtype=bool)  # per paper; removals clear it

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def sizes(self) -> np.ndarray:
        """Units per paper."""
        return np.diff(np.append(self.starts, len(self)))

    @property
    def live_units(self) -> np.ndarray:
        return np.repeat(self.live, self.sizes)

    @cached_property
    def unit_papers(self) -> np.ndarray:
        """Per unit, the position of its paper in ``papers``."""
        return np.repeat(np.arange(len(self.papers), dtype=np.int32), self.sizes)

    def unit_id(self, i: int) -> str:
        return bytes(self.ids[i]).decode()

    def paper_of_unit(self, i: int) -> str:
        return self.papers[int(np.searchsorted(self.starts, i, side="right")) - 1]

    def postings(self, term: str) -> tuple[Vector, Vector] | None:
        column = self.vocab.get(term)
        if column is None:
            return None
        a, b = self.indptr[column], self.indptr[column + 1]
        return self.rows[a:b], self.tf[a:b]

    @classmethod
    def build(
        cls,
        folder: Path,
        units: Iterable[tuple[str, str, str, bool, int | None]],
    ) -> Segment:
        """Index ``units`` (chunk id, paper key, text, is a window, year; a paper's units
        together) and write the segment to ``folder``."""
        vocab: dict[str, int] = {}
        term_ids = array("i")
        offsets = array("q", [0])
        ids: list[bytes] = []
        papers: list[str] = []
        starts: list[int] = []
        windows = array("b")
        years: list[int] = []
        for chunk_id, key, text, window, year in units:
            if not papers or papers[-1] != key:
                papers.append(key)
                starts.append(len(ids))
                years.append(year if year is not None else -1)
            term_ids.extend([vocab.setdefault(t, len(vocab)) for t in tokens(text)])
            offsets.append(len(term_ids))
            ids.append(chunk_id.encode())
            windows.append(window)
        n = len(ids)
        terms = np.frombuffer(term_ids, dtype=np.int32) if term_ids else np.zeros(0, np.int32)
        offsets_ = np.frombuffer(offsets, dtype=np.int64)
        lengths = np.diff(offsets_)
        # postings by term, then unit: sort (term, unit) pairs and count the repeats
        pairs, tf = np.unique(
            terms.astype(np.int64) * max(n, 1) + np.repeat(np.arange(n), lengths), return_counts=True
        )
        column = pairs // max(n, 1)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(column, minlength=len(vocab)), out=indptr[1:])
        arrays: dict[str, Vector] = {
            "indptr": indptr,
            "rows": (pairs % max(n, 1)).astype(np.int32),
            "tf": tf.astype(np.float32),
            "lengths": lengths.astype(np.float32),
            "ids": np.array(ids, dtype=f"S{max((len(i) for i in ids), default=1)}"),
            "starts": np.array(starts, dtype=np.int64),
            "windows": np.frombuffer(windows, dtype=bool).copy() if windows else np.zeros(0, bool),
            "years": np.array(years, dtype=np.int32),
        }
        folder.mkdir(parents=True)
        for name, values in arrays.items():
            np.save(folder / f"{name}.npy", values)
        (folder / "terms.json").write_text(json.dumps({"vocab": vocab, "papers": papers}))
        return cls(folder, arrays, vocab, papers)

    @classmethod
    def load(cls, folder: Path) -> Segment:
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in cls.FILES}
        terms = json.loads((folder / "terms.json").read_text())
        return cls(folder, arrays, terms["vocab"], terms["papers"])


def _units(
    chunks: Iterable[tuple[str, str, dict[str, Any]]],
    titles: dict[str, str | None],
    acronyms: dict[str, str],
) -> Iterator[tuple[str, str, str, bool, int | None]]:
    """What the index reads of each chunk, a paper's units together: its passages with the
    paper's title, and its abstract's single sentences (instead of the abstract's windows)."""
    by_paper: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for chunk_id, text, meta in chunks:
        if meta.get("kind") != "window":
            by_paper.setdefault(str(meta.get("paper_key")), []).append((chunk_id, text, meta))
    for key, passages in by_paper.items():
        title = titles.get(key)
        for chunk_id, text, meta in passages:
            year = meta.get("year")
            yield chunk_id, key, expand(document_text(title, text), acronyms), False, year
            if meta.get("section") == "Abstract":
                for i, sentence in enumerate(([title] if title else []) + split_sentences(text)):
                    yield f"{chunk_id}#s{i}", key, expand(sentence, acronyms), True, year


# -- the index ------------------------------------------------------------------------------------


_UNSEEN = object()


class LexicalIndex:
    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()
        # held while the index's arrays are swapped for new ones and while a query reads them: a
        # search in one thread never sees half of an update made in another (a background fill)
        self._view_lock = threading.Lock()
        self._segments: list[Segment] = []
        self._indexed: dict[str, str] = {}  # paper key -> the store's state of it when indexed
        self._removed: set[str] = set()  # indexed papers since removed (dead units)
        self._acronyms: dict[str, str] = {}
        self._version = ""  # of the saved state this object holds
        self._seen: object = _UNSEEN  # the store's change marker when last checked
        self._load()

    def __len__(self) -> int:
        return sum(len(s) for s in self._segments)

    # -- persistence ---------------------------------------------------------------------------

    def _state_file(self) -> Path:
        return self.folder / "state.json"

    def _load(self) -> None:
        try:
            state = json.loads(self._state_file().read_text())
            if state.get("format") != FORMAT:
                return
            segments = [Segment.load(self.folder / name) for name in state["segments"]]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError) as e:
            log.warning("the lexical index in %s is unreadable (%s); it will be rebuilt", self.folder, e)
            return
        self._set(segments, state["indexed"], set(state["removed"]), state["acronyms"], state["version"])

    def _set(
        self,
        segments: list[Segment],
        indexed: dict[str, str],
        removed: set[str],
        acronyms: dict[str, str],
        version: str,
    ) -> None:
        with self._view_lock:
            self._swap(segments, indexed, removed, acronyms, version)

    def _swap(
        self,
        segments: list[Segment],
        indexed: dict[str, str],
        removed: set[str],
        acronyms: dict[str, str],
        version: str,
    ) -> None:
        later: set[str] = set()  # a paper indexed again (its text changed) lives in its last segment
        for segment in reversed(segments):
            segment.live = np.fromiter(
                (k not in removed and k not in later for k in segment.papers),
                dtype=bool,
                count=len(segment.papers),
            )
            later.update(segment.papers)
        self._segments, self._indexed, self._removed = segments, indexed, removed
        self._acronyms, self._version = acronyms, version
        self._papers = [key for segment in segments for key in segment.papers]
        self._index = {key: i for i, key in enumerate(self._papers)}
        self._stats()

    def _stats(self) -> None:
        """Live unit count and mean length, and each segment's length norms, for BM25."""
        live = [(s, s.live_units) for s in self._segments]
        self._n = int(sum(mask.sum() for _, mask in live))
        total = float(sum(s.lengths[mask].sum() for s, mask in live))
        self._avgdl = total / self._n if self._n else 1.0
        self._norms = [K1 * (1 - B + B * np.asarray(s.lengths) / self._avgdl) for s in self._segments]
        self._live_units = [None if s.live.all() else mask for s, mask in live]

    def _save(
        self, segments: list[Segment], indexed: dict[str, str], removed: set[str], acronyms: dict[str, str]
    ) -> None:
        """Write the state naming ``segments`` (already on disk) atomically, drop the segments
        no state names any more, and hold the new state."""
        version = uuid.uuid4().hex
        state = {
            "format": FORMAT,
            "version": version,
            "segments": [s.folder.name for s in segments],
            "indexed": indexed,
            "removed": sorted(removed),
            "acronyms": acronyms,
        }
        staging = self.folder / f"state.{version}.tmp"
        staging.write_text(json.dumps(state))
        os.replace(staging, self._state_file())
        names = {s.folder.name for s in segments}
        for path in self.folder.iterdir():
            if path.is_dir() and path.name.startswith("seg-") and path.name not in names:
                shutil.rmtree(path, ignore_errors=True)
        self._set(segments, indexed, removed, acronyms, version)

    def _saved_version(self) -> str | None:
        try:
            return str(json.loads(self._state_file().read_text()).get("version"))
        except (OSError, ValueError):
            return None

    # -- keeping in step with the store ----------------------------------------------------------

    def ensure_current(self, store: ChromaStore) -> bool:
        """Index what changed in the store since this index last looked; True if anything did.

        Reading every paper's state takes ~20 ms at 250 papers and most of a second at tens of
        thousands, too slow for every query: it is read once by a new index object, and again
        only when the store's change marker (which every commit and removal moves) has moved."""
        signal = store.change_marker()
        if signal == self._seen:
            return False
        with self._lock:
            if signal == self._seen:
                return False
            states = store.paper_states()
            changed = states != self._indexed
            if changed:
                self.folder.mkdir(parents=True, exist_ok=True)
                with FileLock(self.folder / ".lock"):
                    if self._saved_version() not in (None, self._version):
                        self._load()  # another process has brought it (nearly) up to date
                    if states != self._indexed:
                        self._update(store, states)
            self._seen = signal
            return changed

    def _update(self, store: ChromaStore, states: dict[str, str]) -> None:
        """Index the papers that are new, and those whose text changed under their key (a full
        text that replaced an abstract: their older units are dead), mark those that are gone
        dead; rebuild instead when segments or dead units have piled up."""
        gone = {k for k in self._indexed if k not in states}
        changed = {k for k in states if k in self._indexed and self._indexed[k] != states[k]}
        new = [k for k in states if k not in self._indexed or k in changed]
        stale = self._removed | gone | set(new)  # their units in the current segments are dead
        removed = (self._removed | gone) - set(new)
        dead = sum(
            int(s.sizes[~(s.live & ~np.fromiter((k in stale for k in s.papers), bool, len(s.papers)))].sum())
            for s in self._segments
        )
        if not self._segments or len(self._segments) >= MAX_SEGMENTS or dead > MAX_DEAD_SHARE * len(self):
            self.rebuild(store, states)
            return
        segments = list(self._segments)
        acronyms = self._acronyms
        if new:
            chunks = list(store.chunks_of(new))
            # acronyms defined by the new papers expand their own text; the older segments keep
            # theirs until the next rebuild
            acronyms = {**mine(text for _, text, meta in chunks if meta.get("kind") != "window"), **acronyms}
            titles = {p.key: p.title for p in store.get_many(new).values()}
            segment = self._segment(_units(chunks, titles, acronyms))
            if len(segment):
                segments.append(segment)
        self._save(segments, dict(states), removed, acronyms)
        log.info(
            "lexical index: %d papers added, %d indexed again, %d removed",
            len(new) - len(changed),
            len(changed),
            len(gone),
        )

    def rebuild(self, store: ChromaStore, states: dict[str, str] | None = None) -> None:
        """Index every active paper afresh, as one segment."""
        states = store.paper_states() if states is None else states
        self.folder.mkdir(parents=True, exist_ok=True)
        # only the papers whose state was read: one committed meanwhile is indexed next time
        chunks = [c for c in store.iter_chunks() if c[2].get("paper_key") in states]
        acronyms = mine(text for _, text, meta in chunks if meta.get("kind") != "window")
        titles = {p.key: p.title for p in store.papers()}
        segment = self._segment(_units(chunks, titles, acronyms))
        del chunks
        self._save([segment] if len(segment) else [], dict(states), set(), acronyms)
        log.info("lexical index rebuilt: %d units of %d papers", len(segment), len(segment.papers))

    def _segment(self, units: Iterable[tuple[str, str, str, bool, int | None]]) -> Segment:
        return Segment.build(self.folder / f"seg-{uuid.uuid4().hex[:12]}", units)

    # -- search ----------------------------------------------------------------------------------

    def scores(
        self,
        query: str,
        *,
        keys: Iterable[str] | None = None,
        years: tuple[int | None, int | None] | None = None,
    ) -> LexicalScores | None:
        """BM25 scores of ``query`` for every paper (optionally only papers with these keys and
        within these years, inclusive); None when the index is empty or no word of the query
        is in it."""
        with self._view_lock:
            return self._scores(query, keys=keys, years=years)

    def _scores(
        self,
        query: str,
        *,
        keys: Iterable[str] | None = None,
        years: tuple[int | None, int | None] | None = None,
    ) -> LexicalScores | None:
        segments = self._segments
        if not segments or not self._n:
            return None
        terms = tokens(expand(query, self._acronyms), query=True)
        postings = [(t, [s.postings(t) for s in segments]) for t in terms]
        postings = [(t, p) for t, p in postings if any(x is not None for x in p)]
        if not postings:
            return None
        units = [np.zeros(len(s), dtype=np.float32) for s in segments]
        idfs: dict[str, float] = dict.fromkeys(terms, self._idf(0))  # a term no unit holds
        for term, per_segment in postings:
            df = sum(
                (len(p[0]) if live is None else int(live[p[0]].sum()))
                for p, live in zip(per_segment, self._live_units, strict=True)
                if p is not None
            )
            idf = self._idf(df)
            idfs[term] = float(idf)
            for p, norm, scores in zip(per_segment, self._norms, units, strict=True):
                if p is not None:
                    rows, tf = p
                    scores[rows] += idf * tf / (tf + norm[rows])
        held = self._coverage(segments, dict(postings), idfs)
        passage_parts, window_parts, allowed_parts, shown = [], [], [], []
        wanted = set(keys) if keys is not None else None
        for segment, scores in zip(segments, units, strict=True):
            allowed = segment.live.copy()
            if wanted is not None:
                allowed &= np.fromiter(
                    (k in wanted for k in segment.papers), dtype=bool, count=len(segment.papers)
                )
            if years is not None:
                low, high = years
                allowed &= segment.years >= 0
                if low is not None:
                    allowed &= segment.years >= low
                if high is not None:
                    allowed &= segment.years <= high
            windows = np.asarray(segment.windows)
            passages = np.where(windows, 0.0, scores)
            if not allowed.all():
                passages *= np.repeat(allowed, segment.sizes)
            passage_parts.append(np.maximum.reduceat(passages, segment.starts) * allowed)
            window_parts.append(np.maximum.reduceat(np.where(windows, scores, 0.0), segment.starts) * allowed)
            allowed_parts.append(allowed)
            shown.append((segment, passages))
        allowed_all = np.concatenate(allowed_parts)
        # a term held only by papers outside the filters (or removed) is unknown to this search
        known = {
            term
            for term, per_segment in postings
            if any(
                p is not None and allowed[segment.unit_papers[p[0]]].any()
                for p, segment, allowed in zip(per_segment, segments, allowed_parts, strict=True)
            )
        }
        return LexicalScores(
            self._papers,
            self._index,
            np.concatenate(passage_parts).astype(np.float32),
            np.concatenate(window_parts).astype(np.float32),
            allowed_all,
            shown,
            coverage=(held * allowed_all).astype(np.float32),
            idf=idfs,
            unknown=frozenset(idfs) - known,
        )

    def _idf(self, df: int) -> float:
        return float(np.log(1 + (self._n - df + 0.5) / (df + 0.5)))

    def _coverage(
        self,
        segments: list[Segment],
        postings: dict[str, list[tuple[Vector, Vector] | None]],
        idfs: dict[str, float],
    ) -> np.ndarray:
        """Per paper, the IDF-weighted share of the query's distinct terms it holds in any unit
        (removed units included: the filters mask them). One pass over each term's postings."""
        total = sum(idfs.values())
        parts = []
        for i, segment in enumerate(segments):
            held = np.zeros(len(segment.papers), dtype=np.float64)
            for term, per_segment in postings.items():
                p = per_segment[i]
                if p is not None:
                    mask = np.zeros(len(segment.papers), dtype=bool)
                    mask[segment.unit_papers[p[0]]] = True
                    held += idfs[term] * mask
            parts.append(held / total if total > 0 else held)
        return np.concatenate(parts)
