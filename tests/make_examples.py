"""Writes the generated files of ``examples/`` (the PDFs, the web page, the BibTeX file and the
Zotero data directory) from the ACL papers of the ``aclsum`` package (ACL Anthology, CC BY 4.0),
and the two listings from the development seeds' arXiv metadata (CC0). A tool for the project's
developers (it needs fpdf2, the ``test`` extra, and ``../shared/seeds`` for the listings); the
files it writes are committed, so a user needs none of this. Run it again only to change them:

    .venv/bin/python -m tests.make_examples

Only the train split's papers are used (the test split is held out for evaluation).
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from assistant.sample import corpus_folder
from tests.zotero_db import Item, build

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SEEDS = ROOT.parent / "shared" / "seeds"

VENUES = {"P": "ACL", "D": "EMNLP", "N": "NAACL", "E": "EACL"}
# ACL Anthology papers of 2016 and later only: those are CC BY 4.0 (earlier ones are
# CC BY-NC-SA 3.0, which an MIT-licensed project cannot ship); all from aclsum's train split
PDFS = {"E17-1110": "quirk2017distant.pdf", "2021.naacl-main.458": "bao2021nonautoregressive.pdf"}
BIB = {
    "2021.eacl-main.251": "wang2021enpar",
    "2021.emnlp-main.765": "zhao2021relation",
    "N16-1103": "verga2016multilingual",
}
ZOTERO = {"2020.acl-main.573": "han2020continual", "P19-1352": "liu2019shared"}
WEB = "2021.acl-long.67"
# S2ORC's author lists hold a few words of the papers' own text (an affiliation, a footnote
# mark, example words); these are the authors as the papers print them
AUTHORS = {
    "2021.emnlp-main.765": [("Jun", "Zhao"), ("Tao", "Gui"), ("Qi", "Zhang"), ("Yaqian", "Zhou")],
    "N16-1103": [
        ("Patrick", "Verga"), ("David", "Belanger"), ("Emma", "Strubell"), ("Benjamin", "Roth"),
        ("Andrew", "McCallum"),
    ],
    "P19-1352": [
        ("Xuebo", "Liu"), ("Derek F.", "Wong"), ("Yang", "Liu"), ("Lidia S.", "Chao"), ("Tong", "Xiao"),
        ("Jingbo", "Zhu"),
    ],
    "2021.acl-long.67": [("Haoyue", "Shi"), ("Luke", "Zettlemoyer"), ("Sida I.", "Wang")],
}  # fmt: skip
SECTIONS = 3  # numbered sections kept from each paper's body (the examples stay small)
WORDS = 1400  # at most this many words of body text a paper


def paper(anthology_id: str) -> dict:
    data = json.loads((corpus_folder() / f"{anthology_id}.json").read_text())
    data["id"] = anthology_id
    return data


def year(anthology_id: str) -> int:
    if "." in anthology_id:  # 2021.naacl-main.458
        return int(anthology_id[:4])
    return 2000 + int(anthology_id[1:3])  # E17-1110


def venue(anthology_id: str) -> str:
    name = (
        anthology_id.split(".")[1].split("-")[0].upper() if "." in anthology_id else VENUES[anthology_id[0]]
    )
    return f"Proceedings of {name} {year(anthology_id)}"


def title(data: dict) -> str:
    return data["title"].rstrip(" *")


def authors(data: dict) -> list[tuple[str, str]]:
    if data["id"] in AUTHORS:
        return AUTHORS[data["id"]]
    names = []
    for author in data["authors"]:
        first = " ".join([author.get("first", ""), *author.get("middle", [])]).strip()
        names.append((first, author.get("last", "")))
    return names


def abstract(data: dict) -> str:
    return " ".join(p["text"] for p in data["pdf_parse"]["abstract"]) or data["abstract"]


def sections(data: dict) -> list[tuple[str, list[str]]]:
    """The first numbered sections, as (heading, paragraphs), within ``WORDS`` words."""
    kept: list[tuple[str, list[str]]] = []
    words = 0
    for block in data["pdf_parse"]["body_text"]:
        text = re.sub(r"\s+", " ", block["text"]).strip()
        if len(text) < 40:
            continue
        number, heading = block.get("sec_num"), block["section"]
        if number and "." not in number and (not kept or kept[-1][0] != f"{number} {heading}"):
            if len(kept) == SECTIONS:
                break
            kept.append((f"{number} {heading}", []))
        if kept and words < WORDS:
            kept[-1][1].append(text)
            words += len(text.split())
    return kept


def latin1(text: str) -> str:
    """The PDF's core fonts hold Latin-1 only."""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return text.encode("latin-1", "replace").decode("latin-1")


