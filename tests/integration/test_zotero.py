"""A Zotero library in the library: papers with their collections and tags, the filters on
search and drafts, a re-import after edits in Zotero (an update, `--prune`), and the command."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assistant import Library
from assistant.cli import app
from tests.conftest import PEER_DOCS
from tests.unit.test_zotero import GNN, PASA, SALIENCY, TRASHED, items
from tests.zotero_db import Item, build, short_pdf
from ui.handlers import Handlers
from ui.uploads import Uploads

pytestmark = pytest.mark.integration

BBT = {"GNNX0002": "chen2022counterfactual"}


def keys(papers: list) -> set[str]:  # type: ignore[type-arg]
    return {p.key for p in papers}


def test_zotero_library_with_filters_and_a_reimport_after_edits(
    tmp_path: Path, fake_library: Library
) -> None:
    pdf = short_pdf(PEER_DOCS / "pasa.pdf", tmp_path / "pasa.pdf")
    zotero = build(tmp_path / "Zotero", items(pdf), better_bibtex=BBT)
    report = fake_library.add(zotero)
    assert keys(report.added) == {"he2025pasa", "chen2022counterfactual", "diaz2020saliency"}
    assert [o.source for o in report.failed] == [f"{zotero}#SALI0003"]  # its PDF is missing
    assert fake_library.get("he2025pasa").chunk_count > 2  # the PDF's full text
    assert fake_library.collections() == [
        "Literature search/Agents",
        "Literature search/Explainability",
        "Thesis ch. 2",
    ]
    assert fake_library.tags() == ["agents", "thesis-ch2", "xai"]

    by = fake_library.papers
    assert keys(by(collections=["Literature search"])) == {"he2025pasa", "chen2022counterfactual"}
    assert keys(by(collections="explainability")) == {"chen2022counterfactual"}
    assert keys(by(tags=["xai"])) == {"chen2022counterfactual", "diaz2020saliency"}
    assert keys(by(collections=["Thesis ch. 2"], tags=["xai"])) == {"diaz2020saliency"}
    assert by(collections=["No such collection"]) == []

    # search, ask and drafts see only the papers the filters admit
    query = "counterfactual explanations of graph neural networks"
    assert fake_library.search(query, k=3)[0].key == "chen2022counterfactual"
    hits = fake_library.search(query, k=3, filters={"collections": ["Thesis ch. 2"]})
    assert {h.key for h in hits} == {"diaz2020saliency"}
    assert fake_library.search(query, filters={"tags": ["no-such-tag"]}) == []
    refused = fake_library.ask(query, mode="extractive", filters={"tags": ["no-such-tag"]})
    assert refused.refused and not refused.references
    draft = fake_library.related_work(
        "explanations", keys=["he2025pasa", "chen2022counterfactual", "diaz2020saliency"],
        filters={"tags": ["xai"]}, mode="extractive",
    )  # fmt: skip
    assert draft.cited_keys and set(draft.cited_keys) <= {"chen2022counterfactual", "diaz2020saliency"}
    many = fake_library.summarize_many(
        ["he2025pasa", "chen2022counterfactual"], filters={"collections": ["Agents"]}, mode="extractive"
    )
    assert [p.key for p in many.papers] == ["he2025pasa"]

    # the UI's collection pickers: chat and drafts from the chosen collections only
    handlers = Handlers(fake_library, uploads=Uploads(tmp_path / "uploads", max_bytes=10_000))
    assert handlers.collection_choices() == fake_library.collections()
    extractive, _ = handlers.choose_endpoint("", "", "", True)
    *_, turn = handlers.chat("saliency maps of image classifiers", [], [], extractive, ["Thesis ch. 2"])
    assert set(re.findall(r'data-key="([^"]+)"', turn.sources)) == {"diaz2020saliency"}
    view = handlers.draft("explanations of neural networks", "", extractive, ["Literature search"])
    assert view.files is not None and view.files[0].name == "related-work-explanations-of-neural-networks.md"
    cited = set(re.findall(r"`([^`]+)`", view.text.split("**References**")[1]))
    assert cited and cited <= {"he2025pasa", "chen2022counterfactual"}
    if "chen2022counterfactual" in cited:  # APA, the configured CSL style
        assert "Chen, A., & Li, B. (2022, July). Counterfactual Explanations for Graph" in view.text

    # edits in Zotero: a title corrected and a PDF attached, a tag added, an item trashed, one added
    gnn_pdf = short_pdf(PEER_DOCS / "paper.pdf", tmp_path / "gnn.pdf")
    abstract_only = fake_library.get("chen2022counterfactual").chunk_count
    edited = [
        replace(PASA, pdf=pdf, tags=[*PASA.tags, "read"]),
        replace(GNN, fields={**GNN.fields, "title": "Counterfactual Explanations for GNNs"}, pdf=gnn_pdf),
        replace(SALIENCY, trashed=True),
        TRASHED,
        Item("NEWP0005", "journalArticle", {"title": "A New Paper", "abstractNote": "Something new."}),
    ]
    build(zotero, edited, better_bibtex=BBT)
    again = fake_library.add(zotero)
    assert keys(again.added) == {"new2025paper"} or len(again.added) == 1
    updated = {o.key: o.reason for o in again.updated}
    assert updated == {"he2025pasa": "updated: tags", "chen2022counterfactual": "updated: title"}
    # the PDF attached since brings the full text (PaSa's, read again, is the one stored)
    assert keys(again.full_texts) == {"chen2022counterfactual"}
    assert fake_library.get("chen2022counterfactual").chunk_count > 2 * abstract_only
    assert [o.key for o in again.missing] == ["diaz2020saliency"]
    assert "add --prune" in again.missing[0].reason
    assert fake_library.get("chen2022counterfactual").title == "Counterfactual Explanations for GNNs"
    assert fake_library.get("he2025pasa").tags == ["agents", "read", "thesis-ch2"]
    assert len(fake_library.papers()) == 4  # nothing removed silently

    pruned = fake_library.add(zotero, prune=True)
    assert [o.key for o in pruned.removed] == ["diaz2020saliency"] and not pruned.added
    assert {o.source for o in pruned.skipped} >= {f"{zotero}#PASA2025", f"{zotero}#GNNX0002"}
    assert len(fake_library.papers()) == 3 and "diaz2020saliency" not in keys(fake_library.papers())


def run(*args: str) -> Result:
    """The command in this process (a subprocess would spend seconds on its imports)."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_cli_adds_a_zotero_folder_and_lists_a_collection(tmp_path: Path) -> None:
    zotero = build(tmp_path / "Zotero", [GNN, replace(SALIENCY, linked_pdf=None), TRASHED], better_bibtex=BBT)
    library = str(tmp_path / "lib")
    added = run("--library", library, "add", str(zotero))
    assert added.exit_code == 0, added.output
    assert "chen2022counterfactual" in added.stdout and "diaz2020saliency" in added.stdout
    assert "2 added, 0 skipped, 0 failed" in added.stdout
    listed = run("--library", library, "papers", "--collection", "Literature search", "--json")
    assert [p["key"] for p in json.loads(listed.stdout)] == ["chen2022counterfactual"]
    assert json.loads(listed.stdout)[0]["collections"] == ["Literature search/Explainability"]
    # a draft from that collection, its references in a CSL style, and its CSL-JSON
    out, items = tmp_path / "related.md", tmp_path / "related.json"
    drafted = run(
        "--library", library, "draft", "counterfactual explanations for graph networks", "--extractive",
        "--collection", "Literature search", "--csl", "ieee", "--csl-json", str(items), "-o", str(out),
        "--bib", str(tmp_path / "related.bib"),
    )  # fmt: skip
    assert drafted.exit_code == 0, drafted.output
    assert [item["id"] for item in json.loads(items.read_text())] == ["chen2022counterfactual"]
    assert out.read_text().startswith("---\nbibliography: related.bib\ncsl: ieee.csl\n---")
    unknown = run("--library", library, "draft", "graph networks", "--csl", "no-such-style")
    # (the console script prints it as an error; in this process it is the exception)
    assert "no CSL style named 'no-such-style'" in str(unknown.exception)
