"""A small app for tests/browser/test_fill.py: the UI over a library that fills with a few
sample papers in the background, with the fake embedder held at the full texts until a gate
file appears (so the test sees the fill half done for as long as it needs).

python -m tests.browser.fill_app LIBRARY CORPUS PORT GATE"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant import Library
from assistant.sample import SampleFill
from assistant.settings import Settings
from tests.conftest import FakeEmbedder
from ui.app import launch


class GatedEmbedder(FakeEmbedder):
    """The fake embedder; the fill's full texts wait for the gate file (questions, embedded in
    other threads, never wait)."""

    def __init__(self, gate: Path) -> None:
        super().__init__()
        self.gate = gate
        self.fill: SampleFill | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        writing = threading.current_thread().name.startswith("litassist-ingest")
        if writing and self.fill is not None and self.fill.state().phase == "full texts":
            deadline = time.monotonic() + 120
            while not self.gate.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return super().embed(texts)


def main(library_dir: str, corpus: str, port: str, gate: str) -> None:
    embedder = GatedEmbedder(Path(gate))
    library = Library(library_dir, settings=Settings(), embedder=embedder)
    fill = SampleFill(library, Path(corpus))
    embedder.fill = fill
    fill.start()
    try:
        launch(library, port=int(port), fill=fill)
    finally:
        fill.stop()


if __name__ == "__main__":
    main(*sys.argv[1:5])
