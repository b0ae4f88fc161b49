"""Ingest throughput against the bare embedder on the same chunk texts.

    .venv/bin/python tests/bench/bench_ingest.py [--limit N] [--batch-sizes 1,2,4,8,32]

For each corpus (the seeds, and the aclsum sample corpus: 250 ACL papers with full text) it
ingests into a fresh embedded library, and embeds exactly the texts the ingest embeds (chunk text
with the paper title) with the bare embedder just before and just after; it prints papers/s,
chunks/s and the ingest's overhead over embedding alone (target: at most 15%). It also prints
the embedder's throughput by batch size, which is how the default batch size was chosen.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aclsum
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant import Library  # noqa: E402
from store.chunking import Chunker, embedding_text  # noqa: E402
from store.embedder import LocalEmbedder  # noqa: E402
from store.paper import Chunk, Document, content_hash  # noqa: E402
from store.readers import read, walk  # noqa: E402

SEEDS = ROOT.parent / "shared" / "seeds"
ACL = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"


def corpus(name: str, limit: int | None, workdir: Path) -> Path:
    if name == "seeds":
        return SEEDS
    target = workdir / "aclsum"
    target.mkdir()
    for path in sorted(ACL.glob("*.json"))[:limit]:
        shutil.copy(path, target / path.name)
    return target


def measure(name: str, source: Path, embedder: LocalEmbedder, workdir: Path) -> dict[str, float]:
    """Ingest once, and time the bare embedder on the same texts just before and just after
    (this machine's speed drifts; the mean of the two brackets the ingest)."""
    texts = [embedding_text(d.paper.title, c.text) for d, c in planned_chunks(source, embedder)]
    before = timed(embedder.embed, texts)
    library = Library(workdir / f"lib-{name}", embedder=embedder)
    start = time.perf_counter()
    report = library.add(source)
    ingest_s = time.perf_counter() - start
    assert report.ok, report.failed
    after = timed(embedder.embed, texts)
    stored = library.store.count_chunks()  # passages and abstract windows (chunk_count: passages)
    assert stored == len(texts), (stored, len(texts))
    return {
        "papers": len(report.added),
        "chunks": len(texts),
        "ingest_s": ingest_s,
        "embed_s": (before + after) / 2,
    }


def planned_chunks(source: Path, embedder: LocalEmbedder) -> list[tuple[Document, Chunk]]:
    """The chunks an ingest of ``source`` embeds, read and split the same way."""
    chunker = Chunker(chunk_size=220, chunk_overlap=30, tokenizer=embedder.token_ids)
    seen: set[str] = set()
    pairs = []
    for path, _ in walk([source]):
        for document in read(path).documents:
            digest = content_hash(document)
            if digest not in seen:
                seen.add(digest)
                pairs += [(document, chunk) for chunk in chunker.chunks(document, "k")]
    return pairs


def timed(function: Callable[[list[str]], object], texts: list[str]) -> float:
    start = time.perf_counter()
    function(texts)
    return time.perf_counter() - start


def batch_sizes(embedder: LocalEmbedder, sizes: list[int]) -> dict[int, float]:
    words = " ".join(
        p["text"] for p in json.loads(sorted(ACL.glob("*.json"))[0].read_text())["pdf_parse"]["body_text"]
    ).split()
    texts = [" ".join(words[i : i + 165]) for i in range(0, 64 * 165, 165)]  # ~250 tokens each
    result = {}
    for size in sizes:
        embedder.batch_size = size
        embedder.embed(texts[:4])
        start = time.perf_counter()
        embedder.embed(texts)
        result[size] = len(texts) / (time.perf_counter() - start)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="aclsum papers to use (default: all 250)")
    parser.add_argument("--batch-sizes", default="1,2,4,8,32", help="batch sizes to time the embedder at")
    parser.add_argument("--corpora", default="seeds,aclsum")
    args = parser.parse_args()
    console = Console(width=150)
    embedder = LocalEmbedder()

    table = Table(title="Embedder throughput by batch size (64 chunks of ~250 tokens)")
    table.add_column("batch size", justify="right")
    table.add_column("chunks/s", justify="right")
    for size, rate in batch_sizes(embedder, [int(s) for s in args.batch_sizes.split(",")]).items():
        table.add_row(str(size), f"{rate:.1f}")
    console.print(table)
    embedder.batch_size = LocalEmbedder().batch_size

    table = Table(title=f"Ingest vs bare embedder (batch size {embedder.batch_size})")
    for column in (
        "corpus",
        "papers",
        "chunks",
        "ingest s",
        "papers/s",
        "chunks/s",
        "embed-only s",
        "embed chunks/s",
        "overhead",
    ):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.corpora.split(","):
            workdir = Path(tmp) / name
            workdir.mkdir()
            r = measure(name, corpus(name, args.limit, workdir), embedder, workdir)
            table.add_row(
                name,
                f"{r['papers']:.0f}",
                f"{r['chunks']:.0f}",
                f"{r['ingest_s']:.1f}",
                f"{r['papers'] / r['ingest_s']:.2f}",
                f"{r['chunks'] / r['ingest_s']:.1f}",
                f"{r['embed_s']:.1f}",
                f"{r['chunks'] / r['embed_s']:.1f}",
                f"{(r['ingest_s'] / r['embed_s'] - 1) * 100:+.1f}%",
            )
    console.print(table)


if __name__ == "__main__":
    main()
