"""Writers racing on one Chroma server: inputs, the writers (real `litassist add` processes) and
an audit of what the server holds afterwards. Used by tests/integration/test_shared_server.py
and tests/bench/bench_faults.py.

Each round gives every writer its own library folder and, in it, files that overlap with the
other writers' (the same papers from copies of the same files) and files of its own whose papers
want the same keys as the other writers' (the same BibTeX keys, the same titles). The audit
reads the server directly and counts what must be zero: papers lost, keys handed to two papers,
papers stored twice, passages under the wrong paper (or under none), and reports that claim
something the server does not hold.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaClientSettings

from store.paper import Document, content_hash, normalise
from store.readers import read

BIN = Path(sys.executable).parent
GRAVITY_HILL = Path(__file__).resolve().parents[2] / "shared" / "peer-docs" / "gravity_hill.md"


def _bib(key: str, title: str, author: str, abstract: str) -> str:
    fields = f"title={{{title}}},\n  author={{{author}}},\n  year=2024,\n  abstract={{{abstract}}}"
    return f"@article{{{key},\n  {fields}\n}}\n"


def _abstract(tag: str, topic: str) -> str:
    """Three sentences that only this paper has (the tag), so a passage names its paper."""
    return (
        f"We study {topic} in setting {tag}. "
        f"Our method for {topic} improves the {tag} baseline by a clear margin. "
        f"Experiments on the {tag} benchmark confirm the gain for {topic}."
    )


def write_inputs(folder: Path, writer: int, round_: int) -> list[Path]:
    """The files writer ``writer`` adds in round ``round_`` (under ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    shared = folder / f"shared-{round_}.bib"  # the same bytes for every writer: the same papers
    shared.write_text(
        "".join(
            _bib(f"shared{round_}{n}", f"Shared paper {n} of round {round_}", "Roe, Rita",
                 _abstract(f"shared-r{round_}-n{n}", "cooperative caching"))
            for n in range(3)
        )
    )  # fmt: skip
    own = folder / f"own-{round_}.bib"  # the same keys for every writer, different papers
    own.write_text(
        "".join(
            _bib(key, f"Clashing paper {key} by writer {writer}", f"Writer{writer}, Wanda",
                 _abstract(f"own-w{writer}-r{round_}-{key}", "contention control"))
            for key in ("gravityhill", "clash", f"clash{round_}")
        )
    )  # fmt: skip
    page = folder / f"page-{round_}.md"  # titled like the shared page: wants its key
    page.write_text(
        "# Gravity hill\n\n"
        + _abstract(f"page-w{writer}-r{round_}", "optical illusions on slopes")
        + "\n\n"
        + " ".join(_abstract(f"page-w{writer}-r{round_}-body{n}", "road surveys") for n in range(3))
        + "\n"
    )
    files = [shared, own, page]
    if round_ == 0:
        copy = folder / "gravity_hill.md"
        shutil.copy(GRAVITY_HILL, copy)
        files.append(copy)
    return files


def documents(paths: list[Path]) -> list[Document]:
    found = []
    for path in paths:
        result = read(path)
        assert not result.problems, result.problems
        found.extend(result.documents)
    return found


@dataclass
class Writer:
    library: Path
    files: list[Path]
    process: subprocess.Popen[str] | None = None
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


def cli_env(host: str, port: int, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITASSIST_", "OPENAI_"))}
    env.update(
        LITASSIST_CHROMA__MODE="server",
        LITASSIST_CHROMA__HOST=host,
        LITASSIST_CHROMA__PORT=str(port),
        LITASSIST_CHROMA__PREFIX=prefix,
        ANONYMIZED_TELEMETRY="False",
        HF_HUB_OFFLINE="1",
    )
    return env


def race(writers: list[Writer], env: dict[str, str], timeout: float = 300) -> None:
    """Start every writer's `litassist add --json` at once; wait for all; keep their reports."""
    started = time.perf_counter()
    for w in writers:
        w.process = subprocess.Popen(
            [str(BIN / "litassist"), "--library", str(w.library), "add", "--json", *map(str, w.files)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    for w in writers:
        assert w.process is not None
        try:
            out, err = w.process.communicate(timeout=max(1.0, timeout - (time.perf_counter() - started)))
        except subprocess.TimeoutExpired:
            w.process.kill()
            out, err = w.process.communicate()
            w.error = f"timed out after {timeout:.0f} s: {err[-2000:]}"
            continue
        w.seconds = time.perf_counter() - started
        try:
            w.report = json.loads(out)
        except json.JSONDecodeError:
            w.error = f"exit {w.process.returncode}, no JSON report: {out[-1000:]} {err[-2000:]}"
            continue
        if w.process.returncode != 0:
            w.error = f"exit {w.process.returncode}: failed {w.report.get('failed')}"


FIELDS = ("lost", "stored_twice", "keys_twice", "stray", "false_reports", "unfinished", "failed")


@dataclass
class Audit:
    papers: int = 0
    lost: list[str] = field(default_factory=list)  # contents added by some writer, not stored
    stored_twice: list[str] = field(default_factory=list)  # contents under two keys
    keys_twice: list[str] = field(default_factory=list)  # keys two writers both reported added
    stray: list[str] = field(default_factory=list)  # passages not from their paper, or orphans
    false_reports: list[str] = field(default_factory=list)  # report rows the server contradicts
    unfinished: list[str] = field(default_factory=list)  # pending/removing records left behind
    failed: list[str] = field(default_factory=list)  # files a writer reported as not stored

    @property
    def clean(self) -> bool:
        return not (
            self.lost or self.stored_twice or self.keys_twice or self.stray or self.false_reports
            or self.unfinished or self.failed
        )  # fmt: skip

    def problems(self) -> dict[str, list[str]]:
        return {name: getattr(self, name)[:10] for name in FIELDS if getattr(self, name)}


def server_client(host: str, port: int) -> chromadb.api.ClientAPI:
    return chromadb.HttpClient(
        host=host, port=port, settings=ChromaClientSettings(anonymized_telemetry=False)
    )


def audit(
    client: chromadb.api.ClientAPI,
    prefix: str,
    expected: list[Document],
    rounds: list[list[Writer]],
) -> Audit:
    """What the server holds under ``prefix`` against every paper the writers were given
    (``expected``, all rounds so far) and what their reports (the latest round's) claim."""
    found = Audit()
    text_of: dict[str, str] = {}
    for document in expected:
        basis = " ".join(
            [document.paper.title or "", document.paper.abstract or ""] + [s.text for s in document.sections]
        )
        text_of[content_hash(document)] = normalise(basis)
    papers = client.get_collection(f"{prefix}papers").get(include=["metadatas"])
    by_key = {
        key: dict(meta or {}) for key, meta in zip(papers["ids"], papers["metadatas"] or [], strict=True)
    }
    found.unfinished = [k for k, m in by_key.items() if m.get("status") in ("pending", "removing")]
    active = {k: m for k, m in by_key.items() if m.get("status") == "active"}
    found.papers = len(active)
    keys_of: dict[str, list[str]] = {}
    for key, meta in active.items():
        keys_of.setdefault(str(meta.get("content_hash")), []).append(key)
    found.lost = [h for h in text_of if h not in keys_of]
    found.stored_twice = [f"{h}: {keys}" for h, keys in keys_of.items() if len(keys) > 1]
    found.stray = [
        f"paper {k} of no known input" for k, m in active.items() if m.get("content_hash") not in text_of
    ]

    counts: dict[str, int] = {}
    for name in ("chunks", "windows"):
        chunks = client.get_collection(f"{prefix}{name}").get(include=["metadatas", "documents"])
        for id_, meta, text in zip(
            chunks["ids"], chunks["metadatas"] or [], chunks["documents"] or [], strict=True
        ):
            key = str((meta or {}).get("paper_key"))
            paper = active.get(key)
            if paper is None:
                found.stray.append(f"{name[:-1]} {id_} under {key}, which is no stored paper")
                continue
            own = text_of.get(str(paper.get("content_hash")), "")
            if normalise(text or "") not in own:
                found.stray.append(
                    f"{name[:-1]} {id_} under {key} is not from that paper: {(text or '')[:60]!r}"
                )
            if name == "chunks":
                counts[key] = counts.get(key, 0) + 1
    for key, meta in active.items():
        if counts.get(key, 0) != int(meta.get("chunk_count") or 0):
            found.stray.append(
                f"{key} has {counts.get(key, 0)} passages, its record says {meta.get('chunk_count')}"
            )

    for writers in rounds[-1:]:
        claimed: dict[str, int] = {}
        for w in writers:
            given = {content_hash(d) for d in documents(w.files)}
            for row in w.report.get("added", []):
                key = row["key"]
                claimed[key] = claimed.get(key, 0) + 1
                stored = active.get(key)
                if stored is None:
                    found.false_reports.append(
                        f"{w.library.name}: added {key}, which the server does not hold"
                    )
                elif stored.get("content_hash") not in given:
                    found.false_reports.append(
                        f"{w.library.name}: added {key}, which holds another writer's paper"
                    )
            for row in w.report.get("skipped", []):
                key = row.get("key")
                if key and key not in active:
                    found.false_reports.append(
                        f"{w.library.name}: skipped as {key}, which the server does not hold"
                    )
                elif key and "source was added" in row["reason"]:
                    source = str(Path(row["source"].split("#")[0]).resolve())
                    if source not in json.loads(active[key].get("sources") or "[]"):
                        found.false_reports.append(f"{w.library.name}: {source} was not added to {key}")
            found.failed += [f"{w.library.name}: {row}" for row in w.report.get("failed", [])]
            if w.error:
                found.failed.append(f"{w.library.name}: {w.error}")
        found.keys_twice += [key for key, n in claimed.items() if n > 1]
    return found
