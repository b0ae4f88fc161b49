"""Readers: format detection by content, PDFs, BibTeX, web pages, Markdown, S2ORC JSON."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from store.errors import ReadError
from store.readers import (
    LONGEST_ABSTRACT,
    PIECE_CHARS,
    Limits,
    UnsupportedFileError,
    detect_format,
    listings,
    pieces,
    read,
    walk,
)
from tests.conftest import PEER_DOCS


def test_content_wins_over_a_lying_suffix() -> None:
    assert detect_format(PEER_DOCS / "obama.txt") == "html"
    assert detect_format(PEER_DOCS / "bates.txt") == "html"
    assert detect_format(PEER_DOCS / "gravity_hill.md") == "markdown"
    assert detect_format(PEER_DOCS / "pasa.pdf") == "pdf"


def test_pdf_saved_under_another_suffix_is_read_as_pdf(tmp_path: Path) -> None:
    path = tmp_path / "download.bin"
    shutil.copy(PEER_DOCS / "pasa.pdf", path)
    assert detect_format(path) == "pdf"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n ", "empty"),
        ("blob.txt", bytes(range(256)) * 20, "binary"),
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", "unsupported file type '.png'"),
        ("thesis.docx", b"PK\x03\x04 zipped word", "unsupported file type '.docx'"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError, match=reason):
        read(path)


def test_unknown_suffix_is_unsupported_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "notes.rtf"
    path.write_text("{\\rtf1 hello}")
    with pytest.raises(UnsupportedFileError):
        read(path)


def test_walk_recurses_in_order_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ["b/2.txt", "a.txt", ".DS_Store", ".git/config", "b/1.txt"]:
        (tmp_path / name).write_text("x")
    found = [(p.relative_to(tmp_path).as_posix(), named) for p, named in walk([tmp_path])]
    assert found == [("a.txt", False), ("b/1.txt", False), ("b/2.txt", False)]
    assert list(walk([tmp_path / "a.txt"])) == [(tmp_path / "a.txt", True)]


def test_walk_reports_a_folder_with_nothing_to_read(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / ".DS_Store").write_text("x")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("x")
    problems: list[tuple[Path, str, bool]] = []
    names = ["empty", "hidden", "docs"]
    assert list(walk([tmp_path / n for n in names], problems)) == []
    rows = {p.name: (why, failed) for p, why, failed in problems}
    assert rows["empty"] == rows["hidden"] == ("no files to read in the folder", False)
    assert "README" in rows["README.md"][0] and "docs" not in rows  # its README is reported instead


# -- PDF ----------------------------------------------------------------------------------------


def test_pdf_title_and_authors_from_the_first_page() -> None:
    paper = read(PEER_DOCS / "paper.pdf").documents[0].paper
    assert paper.title == "A Perspective on Explanations of Molecular Prediction Models"
    assert paper.authors == ["Geemi P. Wellawatte", "Heta A. Gandhi", "Aditi Seshadri", "Andrew D. White"]
    assert paper.abstract is not None and paper.abstract.startswith("Chemists can be skeptical")
    assert "solubility" in paper.abstract  # hyphenation across lines undone


def test_two_column_pdf_with_markers_and_emails() -> None:
    document = read(PEER_DOCS / "pasa.pdf").documents[0]
    paper = document.paper
    assert paper.title == "PaSa: An LLM Agent for Comprehensive Academic Paper Search"
    assert paper.authors == [
        "Yichen He", "Guanhua Huang", "Peiyuan Feng", "Yuan Lin", "Yuchen Zhang", "Hang Li", "Weinan E",
    ]  # fmt: skip
    assert paper.arxiv_id == "2501.10120" and paper.year == 2025
    assert paper.abstract is not None and paper.abstract.startswith("We introduce PaSa")
    pages = {s.page for s in document.sections}
    assert pages == set(range(1, 16))
    assert any(s.heading == "References" for s in document.sections)


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage without xref\n")
    with pytest.raises(ReadError, match="PDF"):
        read(path)


def test_truncated_pdf(tmp_path: Path) -> None:
    path = tmp_path / "truncated.pdf"
    path.write_bytes((PEER_DOCS / "pasa.pdf").read_bytes()[:20_000])
    with pytest.raises(ReadError):
        read(path)


def encrypted(tmp_path: Path, user_password: str, algorithm: str) -> Path:
    writer = PdfWriter()
    writer.append(PdfReader(PEER_DOCS / "paper.pdf"), pages=(0, 2))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
    path = tmp_path / f"locked-{algorithm}.pdf"
    with path.open("wb") as f:
        writer.write(f)
    return path


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_encrypted_pdf_needing_a_password(tmp_path: Path, algorithm: str) -> None:
    with pytest.raises(ReadError, match="encrypted"):
        read(encrypted(tmp_path, "secret", algorithm))


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_encrypted_pdf_that_opens_without_a_password_is_read(tmp_path: Path, algorithm: str) -> None:
    paper = read(encrypted(tmp_path, "", algorithm)).documents[0].paper
    assert paper.title == "A Perspective on Explanations of Molecular Prediction Models"


def test_image_only_pdf(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_blank_page(width=612, height=792)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as f:
        writer.write(f)
    with pytest.raises(ReadError, match="no text layer"):
        read(path)


# -- BibTeX -------------------------------------------------------------------------------------

BIB = r"""
@inproceedings{he2025pasa,
  title = {{PaSa}: An {LLM} Agent for Comprehensive Academic Paper Search},
  author = {He, Yichen and Huang, Guanhua and E, Weinan},
  booktitle = {Proceedings of ACL},
  year = {2025},
  eprint = {2501.10120},
  archivePrefix = {arXiv},
  file = {Full Text PDF:papers/pasa.pdf:application/pdf}
}

