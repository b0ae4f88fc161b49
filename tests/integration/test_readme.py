"""The README's examples run as written, and its configuration table lists every setting."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from pydantic import BaseModel

from assistant.settings import Settings, settings_table
from tests.conftest import BIN, ROOT, SHARED

pytestmark = pytest.mark.integration

README = (ROOT / "README.md").read_text()


def blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with ../shared beside it, as in the checkout, for the README's relative paths."""
    (tmp_path / "shared").symlink_to(SHARED)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work"


def test_python_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "61 added, 0 skipped, 0 failed" in out
    assert "PaSa: An LLM Agent for Comprehensive Academic Paper Search" in out
    assert "extractive False" in out  # the extractive answer, not a refusal
    assert "FineCLIPER" in out  # its reference
    assert "BibTeX entries for" in out
    lines = out.splitlines()
    assert "True" in lines  # the rain question is refused


def run_block(section: str, count: int) -> list[subprocess.CompletedProcess[str]]:
    commands = [
        line
        for line in blocks("sh", README.split(section, 1)[1])[0].splitlines()
        if line.startswith("litassist")
    ]
    assert len(commands) == count
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITASSIST_", "OPENAI_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    results = []
    for command in commands:
        result = subprocess.run(shlex.split(command), capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        results.append(result)
    return results


def test_command_line_examples(workdir: Path) -> None:
    """The command-line blocks, in order, on one library (as a reader would run them)."""
    ingest = run_block("## Command line", 4)
    assert "removed he2025pasa" in ingest[-1].stdout
    search, recent, extractive, refused = run_block("## Questions and answers", 5)[1:]
    assert "Masked" in search.stdout  # masked image modeling papers found
    hits = json.loads(recent.stdout)
    assert hits and all(h["year"] >= 2024 for h in hits)
    assert "extractive answer" in extractive.stderr and "[1]" in extractive.stdout
    assert json.loads(refused.stdout)["refused"] is True
    to_tex, printed = run_block("## Related-work drafts", 2)
    tex = (workdir / "related.tex").read_text()
    cited = {k for group in re.findall(r"\\cite\{([^}]+)\}", tex) for k in group.split(",")}
    assert cited and all(f"{{{key}," in (workdir / "related.bib").read_text() for key in cited)
    assert "related.bib" in to_tex.stderr
    printed_table, table_tex = run_block("## Comparison tables", 2)
    assert "extractive table" in printed_table.stderr and "RAF-DB" in printed_table.stdout
    cited = set(re.findall(r"\\cite\{([^}]+)\}", (workdir / "results.tex").read_text()))
    assert cited == {"facial2021", "unilearn"} and "wrote results.bib (2 entries)" in table_tex.stderr
    retrieval, answers, drafts = run_block("## Evaluation", 3)
    assert "Recall@5" in retrieval.stdout and "1/1 = 100%" in retrieval.stdout
    page = (workdir / "retrieval.html").read_text()
    assert all(f"<code>{q}</code>" in page for q in ("by-key", "by-title", "by-abstract", "several"))
    report = json.loads(answers.stdout)
    assert report["mode"] == "extractive" and report["summary"]["unresolved_gold"] == 0
    assert report["summary"]["citation_validity"] == 1.0
    assert "try-on" in drafts.stdout and "precision" in drafts.stdout
    assert "extractive draft" in printed.stderr and "[1]" in printed.stdout


def test_configuration_table_is_generated_from_the_settings() -> None:
    """The README's table is what the settings' own descriptions say, with every setting; after
    a change, refresh it with ``python -c "from assistant.settings import settings_table as t;
    print(t())"`` between the markers."""
    block = re.search(
        r"<!-- generated from the settings.*?-->\n(.*?)\n<!-- end of the generated table -->", README, re.S
    )
    assert block is not None
    assert block.group(1) == settings_table()
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        subs = (
            annotation.model_fields
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        for variable in [f"LITASSIST_{name}__{sub}" for sub in subs] if subs else [f"LITASSIST_{name}"]:
            assert f"`{variable.upper()}`" in block.group(1)


def test_the_contents_list_every_section() -> None:
    after = README.split("## Contents", 1)[1]
    contents, body = after[: after.index("\n## ")], after[after.index("\n## ") :]
    sections = re.findall(r"^#{2,3} (.+)$", body, re.M)
    missing = [name for name in sections if f"[{name}](#" not in contents]
    assert sections and missing == []
