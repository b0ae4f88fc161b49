"""The sample library: the 250 ACL papers (S2ORC JSON with full text) of the ``aclsum`` package,
filled in the background while the UI already answers.

The fill stores the abstracts of all the papers first (a passage each: searchable within a
minute), then their full texts, each of which updates its paper under the same key
(store/ingest.py). It runs in a thread of its own, in batches, each an ordinary
``Library.add``: between batches the library's write lock is free (an upload waits for one
batch, not for the whole fill), and every batch leaves the library consistent, so a fill that
is stopped (the UI's Ctrl-C: ``stop``) or killed resumes on the next start. Ctrl-C and the
readers' time limits are signals, heard only in the main thread: the fill stops through an
event instead (``Library.add(cancel=...)``) and its readers run without a time limit (the
corpus is the package's own files). A library that holds papers of its own is left alone.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.errors import LitassistError
from assistant.library import Library
from store.ingest import IngestEvent, IngestInterrupted, IngestReport
from store.paper import Paper

log = logging.getLogger(__name__)

Phase = Literal["abstracts", "full texts", "done", "stopped", "failed"]


def corpus_folder() -> Path:
    """The sample corpus's folder of S2ORC JSON files (the ``aclsum`` package)."""
    spec = importlib.util.find_spec("aclsum")
    if spec is None or not spec.submodule_search_locations:
        raise LitassistError("the sample corpus is not installed: pip install aclsum")
    return Path(spec.submodule_search_locations[0]) / "dataset" / "paper_jsons"


@dataclass(frozen=True)
class FillState:
    """Where the fill is: papers stored from their abstract, papers with their full text."""

    total: int
    abstracts: int
    full: int
    phase: Phase
    error: str | None = None

    @property
    def filling(self) -> bool:
        return self.phase in ("abstracts", "full texts")

    def line(self) -> str:
        """One line for a banner or a note."""
        if self.phase == "abstracts":
            return f"sample library filling: {self.abstracts}/{self.total} abstracts …"
        if self.phase == "full texts":
            return (
                f"sample library filling: {self.abstracts}/{self.total} abstracts in, "
                f"{self.full}/{self.total} full texts …"
            )
        if self.phase == "done":
            return f"sample library filled: {self.full}/{self.total} papers with their full text"
        if self.phase == "stopped":
            return (
                f"sample library filling stopped at {self.abstracts}/{self.total} abstracts, "
                f"{self.full}/{self.total} full texts; it resumes on the next start"
            )
        return f"sample library filling failed ({self.error}); it resumes on the next start"


class SampleFill:
    """Fills ``library`` with the sample corpus in a background thread: ``start``, ``state``,
    ``stop``. ``folder``: another folder of S2ORC files (a test's few papers)."""

    def __init__(
        self,
        library: Library,
        folder: Path | None = None,
        *,
        abstract_batch: int = 50,
        full_batch: int = 10,
    ):
        self.library = library
        self.folder = (folder or corpus_folder()).resolve()
        self.files = sorted(self.folder.glob("*.json"))
        self.abstract_batch = abstract_batch
        self.full_batch = full_batch
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._abstracts: set[str] = set()  # files stored (from their abstract, or whole)
        self._full: set[str] = set()  # files stored with their full text
        self._phase: Phase = "abstracts"
        self._error: str | None = None
        self._in_batch = 0  # papers committed in the batch being written

    # -- deciding --------------------------------------------------------------------------------

    def _survey(self) -> list[Paper] | None:
        """Note what is stored; None when the library holds papers of its own."""
        papers = self.library.papers()
        mine = {str(f) for f in self.files}
        for paper in papers:
            files = {s.split("#")[0] for s in paper.sources}
            if not files & mine:
                return None
        with self._lock:
            for paper in papers:
                for file in {s.split("#")[0] for s in paper.sources} & mine:
                    self._abstracts.add(file)
                    if paper.chunk_count > 1:  # an abstract alone is one passage
                        self._full.add(file)
        return papers

    def needed(self) -> bool:
        """Whether there is anything to fill: the library holds only sample papers (or none)
        and not all of them with their full text. A read-only library is never filled."""
        if self.library.read_only is not None or not self.files:
            return False
        if self._survey() is None:
            return False
        return len(self._full) < len(self.files)

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> bool:
        """Start filling in the background, if there is anything to fill; returns whether."""
        if not self.needed():
            self._phase = "done"
            return False
        self._thread = threading.Thread(target=self._run, name="litassist-sample-fill", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float = 60.0) -> None:
        """Stop within about a second (the batch being written is stored or undone) and wait."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> FillState:
        """Wait for the fill to end (tests, scripts); returns where it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state()

    def state(self) -> FillState:
        with self._lock:
            total, abstracts, full = len(self.files), len(self._abstracts), len(self._full)
            if self._phase == "abstracts":
                abstracts = min(total, abstracts + self._in_batch)
            elif self._phase == "full texts":
                full = min(total, full + self._in_batch)
            return FillState(total, abstracts, full, self._phase, self._error)

    def _run(self) -> None:
        started = time.monotonic()
        try:
            todo = [f for f in self.files if str(f) not in self._abstracts]
            self._batches(todo, self.abstract_batch, abstracts_only=True)
            log.info("sample abstracts in after %.0f s", time.monotonic() - started)
            with self._lock:
                self._phase = "full texts"
            todo = [f for f in self.files if str(f) not in self._full]
            self._batches(todo, self.full_batch, abstracts_only=False)
            self._survey()
            log.info("sample full texts in after %.0f s", time.monotonic() - started)
            phase: Phase = "done"
        except IngestInterrupted:
            phase = "stopped"
        except Exception as e:  # the UI goes on answering from what is stored
            log.exception("filling the sample library failed")
            with self._lock:
                self._error = f"{type(e).__name__}: {e}"
            phase = "failed"
        with self._lock:
            self._phase = phase

    def _batches(self, files: list[Path], size: int, *, abstracts_only: bool) -> None:
        for start in range(0, len(files), size):
            if self._cancel.is_set():
                raise IngestInterrupted(IngestReport())
            batch = files[start : start + size]
            report = self.library.add(
                batch, progress=self._progress, abstracts_only=abstracts_only, cancel=self._cancel
            )
            if report.stopped is not None:
                raise LitassistError(report.stopped)
            for problem in report.failed:
                log.warning("sample corpus: %s: %s", problem.source, problem.reason)
            with self._lock:
                done = {str(f) for f in batch}  # stored now, or failed for good (logged above)
                self._abstracts |= done
                if not abstracts_only:
                    self._full |= done
                self._in_batch = 0

    def _progress(self, event: IngestEvent) -> None:
        if event.kind == "committed":
            with self._lock:
                self._in_batch += 1