@article{broken,
  title = {Missing the closing brace,
  year = 2021

@article{muller2020,
  title = {Deep Learning for {\"U}ber Things},
  author = {M{\"u}ller, Klaus and van der Berg, Anna},
  journal = {Nature},
  year = 2020,
  doi = {10.1038/xyz},
  abstract = {We study things.}
}

@misc{orphan, title = {Attachment missing}, file = {gone.pdf}}
"""


def test_bibtex_entries_keys_fields_and_attached_pdf(tmp_path: Path) -> None:
    (tmp_path / "papers").mkdir()
    shutil.copy(PEER_DOCS / "pasa.pdf", tmp_path / "papers" / "pasa.pdf")
    path = tmp_path / "refs.bib"
    path.write_text(BIB)
    result = read(path)
    papers = {d.paper.key: d for d in result.documents}
    assert set(papers) == {"he2025pasa", "muller2020", "orphan"}
    pasa = papers["he2025pasa"]
    assert pasa.paper.title == "PaSa: An LLM Agent for Comprehensive Academic Paper Search"
    assert pasa.paper.authors == ["Yichen He", "Guanhua Huang", "Weinan E"]
    assert (pasa.paper.year, pasa.paper.venue, pasa.paper.arxiv_id) == (
        2025,
        "Proceedings of ACL",
        "2501.10120",
    )
    assert (
        len(pasa.sections) > 10
        and pasa.paper.abstract
        and pasa.paper.abstract.startswith("We introduce PaSa")
    )
    assert str(tmp_path / "papers" / "pasa.pdf") in pasa.paper.sources
    muller = papers["muller2020"].paper
    assert muller.title == "Deep Learning for Über Things"
    assert muller.authors == ["Klaus Müller", "Anna van der Berg"]
    assert (muller.doi, muller.abstract) == ("10.1038/xyz", "We study things.")
    problems = dict(result.problems)
    assert "malformed entry" in problems[f"{path}#broken"]
    assert "does not exist" in problems[f"{path}#orphan"]  # its metadata still came in


def test_bib_with_nothing_parsable(tmp_path: Path) -> None:
    path = tmp_path / "junk.bib"
    path.write_text("this is not bibtex at all\n")
    with pytest.raises(ReadError, match="no BibTeX entries"):
        read(path)


# -- web pages, Markdown, S2ORC -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "phrase"),
    [
        ("obama.txt", "Barack Obama", "44th president of the United States"),
        ("bates.txt", "Frederick Bates (politician)", "Governor of Missouri"),
        ("flag_day.html", "National Flag of Canada Day", "February 15"),
        ("gravity_hill.md", "Gravity hill", "appear to be an uphill slope"),
    ],
)
def test_pages_give_title_and_text_without_markup(name: str, title: str, phrase: str) -> None:
    document = read(PEER_DOCS / name).documents[0]
    text = " ".join(s.text for s in document.sections)
    assert document.paper.title == title
    assert document.paper.authors == []  # Wikipedia names no authors; none are invented
    assert phrase.lower() in text.lower()
    assert "<div" not in text and "](http" not in text and "mw-parser-output" not in text


def test_scholarly_meta_tags(tmp_path: Path) -> None:
    path = tmp_path / "abs.html"
    path.write_text(
        """<html><head><title>[2501.10120] PaSa</title>
        <meta name="citation_title" content="PaSa: An LLM Agent for Comprehensive Academic Paper Search">
        <meta name="citation_author" content="He, Yichen"><meta name="citation_author" content="E, Weinan">
        <meta name="citation_date" content="2025/01/17"><meta name="citation_arxiv_id" content="2501.10120">
        <meta name="citation_abstract" content="We introduce PaSa, an advanced Paper Search agent.">
        </head><body><p>We introduce PaSa, an advanced Paper Search agent powered by large language
        models, which autonomously invokes search tools and reads papers.</p></body></html>"""
    )
    paper = read(path).documents[0].paper
    assert paper.title == "PaSa: An LLM Agent for Comprehensive Academic Paper Search"
    assert paper.authors == ["Yichen He", "Weinan E"]
    assert (paper.year, paper.arxiv_id) == (2025, "2501.10120")
    assert paper.abstract == "We introduce PaSa, an advanced Paper Search agent."


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_text(
        "---\ntitle: My Post\nauthor: Ada Lovelace and Alan Turing\n---\n\nSome **bold** claim.\n"
    )
    paper = read(path).documents[0].paper
    assert paper.title == "My Post" and paper.authors == ["Ada Lovelace", "Alan Turing"]


def test_s2orc_json(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "title": "HyperCore",
                "authors": [{"first": "Pengfei", "middle": [], "last": "Cao"}],
                "year": "2020",
                "abstract": "ICD coding assigns codes.",
                "pdf_parse": {
                    "body_text": [
                        {"text": "Intro text.", "section": "Introduction"},
                        {"text": "More intro.", "section": "Introduction"},
                    ]
                },
            }
        )
    )
    document = read(path).documents[0]
    assert (document.paper.title, document.paper.authors, document.paper.year) == (
        "HyperCore",
        ["Pengfei Cao"],
        2020,
    )
    assert [(s.heading, s.text) for s in document.sections] == [("Introduction", "Intro text.\nMore intro.")]


def test_json_that_is_not_a_paper(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"foo": 1}')
    with pytest.raises(ReadError, match="not an S2ORC paper"):
        read(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig", "cp1252"])
def test_text_in_other_encodings_is_read(tmp_path: Path, encoding: str) -> None:
    from store.readers import detect_format, read_text

    text = (
        "Les modèles de segmentation sémantique présentés dans cet article améliorent la précision "
        "des façades. Nous proposons une méthode coopérative où chaque réseau apprend à partir des "
        "prédictions de l'autre, ce qui réduit les erreurs près des frontières."
    )
    path = tmp_path / f"notes-{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    assert detect_format(path) == "text"
    assert read_text(path) == text


def test_linked_folders_are_followed_once_and_unlistable_ones_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from store.readers import walk

    (tmp_path / "papers" / "more").mkdir(parents=True)
    (tmp_path / "papers" / "a.txt").write_text("a")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.txt").write_text("b")
    (tmp_path / "papers" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "papers" / "more" / "loop").symlink_to(tmp_path / "papers")
    (tmp_path / "papers" / "locked").mkdir()
    scandir = os.scandir

    def refuse(path: object = ".") -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", refuse)
    problems: list[tuple[Path, str, bool]] = []
    found = [p.relative_to(tmp_path / "papers").as_posix() for p, _ in walk([tmp_path / "papers"], problems)]
    assert found == ["a.txt", "linked/b.txt"]
    rows = {p.relative_to(tmp_path / "papers").as_posix(): (why, failed) for p, why, failed in problems}
    assert rows["locked"][1] and "cannot list the folder: Permission denied" in rows["locked"][0]
    assert not rows["more/loop"][1] and "already read" in rows["more/loop"][0]


def test_pieces_cut_after_sentences_and_lose_nothing() -> None:
    text = " ".join(f"Sentence number {i} says a little more." for i in range(5000))
    found = pieces(text, size=1000)
    assert all(len(piece) <= 1000 for piece in found)
    assert "".join(found) == text  # nothing lost or doubled
    assert all(piece.endswith(". ") for piece in found[:-1])  # cut after a sentence
    unbroken = "x" * 2500  # no sentence, no space: cut anyway
    assert [len(p) for p in pieces(unbroken, size=1000)] == [1000, 1000, 500]


def test_a_long_line_reaches_the_chunker_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_text("A title\n\n" + "words without end " * 20_000)
    (document,) = read(path).documents
    assert all(len(section.text) <= PIECE_CHARS for section in document.sections)
    assert not document.paper.abstract or len(document.paper.abstract) <= LONGEST_ABSTRACT


def test_text_files_above_the_limit_are_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("A title\n\n" + "x " * 600_000)
    with pytest.raises(ReadError, match=r"1\.1 MB, above the 1 MB limit.*LITASSIST_INGEST__MAX_TEXT_MB"):
        read(path, Limits(max_text_mb=1))
    assert read(path, Limits(max_text_mb=2)).documents  # under the limit: read


def test_a_reader_that_runs_too_long_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "slow.txt"
    path.write_text("A title\n\nAn abstract.\n")

    def slow(path: Path) -> object:
        while True:  # a parser stuck on its input
            sum(range(1000))

    monkeypatch.setattr(listings, "read", slow)
    # the deadline leaves a timer someone else set alone (pytest-timeout's): this test lends it
    lent = signal.signal(signal.SIGALRM, signal.SIG_DFL)
    try:
        started = time.monotonic()
        with pytest.raises(ReadError, match=r"longer than 0\.5 s.*LITASSIST_INGEST__MAX_READ_SECONDS"):
            read(path, Limits(max_seconds=0.5))
        assert time.monotonic() - started < 5
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL  # the handler is put back
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # and the timer stopped
    finally:
        signal.signal(signal.SIGALRM, lent)