def write_pdf(anthology_id: str, target: Path) -> Path:
    data = paper(anthology_id)
    pdf = FPDF()
    pdf.set_title(latin1(title(data)))
    pdf.set_author(latin1("; ".join(f"{first} {last}" for first, last in authors(data))))
    pdf.set_subject(f"Excerpt of ACL Anthology {anthology_id} (CC BY 4.0)")
    pdf.set_creation_date(datetime(year(anthology_id), 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, latin1(title(data)), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(
        0,
        6,
        latin1(", ".join(f"{first} {last}" for first, last in authors(data))),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, "Abstract", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, latin1(abstract(data)), new_x="LMARGIN", new_y="NEXT")
    for heading, paragraphs in sections(data):
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for text in paragraphs:
            pdf.multi_cell(0, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(target))
    return target


def bib_value(text: str) -> str:
    return text.replace("{", "").replace("}", "").replace("&", r"\&").replace("%", r"\%")


def write_bib(target: Path) -> None:
    entries = []
    for anthology_id, key in BIB.items():
        data = paper(anthology_id)
        names = " and ".join(f"{last}, {first}" for first, last in authors(data))
        entries.append(
            f"@inproceedings{{{key},\n"
            f"  title = {{{bib_value(title(data))}}},\n"
            f"  author = {{{bib_value(names)}}},\n"
            f"  booktitle = {{{venue(anthology_id)}}},\n"
            f"  year = {{{year(anthology_id)}}},\n"
            f"  url = {{https://aclanthology.org/{anthology_id}}},\n"
            f"  abstract = {{{bib_value(abstract(data))}}}\n"
            "}\n"
        )
    target.write_text(
        "% Three ACL Anthology papers (metadata and abstracts, CC BY 4.0); see README.md here.\n\n"
        + "\n".join(entries)
    )


def write_web_page(anthology_id: str, target: Path) -> None:
    data = paper(anthology_id)
    meta = [f'<meta name="citation_title" content="{html.escape(title(data))}">']
    meta += [
        f'<meta name="citation_author" content="{html.escape(f"{last}, {first}")}">'
        for first, last in authors(data)
    ]
    meta += [
        f'<meta name="citation_publication_date" content="{year(anthology_id)}">',
        f'<meta name="citation_conference_title" content="{venue(anthology_id)}">',
        f'<meta name="citation_abstract" content="{html.escape(abstract(data))}">',
        f'<meta name="citation_abstract_html_url" content="https://aclanthology.org/{anthology_id}">',
    ]
    body = [
        f"<h1>{html.escape(title(data))}</h1>",
        "<h2>Abstract</h2>",
        f"<p>{html.escape(abstract(data))}</p>",
    ]
    for heading, paragraphs in sections(data):
        body.append(f"<h2>{html.escape(heading)}</h2>")
        body += [f"<p>{html.escape(text)}</p>" for text in paragraphs]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title(data))}</title>\n"
        + "\n".join(meta)
        + '\n</head>\n<body>\n<nav><a href="https://aclanthology.org/">ACL Anthology</a></nav>\n<main>\n'
        + "\n".join(body)
        + f"\n</main>\n<footer>ACL Anthology {anthology_id}, CC BY 4.0 (an excerpt).</footer>\n"
        "</body>\n</html>\n"
    )


