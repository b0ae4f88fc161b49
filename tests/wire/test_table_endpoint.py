"""Comparison tables filled by a (scripted) model through the real client: every cell is checked
against its passage; the cell no passage holds is dropped and reported, in the API and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bibtexparser
import pytest
from typer.testing import CliRunner

from assistant import Library, Settings
from assistant.cli import app
from assistant.settings import LLMSettings
from store.embedder import LocalEmbedder
from tests.conftest import FakeEmbedder
from tests.openai_server import MADE_UP, OpenAIServer

PAPERS = {
    "vtff2021": (
        "Facial Expression Recognition with Visual Transformers",
        "We propose visual transformers with feature fusion for facial expression recognition in the wild. "
        "Our method sets a new state of the art on RAF-DB with 88.14%, FERPlus with 88.81% and "
        "AffectNet with 61.85%.",
    ),
    "unilearn2024": (
        "UniLearn: Static and Dynamic Facial Expression Recognition",
        "UniLearn integrates static facial expression data to enhance dynamic facial expression "
        "recognition. It achieves 53.65% weighted average recall (WAR) on FERV39K.",
    ),
}


PERCENT = "\\%"  # BibTeX reads a bare % as the start of a comment


def _bib(tmp_path: Path) -> Path:
    path = tmp_path / "fer.bib"
    path.write_text(
        "".join(
            f"@article{{{key},\n  title={{{title}}},\n  author={{Doe, Jane}},\n  year=2024,\n"
            f"  abstract={{{abstract.replace('%', PERCENT)}}}\n}}\n"
            for key, (title, abstract) in PAPERS.items()
        )
    )
    return path


def test_a_model_fills_the_table_and_the_cell_no_passage_holds_is_dropped(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    llm = LLMSettings(
        base_url=openai_server.url, model="fake-chat", max_retries=0, response_format="json_object"
    )
    library = Library(tmp_path / "library", settings=Settings(llm=llm), embedder=FakeEmbedder())
    assert library.add(_bib(tmp_path)).ok
    table = library.compare(list(PAPERS))
    assert table.mode == "llm"
    requests = openai_server.chat_requests()
    assert len(requests) == 2 and all(r["body"]["response_format"]["type"] == "json_object" for r in requests)
    values = {(r.key, r.value("dataset"), r.value("value")) for r in table.rows}
    assert values == {("vtff2021", "RAF-DB", "88.14%"), ("unilearn2024", "FERV39K", "53.65%")}
    for _row, _column, cell in table.cells:
        assert cell.sentence in cell.passage and cell.value in cell.sentence
    dropped = {(d.key, d.column, d.value) for d in table.dropped}
    assert {(k, "value", MADE_UP) for k in PAPERS} <= dropped
    assert {(k, "dataset", "ImageNet-21K") for k in PAPERS} <= dropped
    assert MADE_UP not in table.markdown + table.csv + table.latex
    assert any("cells dropped" in n for n in table.to_dict()["notes"])


@pytest.fixture
def cli_library(tmp_path: Path, local_embedder: LocalEmbedder) -> Path:
    folder = tmp_path / "library"
    assert Library(folder, embedder=local_embedder).add(_bib(tmp_path)).ok
    return folder


def test_the_table_command_prints_json_and_writes_what_it_cites(
    cli_library: Path, tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITASSIST_LLM__BASE_URL", openai_server.url)
    monkeypatch.setenv("LITASSIST_LLM__MODEL", "fake-chat")
    monkeypatch.setenv("LITASSIST_LLM__MAX_RETRIES", "0")
    runner = CliRunner()
    keys = ["--keys", ",".join(PAPERS)]
    result = runner.invoke(app, ["--library", str(cli_library), "table", *keys, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["columns"] == ["task", "dataset", "metric", "value"]
    assert {d["value"] for d in data["dropped"]} == {MADE_UP, "ImageNet-21K"}
    cell = data["rows"][0]["cells"]["value"]
    assert set(cell) == {"value", "sentence", "passage"} and cell["value"] in cell["sentence"]
    tex = tmp_path / "table.tex"
    extractive = ["--library", str(cli_library), "table", *keys, "--extractive", "--column", "backbone"]
    result = runner.invoke(app, [*extractive, "-o", str(tex)])
    assert result.exit_code == 0, result.output
    cited = set(re.findall(r"\\cite\{([^}]+)\}", tex.read_text()))
    assert cited == set(PAPERS)
    bib = bibtexparser.parse_string(tex.with_suffix(".bib").read_text())
    assert {e.key for e in bib.entries} == cited
    result = runner.invoke(app, ["--library", str(cli_library), "table", "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2 and "write a .md, a .csv or a .tex file" in result.output
