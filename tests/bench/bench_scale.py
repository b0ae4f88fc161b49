"""Search at scale: libraries of 10k, 100k and 1M chunks, embedded and on a `chroma run` server.

    .venv/bin/python tests/bench/bench_scale.py [--sizes 10k,100k,1m] [--backends embedded,server]
                                                [--folder DIR] [--queries 100]

Embedding a million chunks on two cores would take hours, so the library is synthetic: papers of
~40 chunks (an abstract, its two-sentence windows, body passages of ~220 tokens) in text drawn from
the vocabulary of ``../shared`` (its words at their own frequencies, per-paper topics, and method
names unique to a paper), and each chunk's vector is the normalised sum of the packaged
embedder's vectors of its words plus noise, so that vectors cluster by topic as real ones do.
Everything goes in through the store's own write path (pending records, chunks, commit), and the
measurements use the real ``Library``: the packaged embedder embeds each query (its time is also
shown on its own).

One library per backend grows through the sizes. At each size it prints: write throughput of the
step, the time of a full lexical rebuild, then in a fresh process the time to open the library,
the first query, dense/lexical/hybrid search latency at k=5 (query embedding included), the
client's RSS, and the disk size; then it adds 1% more chunks and times bringing the lexical index
up to date. Targets at 1M on 2 cores: hybrid p95 <= 150 ms, open <= 5 s, RSS <= 4 GB, lexical
update after +1% <= 10% of a full rebuild.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant import Library  # noqa: E402
from assistant.settings import ChromaSettings, Settings  # noqa: E402
from store.chunking import chunk_id  # noqa: E402
from store.embedder import LocalEmbedder  # noqa: E402
from store.paper import Chunk, Paper  # noqa: E402
from store.sentences import windows  # noqa: E402

SHARED = ROOT.parent / "shared"
BIN = Path(sys.executable).parent
BODY_CHUNKS = 34  # + the abstract and its ~5 windows: ~40 chunks a paper
SECTIONS = ("Introduction", "Related Work", "Method", "Experiments", "Results", "Conclusion")
GROUP = 100  # papers per write group (one begin / chunks / commit round)


def size_of(text: str) -> int:
    text = text.lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * scale)


# -- the synthetic corpus ---------------------------------------------------------------------------


class Corpus:
    """Papers in a vocabulary drawn from ../shared, with topics and per-paper method names."""

    def __init__(self, embedder: LocalEmbedder, seed: int = 7):
        self.rng = np.random.default_rng(seed)
        words: Counter[str] = Counter()
        for path in [*(SHARED / "seeds").glob("*.txt"), *(SHARED / "peer-docs").glob("*.md")]:
            words.update(re.findall(r"[a-z][a-z-]{1,24}", path.read_text(errors="ignore").lower()))
        vocabulary = [w for w, n in words.most_common() if n >= 2]
        self.words = np.array(vocabulary)
        counts = np.array([words[w] for w in vocabulary], dtype=np.float64)
        self.unigram = counts / counts.sum()
        content = np.flatnonzero(np.array([len(w) > 4 for w in vocabulary]))
        self.topics = [self.rng.choice(content, size=120, replace=False) for _ in range(300)]
        self.vectors = embedder.embed(list(vocabulary)).astype(np.float32)
        self.lookup = {w: i for i, w in enumerate(vocabulary)}
        self.dimension = self.vectors.shape[1]

    def paper(self, number: int) -> tuple[Paper, list[tuple[str, str | None, str, np.ndarray]]]:
        """A paper and its chunks: (text, section, kind, word indices)."""
        rng = self.rng
        topic, second = rng.choice(len(self.topics), size=2, replace=False)
        names = [
            f"{self.words[rng.choice(self.topics[topic])][:5].capitalize()}{number % 9973}{c}" for c in "XY"
        ]

        def sentence(length: int) -> tuple[str, np.ndarray]:
            draw = rng.random(length)
            idx = rng.choice(len(self.words), size=length, p=self.unigram)
            idx = np.where(draw < 0.35, rng.choice(self.topics[topic], size=length), idx)
            idx = np.where(draw > 0.92, rng.choice(self.topics[second], size=length), idx)
            text = " ".join(self.words[idx])
            if rng.random() < 0.3:
                text += f" with {names[rng.integers(2)]}"
            if rng.random() < 0.15:
                text += f" by {rng.integers(1, 99)}.{rng.integers(0, 9)}%"
            return text[0].upper() + text[1:] + ".", idx

        def passage(sentences: int) -> tuple[str, np.ndarray]:
            parts = [sentence(int(rng.integers(12, 28))) for _ in range(sentences)]
            return " ".join(t for t, _ in parts), np.concatenate([i for _, i in parts])

        title_idx = rng.choice(self.topics[topic], size=int(rng.integers(5, 9)))
        title = f"{names[0]}: " + " ".join(self.words[title_idx]).capitalize()
        abstract, abstract_idx = passage(7)
        year = int(rng.integers(2015, 2027))
        paper = Paper(
            key=f"synth{number:07d}",
            title=title,
            year=year,
            abstract=abstract,
            content_hash=f"synthetic-{number}",
            sources=["synthetic"],
        )
        chunks: list[tuple[str, str | None, str, np.ndarray]] = [
            (abstract, "Abstract", "passage", abstract_idx)
        ]
        for i in range(BODY_CHUNKS):
            text, idx = passage(8)
            chunks.append((text, SECTIONS[i * len(SECTIONS) // BODY_CHUNKS], "passage", idx))
        for window in windows(abstract):
            chunks.append((window, "Abstract", "window", np.array([], dtype=np.int64)))
        return paper, chunks

    def indices(self, text: str) -> np.ndarray:
        return np.array(
            [self.lookup[w] for w in re.findall(r"[a-z][a-z-]*", text.lower()) if w in self.lookup]
        )

    def embed(self, idx: np.ndarray) -> np.ndarray:
        vector = self.vectors[idx].sum(axis=0) if len(idx) else np.zeros(self.dimension, np.float32)
        vector = vector + self.rng.normal(0, 0.02 * max(len(idx), 1) ** 0.5, self.dimension)
        return (vector / (np.linalg.norm(vector) + 1e-9)).astype(np.float32)


def grow(library: Library, corpus: Corpus, start: int, chunks_wanted: int) -> tuple[int, int, float]:
    """Write papers from number ``start`` on until ``chunks_wanted`` chunks are written:
    (papers, chunks, seconds spent writing)."""
    store = library.store
    number, written, seconds = start, 0, 0.0
    while written < chunks_wanted:
        papers, chunks, vectors, paper_vectors, years = [], [], [], [], {}
        for _ in range(GROUP):
            paper, pieces = corpus.paper(number)
            number += 1
            paper.chunk_count = len(pieces)
            papers.append(paper)
            years[paper.key] = paper.year
            abstract_vector = corpus.embed(pieces[0][3])
            paper_vectors.append(abstract_vector)
            for ordinal, (text, section, kind, idx) in enumerate(pieces):
                chunks.append(
                    Chunk(chunk_id(paper.key, ordinal, text), paper.key, text, ordinal, section, kind=kind)
                )
                if kind == "window":  # a window is part of the abstract: near its vector
                    vectors.append(corpus.embed(corpus.indices(text)))
                else:
                    vectors.append(corpus.embed(idx) if ordinal else abstract_vector)
            written += len(pieces)
            if written >= chunks_wanted:
                break
        t = time.perf_counter()
        store.begin(papers, np.stack(paper_vectors))
        store.write_chunks(chunks, np.stack(vectors), years)
        store.commit(papers, np.stack(paper_vectors))
        seconds += time.perf_counter() - t
    return number - start, written, seconds


# -- measuring in a fresh process -----------------------------------------------------------------


def settings_for(backend: str, folder: Path, port: int | None) -> Settings:
    chroma = ChromaSettings(mode="server", port=port) if backend == "server" else ChromaSettings()
    return Settings(library=folder, chroma=chroma)


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    status = Path("/proc/self/status").read_text()
    values = {k: int(v.split()[0]) / 1024 for k, v in re.findall(r"(VmRSS|VmHWM):\s+(.+)", status)}
    return values["VmRSS"], values["VmHWM"]


def measure(backend: str, folder: Path, port: int | None, queries: int) -> dict[str, Any]:
    embedder = LocalEmbedder()
    embedder.embed(["warm up the embedder"])
    start = time.perf_counter()
    library = Library(settings=settings_for(backend, folder, port), embedder=embedder)
    library.lexical.ensure_current(library.store)
    opened = time.perf_counter() - start
    papers = [p for p in library.store.get_many([f"synth{n:07d}" for n in range(0, 400, 7)]).values()]
    rng = np.random.default_rng(11)
    texts = []
    for i in range(queries):
        paper = papers[i % len(papers)]
        words = re.findall(r"[A-Za-z0-9-]+", (paper.abstract or "") + " " + (paper.title or ""))
        pick = rng.choice(len(words), size=int(rng.integers(4, 9)), replace=False)
        texts.append("which papers " + " ".join(words[j] for j in sorted(pick)))
    t = time.perf_counter()
    library.search(texts[0], k=5)
    first = time.perf_counter() - t
    timings: dict[str, list[float]] = {"query embedding": [], "dense": [], "lexical": [], "hybrid": []}
    for text in texts:
        t = time.perf_counter()
        embedder.embed([text])
        timings["query embedding"].append(time.perf_counter() - t)
        for retriever in ("dense", "lexical", "hybrid"):
            t = time.perf_counter()
            library.search(text, k=5, retriever=retriever)  # type: ignore[arg-type]
            timings[retriever].append(time.perf_counter() - t)
    rss, peak = rss_mb()
    return {
        "open_s": opened,
        "first_query_s": first,
        "latency_ms": {k: percentiles(v) for k, v in timings.items()},
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "chunks": library.store.count_chunks(),
    }


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return 1000 * ordered[len(ordered) // 2], 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def disk_mb(*paths: Path) -> float:
    total = 0
    for path in paths:
        for root, _, files in os.walk(path):
            total += sum((Path(root) / f).stat().st_size for f in files if (Path(root) / f).is_file())
    return total / 2**20


# -- the server ---------------------------------------------------------------------------------


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    log = (data.parent / "chroma-server.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 120
    import urllib.request

    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2)
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start; see {log.name}") from None
            time.sleep(0.5)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_rss_mb(process: subprocess.Popen[bytes]) -> float:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the run ------------------------------------------------------------------------------------


def run_backend(backend: str, sizes: list[int], folder: Path, queries: int, console: Console) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port() if backend == "server" else None
    server = start_server(folder / "server-data", port) if port else None
    rows: list[dict] = []
    try:
        embedder = LocalEmbedder()
        corpus = Corpus(embedder)
        library = Library(settings=settings_for(backend, folder, port), embedder=embedder)
        number, total = 0, 0
        for size in sizes:
            papers, written, seconds = grow(library, corpus, number, size - total)
            number += papers
            total += written
            row: dict[str, Any] = {
                "backend": backend,
                "chunks": total,
                "write_chunks_per_s": written / seconds,
            }
            console.print(f"[{backend}] {total:,} chunks written ({written / seconds:,.0f}/s)")
            shutil.rmtree(library.lexical.folder, ignore_errors=True)
            library.lexical = type(library.lexical)(library.lexical.folder)
            library.retriever.lexical = library.lexical
            t = time.perf_counter()
            library.lexical.ensure_current(library.store)
            row["lexical_rebuild_s"] = time.perf_counter() - t
            console.print(f"[{backend}] full lexical rebuild {row['lexical_rebuild_s']:.1f} s")
            command = [
                sys.executable,
                __file__,
                "--measure",
                backend,
                "--folder",
                str(folder),
                "--queries",
                str(queries),
            ]
            if port:
                command += ["--port", str(port)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            row.update(json.loads(out.strip().splitlines()[-1]))
            row["disk_mb"] = disk_mb(folder)
            if server is not None:
                row["server_rss_mb"] = server_rss_mb(server)
            extra_papers, extra, _ = grow(library, corpus, number, max(1, total // 100))
            number += extra_papers
            total += extra
            t = time.perf_counter()
            library.lexical.ensure_current(library.store)
            row["lexical_update_s"] = time.perf_counter() - t
            console.print(json.dumps(row))
            rows.append(row)
    finally:
        if server is not None:
            stop(server)
    return rows


def report(rows: list[dict], console: Console) -> None:
    table = Table(title="Search at scale (k=5; latencies p50/p95 in ms, query embedding included)")
    for column in (
        "backend",
        "chunks",
        "write/s",
        "open s",
        "1st query s",
        "embed",
        "dense",
        "lexical",
        "hybrid",
        "RSS MB",
        "disk MB",
        "lex rebuild s",
        "lex +1% s",
        "+1%/rebuild",
    ):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for r in rows:
        lat = r["latency_ms"]
        table.add_row(
            r["backend"],
            f"{r['chunks']:,}",
            f"{r['write_chunks_per_s']:,.0f}",
            f"{r['open_s']:.2f}",
            f"{r['first_query_s']:.2f}",
            *(f"{lat[k][0]:.0f}/{lat[k][1]:.0f}" for k in ("query embedding", "dense", "lexical", "hybrid")),
            f"{r['rss_mb']:,.0f}" + (f" (+{r['server_rss_mb']:,.0f} server)" if "server_rss_mb" in r else ""),
            f"{r['disk_mb']:,.0f}",
            f"{r['lexical_rebuild_s']:.1f}",
            f"{r['lexical_update_s']:.2f}",
            f"{r['lexical_update_s'] / r['lexical_rebuild_s']:.1%}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10k,100k,1m", help="chunk counts to grow through (default 10k,100k,1m)"
    )
    parser.add_argument("--backends", default="embedded,server", help="embedded, server or both")
    parser.add_argument(
        "--folder", type=Path, help="keep the libraries in this folder (default: a temporary one)"
    )
    parser.add_argument("--queries", type=int, default=100, help="queries per size (default 100)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.folder, args.port, args.queries)))
        return
    console = Console(width=200)
    sizes = sorted(size_of(s) for s in args.sizes.split(","))
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            folder = (args.folder or Path(tmp)) / backend
            if folder.exists():
                parser.error(f"{folder} exists; give an empty --folder")
            rows += run_backend(backend, sizes, folder, args.queries, console)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))
    report(rows, console)


if __name__ == "__main__":
    main()