def write_zotero(folder: Path) -> None:
    items = []
    with tempfile.TemporaryDirectory() as scratch:
        for number, (anthology_id, key) in enumerate(ZOTERO.items()):
            data = paper(anthology_id)
            items.append(
                Item(
                    key=f"EXMP{number:04d}",
                    item_type="conferencePaper",
                    fields={
                        "title": title(data),
                        "abstractNote": abstract(data),
                        "date": str(year(anthology_id)),
                        "proceedingsTitle": venue(anthology_id),
                        "url": f"https://aclanthology.org/{anthology_id}",
                        "extra": f"Citation Key: {key}",
                    },
                    authors=authors(data),
                    collections=[
                        "Information extraction/Relations" if number == 0 else "Machine translation"
                    ],
                    tags=["to-read"] if number == 0 else [],
                    pdf=write_pdf(anthology_id, Path(scratch) / f"{key}.pdf") if number == 0 else None,
                )
            )
        build(folder, items)
    with closing(sqlite3.connect(folder / "zotero.sqlite")) as db:
        fixed = "2024-01-01 00:00:00"  # not the time of the build: the file is the same each time
        db.execute("UPDATE items SET dateAdded = ?, dateModified = ?, clientDateModified = ?", (fixed,) * 3)
        db.execute("UPDATE collections SET clientDateModified = ?", (fixed,))
        db.execute("UPDATE deletedItems SET dateDeleted = ?", (fixed,))
        db.commit()
        db.execute("PRAGMA page_size = 512")  # a page a table: 512-byte pages keep the file small
        db.execute("VACUUM")


def listing_blocks(text: str, count: int, closing: re.Pattern[str]) -> str:
    """The start of a listing up to the ``count``-th line that closes an entry."""
    lines = text.splitlines()
    closed = [i for i, line in enumerate(lines) if closing.match(line)]
    return "\n".join(lines[: closed[count - 1] + 1]) + "\n"


def daily_papers(text: str, titles: list[str]) -> str:
    """The page's header and the entries whose titles start so, in the page's order."""
    lines = text.splitlines()
    closed = [i for i, line in enumerate(lines) if _HF_DATE.match(line)]
    starts = [0, *(i + 1 for i in closed)]
    header = next(i for i, line in enumerate(lines) if re.match(r"^[A-Z][a-z]{2} \d{1,2}$", line))
    kept = lines[: header + 1]  # "Daily Papers", "Nov 19"
    for start, end in zip(starts, closed, strict=False):
        entry = lines[max(start, header + 1) : end + 1]
        if any(line.startswith(tuple(titles)) for line in entry):
            while entry and not entry[0].strip():
                entry = entry[1:]
            kept += ["", *entry] if kept[-1].strip() else entry
    return "\n".join(kept) + "\n"


_HF_DATE = re.compile(r"^[A-Z][a-z]{2} \d+, \d{4}$")
DAILY = [  # the start of each title kept
    "Latent-OFER:", "FSFM:", "GSmoothFace:", "FineCLIPER:", "FER-YOLO-Mamba:",
    "Facial Expression Recognition with Visual Transformers and Attentional Selective Fusion",
]  # fmt: skip


def main() -> None:
    for anthology_id, name in PDFS.items():
        write_pdf(anthology_id, EXAMPLES / "pdfs" / name)
    write_bib(EXAMPLES / "papers.bib")
    write_web_page(WEB, EXAMPLES / "web" / "shi2021bilingual.html")
    write_zotero(EXAMPLES / "zotero")
    arxiv = (SEEDS / "004_10e82c028d3c4dce.txt").read_text()
    (EXAMPLES / "arxiv-listing.txt").write_text(listing_blocks(arxiv, 4, re.compile(r"^Created: ")))
    daily = (SEEDS / "002_47b77621b76a6c7c.txt").read_text()
    (EXAMPLES / "hf-daily-papers.txt").write_text(daily_papers(daily, DAILY))


if __name__ == "__main__":
    main()
