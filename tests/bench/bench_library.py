"""A researcher's large library: a .bib of 5,000 entries and 200 PDFs, ingested as a user does.

    .venv/bin/python tests/bench/bench_library.py [--papers 5000] [--pdfs 200] [--kill-after 120]
                                                 [--workdir DIR]

Generates (once, into ``--workdir``): ``library.bib``, N entries whose abstracts are drawn from
the corpora here (the 250 abstracts of the aclsum sample corpus, then paragraphs of its full
texts, each long enough to be an abstract), with titles, authors and years from the aclsum papers;
and ``pdfs/``, P PDFs written with fpdf2 from aclsum full texts (title in large type, authors,
abstract, numbered sections). Then runs the ``litassist`` command on a fresh library:

1. ``add library.bib``, killed with SIGKILL after ``--kill-after`` seconds, then run again to the
   end (it resumes: what was stored is skipped): papers stored before the kill, time, papers/s;
2. ``add pdfs/`` (full texts) into a library of their own (in the first one they would be the
   same papers as their .bib entries): time, papers/s, passages;
3. ``add library.bib`` again, nothing changed (the re-import check): time.

In a terminal the command shows its progress bar with an ETA; here its output is captured.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aclsum
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
ACL = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"
LITASSIST = str(ROOT / ".venv" / "bin" / "litassist")


def _papers() -> list[dict[str, object]]:
    return [{**json.loads(p.read_text()), "file": p.stem} for p in sorted(ACL.glob("*.json"))]


def _names(paper: dict[str, object]) -> list[str]:
    authors = paper.get("authors") or []
    assert isinstance(authors, list)
    return [" ".join([a["first"], *a.get("middle", []), a["last"]]).strip() for a in authors if a.get("last")]


def _bib_value(text: str) -> str:
    return re.sub(r"[{}\\%&$#_^~]", " ", text)  # plain text: nothing BibTeX would read as markup


def write_bib(path: Path, count: int) -> None:
    """``count`` entries: the aclsum abstracts, then body paragraphs as abstracts."""
    rng = random.Random(0)
    papers = _papers()
    abstracts = [(p, str(p["abstract"])) for p in papers if p.get("abstract")]
    paragraphs = [
        (p, str(par["text"]))
        for p in papers
        for par in p["pdf_parse"]["body_text"]  # type: ignore[index]
        if 400 <= len(par["text"]) <= 2000
    ]
    rng.shuffle(paragraphs)
    chosen = (abstracts + paragraphs)[:count]
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} abstracts and paragraphs to draw from, fewer than {count}")
    with path.open("w", encoding="utf-8") as out:
        for i, (paper, text) in enumerate(chosen):
            words = re.findall(r"[A-Za-z][A-Za-z-]+", text)
            title = str(paper["title"]) if i < len(abstracts) else " ".join(words[3:11]).capitalize()
            names = _names(paper) or ["Anonymous"]
            year = str(paper.get("year") or 2020)
            out.write(
                f"@inproceedings{{bench{i:05d},\n  title = {{{_bib_value(title)}}},\n"
                f"  author = {{{_bib_value(' and '.join(names))}}},\n  year = {{{year}}},\n"
                f"  booktitle = {{Proceedings of the ACL}},\n  abstract = {{{_bib_value(text)}}}\n}}\n\n"
            )


def write_pdfs(folder: Path, count: int) -> None:
    """``count`` PDFs of aclsum papers' full texts (core fonts: Latin-1 text)."""
    from fpdf import FPDF

    def latin(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1")

    folder.mkdir(parents=True, exist_ok=True)
    for paper in _papers()[:count]:
        pdf = FPDF()
        pdf.set_auto_page_break(True, margin=20)
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        pdf.multi_cell(0, 9, latin(str(paper["title"])), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, latin(", ".join(_names(paper))), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, "Abstract", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, latin(str(paper.get("abstract") or "")), new_x="LMARGIN", new_y="NEXT")
        section = None
        for par in paper["pdf_parse"]["body_text"]:  # type: ignore[index]
            if par.get("section") and par["section"] != section:
                section = par["section"]
                pdf.ln(3)
                pdf.set_font("Helvetica", "B", 12)
                number = f"{par['sec_num']} " if par.get("sec_num") else ""
                pdf.multi_cell(0, 7, latin(f"{number}{section}"), new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, latin(par["text"]), new_x="LMARGIN", new_y="NEXT")
        pdf.output(str(folder / f"{paper['file']}.pdf"))  # (paper_id is not unique)


def litassist(library: Path, *args: str, kill_after: float | None = None) -> tuple[float, str, bool]:
    """Run the command; returns (seconds, stdout, killed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITASSIST_")}
    env["LITASSIST_LIBRARY"] = str(library)
    started = time.perf_counter()
    process = subprocess.Popen(
        [LITASSIST, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        out, _ = process.communicate(timeout=kill_after)
        return time.perf_counter() - started, out, False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        out, _ = process.communicate()
        return time.perf_counter() - started, out or "", True


def count(library: Path) -> int:
    _, out, _ = litassist(library, "papers", "--json")
    return len(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--pdfs", type=int, default=200)
    parser.add_argument("--kill-after", type=float, default=120.0, help="SIGKILL the first add after this")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="litassist-bench-library-"))
    work.mkdir(parents=True, exist_ok=True)
    console = Console()
    bib, pdfs = work / f"library-{args.papers}.bib", work / f"pdfs-{args.pdfs}"
    if not bib.exists():
        write_bib(bib, args.papers)
    if not pdfs.exists():
        write_pdfs(pdfs, args.pdfs)
    library = work / "library"
    if library.exists():
        raise SystemExit(f"{library} exists: give a fresh --workdir, or remove it")

    killed_s, _, killed = litassist(library, "add", str(bib), kill_after=args.kill_after)
    before = count(library) if killed else args.papers
    resumed_s, out, _ = litassist(library, "add", str(bib))
    stored = count(library)
    again_s, again_out, _ = litassist(library, "add", str(bib))
    full = work / "library-pdfs"
    pdf_s, pdf_out, _ = litassist(full, "add", str(pdfs))
    passages = sum(p["chunk_count"] for p in json.loads(litassist(full, "papers", "--json")[1]))

    table = Table(title=f"{args.papers} entries of a .bib and {args.pdfs} PDFs ({os.cpu_count()} CPUs)")
    for column in ("step", "papers", "seconds", "papers/s", "note"):
        table.add_column(column)
    abstracts_s = killed_s + resumed_s if killed else killed_s
    table.add_row(
        "add .bib, SIGKILL", str(before), f"{killed_s:.0f}", f"{before / killed_s:.1f}",
        f"killed after {args.kill_after:g} s" if killed else "finished before the kill",
    )  # fmt: skip
    table.add_row(
        "add .bib again (resumes)", str(stored - before), f"{resumed_s:.0f}",
        f"{(stored - before) / resumed_s:.1f}", f"{stored} papers stored in all",
    )  # fmt: skip
    table.add_row(
        "abstracts only, in all", str(stored), f"{abstracts_s:.0f}", f"{stored / abstracts_s:.1f}", ""
    )
    pdf_added = count(full)
    table.add_row(
        "add PDFs (full texts)", str(pdf_added), f"{pdf_s:.0f}", f"{pdf_added / pdf_s:.2f}",
        f"{passages} passages",
    )  # fmt: skip
    table.add_row("add .bib, unchanged", "0", f"{again_s:.0f}", "", again_out.strip().splitlines()[-1][:60])
    console.print(table)
    console.print(f"workdir: {work}; last lines of the resumed add: {out.strip().splitlines()[-1][:100]}")
    console.print(pdf_out.strip().splitlines()[-1][:100])


if __name__ == "__main__":
    sys.exit(main())
