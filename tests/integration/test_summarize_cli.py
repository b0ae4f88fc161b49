"""`litassist summarize` as a user runs it: the README's Summaries block on a library with a
full-text PDF of the shipped examples, then JSON, several keys together, and keys that are not in
the library."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from assistant.examples import copy_examples
from tests.conftest import BIN
from tests.integration.test_readme import README, blocks

pytestmark = pytest.mark.integration

PDF = "quirk2017distant"  # examples/pdfs/quirk2017distant.pdf, three pages


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITASSIST_", "OPENAI_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    return subprocess.run(shlex.split(command), capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def readme_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[subprocess.CompletedProcess[str]]]:
    """The README's Summaries commands, in order, in a folder holding the examples (what
    `litassist examples` copies)."""
    workdir = tmp_path_factory.mktemp("summaries")
    copy_examples(workdir / "examples")
    commands = [
        line
        for line in blocks("sh", README.split("## Summaries", 1)[1])[0].splitlines()
        if line.startswith("litassist")
    ]
    assert len(commands) == 4
    results = []
    for command in commands:
        result = run(command, workdir)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        results.append(result)
    return workdir, results


def test_readme_summaries_block(readme_run: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    _, (_, long, focused, together) = readme_run
    assert "extractive summary" in long.stderr
    assert long.stdout.startswith(
        "Distant Supervision for Relation Extraction beyond the Sentence Boundary (quirk2017distant, 2017)"
    )
    assert "[1]" in long.stdout and f"[{PDF}]" in long.stdout  # numbered citations, then the reference
    (summary,) = json.loads(focused.stdout)
    assert summary["key"] == PDF and summary["mode"] == "extractive" and summary["length"] == "short"
    assert summary["focus"] == "dependency paths" and "dependenc" in summary["raw_text"].lower()
    assert {c["key"] for c in summary["citations"]} == {PDF} and summary["dropped_citations"] == []
    assert max(p["page"] or 0 for p in summary["passages"]) > 1
    assert {c["chunk_id"] for c in summary["citations"]} <= {p["chunk_id"] for p in summary["passages"]}
    lines = [line for line in together.stdout.splitlines() if line.startswith("- ")]
    assert len(lines) == 2 and lines[0].endswith("[1].") and "[2]" in together.stdout
    assert "extractive summary" in together.stderr


def test_unknown_keys_are_reported_with_exit_status_1(
    readme_run: tuple[Path, list[subprocess.CompletedProcess[str]]],
) -> None:
    workdir, _ = readme_run
    result = run(f"litassist --library my-library summarize nosuchkey {PDF} --extractive", workdir)
    assert result.returncode == 1
    assert "No paper with key 'nosuchkey'" in result.stderr and "litassist papers" in result.stderr
    assert f"({PDF}, 2017)" in result.stdout  # the other key is still summarised
    together = run(f"litassist --library my-library summarize {PDF} nosuchkey --together --json", workdir)
    assert together.returncode == 1 and "No paper with key 'nosuchkey'" in together.stderr
    data = json.loads(together.stdout)
    assert [p["key"] for p in data["papers"]] == [PDF] and data["mode"] == "extractive"
    bad = run(f"litassist --library my-library summarize {PDF} --length medium", workdir)
    assert bad.returncode == 2 and "short or long" in bad.stderr
