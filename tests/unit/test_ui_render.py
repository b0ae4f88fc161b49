"""The UI's pure parts: what the views show (ui/render.py) and how uploads are named and kept
(ui/uploads.py). No Gradio, no browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.citations import SentenceSupport
from assistant.grounding import Citation, Reference
from assistant.passages import Passage
from store.errors import LitassistError
from store.ingest import IngestReport, Outcome
from store.paper import Paper
from ui import render
from ui.uploads import UploadError, Uploads, safe_name

MAE = Paper(
    key="he2022mae",
    title="Masked Autoencoders <Are> Scalable",
    authors=["Kaiming He", "Xinlei Chen", "Saining Xie", "Yanghao Li"],
    year=2022,
    venue="CVPR",
    arxiv_id="2111.06377",
)
LOCAL = Paper(key="doe2024", title="A Local Paper", authors=["Jane Doe"], sources=["/lib/uploads/doe.pdf"])


def passage(key: str, text: str, chunk: str = "c1", page: int | None = None) -> Passage:
    return Passage(key=key, chunk_id=f"{key}:{chunk}", text=text, section="Introduction", page=page)


def test_banner_names_the_model_or_says_extractive_and_how_to_change_it() -> None:
    llm = render.banner("gpt-4o-mini", "http://127.0.0.1:8080/v1")
    assert "gpt-4o-mini" in llm and "http://127.0.0.1:8080/v1" in llm
    extractive = render.banner(None, None)
    assert (
        "Extractive mode" in extractive
        and "LITASSIST_LLM__BASE_URL" in extractive
        and "Settings" in extractive
    )


def test_errors_read_as_sentences_not_tracebacks() -> None:
    assert render.error_message(LitassistError("The endpoint at http://x is unreachable")) == (
        "⚠️ The endpoint at http://x is unreachable"
    )
    other = render.error_message(KeyError("boom"))
    assert other.startswith("⚠️ Something went wrong (KeyError") and "Traceback" not in other


def test_a_source_card_per_reference_with_passage_link_and_escaped_text() -> None:
    text = "Masked autoencoders reconstruct missing patches. " * 20
    cites = [
        Citation("he2022mae", 1, passage("he2022mae", text, page=3), 0.8, 0),
        Citation("he2022mae", 1, passage("he2022mae", text, page=3), 0.7, 1),  # same passage: one quote
        Citation("doe2024", 2, passage("doe2024", "Short <b>passage</b>."), 0.3, 1),
    ]
    weak = SentenceSupport("A claim the passage hardly backs.", ("doe2024",), 0.3, 0.3)
    strong = SentenceSupport("A backed claim.", ("he2022mae",), 0.8, 0.8)
    html = render.sources_html(
        [Reference(1, MAE), Reference(2, LOCAL)],
        cites,
        [strong, weak],
        files_route="/gradio_api/file=",
        files_root=Path("/lib/uploads"),
    )
    cards = re.findall(r'<div class="source-card" id="source-(\d+)"', html)
    assert cards == ["1", "2"]
    first, second = html.split('id="source-2"')
    assert (
        "https://arxiv.org/abs/2111.06377" in first and "Kaiming He, Xinlei Chen, Saining Xie et al." in first
    )
    assert "Masked Autoencoders &lt;Are&gt; Scalable" in first and "<Are>" not in html
    assert first.count("<blockquote") == 1 and "p. 3, Introduction" in first
    assert "<details><summary>whole passage</summary>" in first  # a long passage opens on a click
    assert "source-weak" not in first
    assert 'href="/gradio_api/file=/lib/uploads/doe.pdf"' in second  # served from the uploads folder
    assert "Short &lt;b&gt;passage&lt;/b&gt;." in second
    assert "weakly supported" in second and "A claim the passage hardly backs." in second and "0.30" in second


def test_the_excerpt_marks_the_quoted_sentence_even_far_into_the_passage() -> None:
    filler = "Earlier work trained convolutional networks on labelled images for many epochs. " * 10
    text = filler + "Masking 75 percent of the patches makes pretraining three times faster. A last sentence."
    claim = "Masking 75 percent of patches makes pretraining three times faster [1]."
    far = render.excerpt(text, [claim])
    marked = "<mark>Masking 75 percent of the patches makes pretraining three times faster.</mark>"
    assert far.startswith(f"… {marked}")
    assert far.endswith("</details>") and "A last sentence." in far.split("<details>")[0]
    near = render.excerpt("Masking 75 percent of the patches makes pretraining faster. Then more.", [claim])
    assert near == "<mark>Masking 75 percent of the patches makes pretraining faster.</mark> Then more."
    assert "<mark>" not in render.excerpt(text, ["Something about lane topology and driving maps."])
    assert render.excerpt("<b>short</b>", []) == "&lt;b&gt;short&lt;/b&gt;"


def test_two_claims_quoting_one_passage_are_both_marked_in_its_order() -> None:
    first = "Masked autoencoders reconstruct the hidden patches of an image from the visible ones."
    filler = " Earlier work trained convolutional networks on labelled images for many epochs." * 8
    last = " Masking 75 percent of the patches makes pretraining three times faster."
    text = first + filler + last
    claims = [
        "Masking 75 percent of patches makes pretraining faster [1].",
        "Masked autoencoders reconstruct hidden patches [1].",
    ]
    shown = render.excerpt(text, claims).split("<details>")[0]
    assert shown.startswith(f"<mark>{first}</mark>") and shown.endswith(f"<mark>{last.strip()}</mark>")
    assert shown.count("<mark>") == 2  # the filler between them shown, not marked


def test_no_references_says_so_and_unknown_files_get_no_link() -> None:
    assert "cites none" in render.sources_html([], [], [])
    elsewhere = Paper(key="x", title="X", sources=["/home/me/x.pdf"])
    assert render.paper_link(elsewhere, "/gradio_api/file=", Path("/lib/uploads")) is None
    assert render.paper_link(Paper(key="d", doi="10.1/abc"), None, None) == "https://doi.org/10.1/abc"


def test_check_notes() -> None:
    weak = SentenceSupport("Weak.", ("k",), 0.1, 0.1)
    assert render.check_notes(True, False, [], []) == ""
    assert "not from your library" in render.check_notes(False, False, [], [])
    assert render.check_notes(False, True, [], []) == ""  # a refusal needs no citation
    notes = render.check_notes(True, False, ["invented2024"], [weak])
    assert "1 sentence(s) weakly supported" in notes and "invented2024" in notes
    attributed = SentenceSupport("Backed.", ("k",), 0.9, 0.9, attributed=True)
    uncited = SentenceSupport("Nothing backs this.", (), None, None)
    notes = render.check_notes(True, False, [], [attributed, uncited], ["the model first declined"])
    assert notes.startswith("ℹ️ The model first declined.")
    assert "1 sentence(s) cited by litassist" in notes and "1 sentence(s) uncited" in notes


def test_a_card_says_which_sentences_litassist_cited() -> None:
    passage = Passage("he2022mae", "he2022mae-0", "Masked autoencoders scale vision learning.")
    attributed = SentenceSupport(
        "MAE scales vision learning [@he2022mae].", ("he2022mae",), 0.8, 0.8, attributed=True
    )
    html = render.sources_html(
        [Reference(1, MAE)], [Citation("he2022mae", 1, passage, 0.8, 0, attributed=True)], [attributed]
    )
    assert "cited by litassist for 1 sentence(s)" in html


def test_paper_rows_filter_on_every_word() -> None:
    papers = [MAE, LOCAL, Paper(key="anon", abstract="An untitled listing entry about lanes", author_count=6)]
    assert [r[0] for r in render.paper_rows(papers)] == ["he2022mae", "doe2024", "anon"]
    assert [r[0] for r in render.paper_rows(papers, "he 2022")] == ["he2022mae"]
    assert [r[0] for r in render.paper_rows(papers, "JANE")] == ["doe2024"]
    assert render.paper_rows(papers, "cvpr")[0][1:4] == [
        MAE.title,
        "Kaiming He, Xinlei Chen, Saining Xie et al.",
        2022,
    ]
    assert render.paper_rows(papers, "lanes")[0][2] == "6 authors"
    assert render.paper_rows(papers, "doe.pdf") == []  # sources are shown, not searched
    assert render.paper_rows([LOCAL])[0][4] == "doe.pdf"


def test_ingest_rows_show_the_uploaded_names() -> None:
    report = IngestReport(
        added=[LOCAL],
        skipped=[Outcome("/lib/uploads/refs-2.bib#dup", "already in the library", "doe2024")],
        failed=[Outcome("/lib/uploads/broken.pdf", "not a PDF (no %PDF header)")],
    )
    rows = render.ingest_rows(report, {"/lib/uploads/refs-2.bib": "refs.bib"})
    assert rows == [
        ["added", "doe2024", "A Local Paper", ""],
        ["skipped", "doe2024", "refs.bib#dup", "already in the library"],
        ["failed", "", "broken.pdf", "not a PDF (no %PDF header)"],
    ]
    assert render.ingest_summary(report).startswith("**1 added, 1 skipped, 1 failed.**")


def test_outline_and_references() -> None:
    assert render.outline_markdown([("Masking", ["a", "b"]), ("Faces", ["c"])]) == (
        "1. **Masking**: a, b\n2. **Faces**: c"
    )
    assert render.references_markdown([Reference(3, MAE)]) == (
        "3. Kaiming He, Xinlei Chen, Saining Xie et al. (2022) "
        "*Masked Autoencoders <Are> Scalable* `he2022mae`"
    )


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("paper.pdf", "paper.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.bib", "evil.bib"),
        ("/abs/path/refs.bib", "refs.bib"),
        (".hidden.txt", "hidden.txt"),
        ("..", "upload"),
        ("my paper (final) v2.pdf", "my_paper_final_v2.pdf"),
        ("rés umé.pdf", "r_s_um_.pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("noext", "noext"),
    ],
)
def test_safe_names_stay_in_the_folder(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_uploads_are_kept_under_safe_names_within_the_limit(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "uploads", max_bytes=1000)
    first, second, big = tmp_path / "a", tmp_path / "b", tmp_path / "big"
    first.write_text("one paper")
    second.write_text("another paper")
    big.write_bytes(b"x" * 1001)

    kept = uploads.keep(first, "../../refs.bib")
    assert (
        kept.path == (tmp_path / "uploads" / "refs.bib").resolve()
        and kept.new
        and kept.name == "../../refs.bib"
    )
    again = uploads.keep(first, "refs.bib")
    assert again.path == kept.path and not again.new  # the same file: no copy
    other = uploads.keep(second, "refs.bib")
    assert other.path.name == "refs-2.bib" and other.path.read_text() == "another paper"
    with pytest.raises(UploadError, match="over the upload limit"):
        uploads.keep(big, "big.pdf")
    uploads.discard(again)  # kept before: stays
    assert kept.path.exists()
    uploads.discard(other)
    assert not other.path.exists()
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == [".names.json", "refs.bib"]
    assert uploads.original(kept.path) == "refs.bib" and uploads.original(other.path) is None


def test_what_was_searched_is_shown_as_plain_text() -> None:
    from ui.render import searched_for

    assert searched_for("What is *PaSa*  [1]?", False) == "🔎 *Searched for:* What is \\*PaSa\\* \\[1\\]?"
    assert searched_for("PaSa How is it evaluated?", True).endswith("(carried on from the previous question)")


def test_weak_evidence_is_said_above_the_answer() -> None:
    note = "weak evidence (15% likely answerable): the library may hold no paper on this question"
    assert render.caveat(note) == f"⚠️ W{note[1:]}.\n\n"
    assert render.caveat(None) == ""
