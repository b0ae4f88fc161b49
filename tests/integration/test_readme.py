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

from assistant.examples import copy_examples
from assistant.settings import Settings, settings_table
from tests.conftest import BIN, ROOT

pytestmark = pytest.mark.integration

README = (ROOT / "README.md").read_text()


def blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder, as a user's: the README's paths are the example files it ships."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_examples(workdir / "examples")  # what `litassist examples` does
    (code,) = blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "11 added, 0 skipped, 0 failed" in out
    assert "Distant Supervision for Relation Extraction beyond the Sentence Boundary ['Chris Quirk'" in out
    assert "extractive False" in out  # the extractive answer, not a refusal
    assert "[1] Distant Supervision for Relation Extraction" in out  # its reference
    assert "a pre-training method ENPAR to improve the joint extraction performance [1]." in out  # streamed
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
        result = subprocess.run(
            shlex.split(command, comments=True), capture_output=True, text=True, env=env, timeout=300
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        results.append(result)
    return results


def test_command_line_examples(workdir: Path) -> None:
    """The command-line blocks, in order, on one library (as a reader would run them)."""
    copied, added, *_, removed = run_block("## Command line", 5)
    assert "wrote" in copied.stderr and (workdir / "examples" / "zotero" / "zotero.sqlite").is_file()
    assert "18 added, 0 skipped, 0 failed" in added.stdout
    assert "removed gsmoothface2023" in removed.stdout
    search, recent, extractive, refused, anyway = run_block("## Questions and answers", 5)
    assert "quirk2017distant" in search.stdout  # the cross-sentence paper found
    hits = json.loads(recent.stdout)
    assert hits and all(h["year"] >= 2024 for h in hits)
    assert "extractive answer" in extractive.stderr and "[1]" in extractive.stdout
    refusal = json.loads(refused.stdout)
    assert refusal["refused"] is True and refusal["notes"][0].startswith("refused before any model was asked")
    assert "asked anyway, although the evidence judgement would refuse it" in anyway.stderr
    assert "[1]" in anyway.stdout
    to_tex, printed = run_block("## Related-work drafts", 2)
    tex = (workdir / "related.tex").read_text()
    cited = {k for group in re.findall(r"\\cite\{([^}]+)\}", tex) for k in group.split(",")}
    assert cited and all(f"{{{key}," in (workdir / "related.bib").read_text() for key in cited)
    assert "related.bib" in to_tex.stderr
    printed_table, table_tex = run_block("## Comparison tables", 2)
    assert "extractive table" in printed_table.stderr and "RAF-DB" in printed_table.stdout
    cited = set(re.findall(r"\\cite\{([^}]+)\}", (workdir / "results.tex").read_text()))
    assert cited == {"facial2021"} and "wrote results.bib (1 entry)" in table_tex.stderr
    assert "no result in the passages of: feryolomamba2024" in table_tex.stderr
    retrieval, answers, drafts = run_block("## Evaluation", 3)
    assert "Recall@5" in retrieval.stdout and "1/1 = 100%" in retrieval.stdout
    page = (workdir / "retrieval.html").read_text()
    assert all(f"<code>{q}</code>" in page for q in ("continual", "by-abstract", "occluded", "relations"))
    report = json.loads(answers.stdout)
    assert report["mode"] == "extractive" and report["summary"]["unresolved_gold"] == 0
    assert report["summary"]["citation_validity"] == 1.0
    assert "relation extraction" in drafts.stdout and "precision" in drafts.stdout
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
