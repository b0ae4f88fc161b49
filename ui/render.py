"""What the UI shows, as plain strings and rows: no Gradio here, so that every view can be tested
without a browser. HTML is built by hand (a few small fragments) and every value from a paper
or a model goes through ``html.escape``."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from assistant import (
    Citation,
    IngestReport,
    LitassistError,
    LLMError,
    Paper,
    Passage,
    Reference,
    SentenceSupport,
    sentence_spans,
)

PASSAGE_CHARS = 600  # a card shows this much of its passage; the rest opens on a click
MARK_OVERLAP = 0.5  # share of a sentence's words found in the claim for it to be marked as the quote
PAPER_COLUMNS = ["key", "title", "authors", "year", "sources"]
INGEST_COLUMNS = ["result", "key", "paper or file", "reason"]
FULL_TEXT = "updated (full text)"  # the row of a paper whose full text replaced its abstract
# the sources panel before the first answer of a conversation
NO_SOURCES_YET = (
    '<div class="sources-empty">The sources of an answer appear here: a card for each citation number.</div>'
)


# -- the mode banner ---------------------------------------------------------------------------


def banner(model: str | None, endpoint: str | None, read_only: tuple[Path, str] | None = None) -> str:
    """Which mode answers are made in, and how to change it (markdown); ``read_only``: the
    library's folder and why it cannot be written."""
    if model and endpoint:
        text = (
            f"**Model `{model}` at `{endpoint}`** writes the answers; the code checks every "
            "citation against the passages it was given. Change the endpoint under *Settings*."
        )
    else:
        text = (
            "**Extractive mode: no language model.** Answers are sentences quoted from your papers, "
            "each cited. To have a model write them, set `LITASSIST_LLM__BASE_URL` (and "
            "`LITASSIST_LLM__MODEL`) before starting, or enter an endpoint under *Settings*."
        )
    if read_only is not None:
        folder, why = read_only
        text += (
            f"\n\n**This library is read-only** (`{folder}` cannot be written: {why}): search only; "
            "uploads and removals are refused."
        )
    return text


def fill_banner(line: str | None, filling: bool) -> str:
    """The sample library's fill, under the mode banner: where it is, and what it means."""
    if not line:
        return ""
    if filling:
        return (
            f"\n\n**{line}** Questions work meanwhile; answers and searches see only the papers "
            "stored so far (their abstracts first, full texts after)."
        )
    return f"\n\n{line}"


def filling_note(line: str) -> str:
    """Appended to an answer made while the sample library fills."""
    return f"_The library is still filling ({line}): this answer sees only the papers stored so far._"


def error_message(error: BaseException) -> str:
    """An error as a reader sees it in the chat: what failed and why, never a traceback."""
    if isinstance(error, LLMError):
        return f"⚠️ {error}. (The endpoint can be changed for this session under *Settings*.)"
    if isinstance(error, LitassistError):
        return f"⚠️ {error}"
    return f"⚠️ Something went wrong ({type(error).__name__}: {error}). The details are in the log."


# -- what was searched ---------------------------------------------------------------------------


def searched_for(query: str, follow_up: bool) -> str:
    """The line under an answer saying what was searched (markdown): the question itself, or a
    follow-up carried on from the question before it."""
    shown = re.sub(r"([\\`*_\[\]<>#|~])", r"\\\1", " ".join(query.split()))
    how = " (carried on from the previous question)" if follow_up else ""
    return f"🔎 *Searched for:* {shown}{how}"


# -- sources -----------------------------------------------------------------------------------


def paper_link(paper: Paper, files_route: str | None = None, files_root: Path | None = None) -> str | None:
    """Where a reader can open the paper: its arXiv page, its DOI, its URL, or (when the UI
    serves that folder) its source file."""
    if paper.arxiv_id:
        return f"https://arxiv.org/abs/{paper.arxiv_id}"
    if paper.doi:
        return f"https://doi.org/{paper.doi}"
    if paper.url:
        return paper.url
    if files_route is not None and files_root is not None:
        for source in paper.sources:
            path = Path(source.split("#", 1)[0])
            if path.is_relative_to(files_root):
                return f"{files_route}{quote(str(path))}"
    return None


def sources_html(
    references: Sequence[Reference],
    cites: Sequence[Citation],
    sentences: Sequence[SentenceSupport],
    *,
    files_route: str | None = None,
    files_root: Path | None = None,
) -> str:
    """The sources panel: one card per reference number, with the paper, the passage the text
    cites and a flag on each weakly supported sentence that cites it."""
    if not references:
        return '<div class="sources-empty">No sources: this text cites none of your papers.</div>'
    cards = []
    for reference in references:
        paper = reference.paper
        quoted: dict[str, tuple[Passage, list[str]]] = {}
        for c in cites:
            if c.key == paper.key:
                claims = quoted.setdefault(c.passage.chunk_id, (c.passage, []))[1]
                if c.sentence < len(sentences):
                    claims.append(sentences[c.sentence].text)
        weak = [s for s in sentences if s.weak and paper.key in s.keys]
        attributed = [s for s in sentences if s.attributed and paper.key in s.keys]
        cards.append(
            _card(reference.number, paper, list(quoted.values()), weak, files_route, files_root, attributed)
        )
    return '<div class="sources">' + "".join(cards) + "</div>"


def earlier_sources(cards: str, count: int) -> str:
    """The cards of earlier answers in a conversation, folded under the latest answer's."""
    summary = f"<summary>Earlier in this conversation ({count})</summary>"
    return f'<details class="sources-earlier">{summary}{cards}</details>'


def _card(
    number: int,
    paper: Paper,
    passages: Sequence[tuple[Passage, Sequence[str]]],
    weak: Sequence[SentenceSupport],
    files_route: str | None,
    files_root: Path | None,
    attributed: Sequence[SentenceSupport] = (),
) -> str:
    e = html.escape
    meta = " · ".join(x for x in (paper.authors_line(), str(paper.year or ""), paper.venue or "") if x)
    link = paper_link(paper, files_route, files_root)
    title = e(paper.label)
    if link:
        title = f'<a href="{e(link)}" target="_blank" rel="noopener noreferrer">{title}</a>'
    parts = [
        f'<div class="source-card" id="source-{number}" data-number="{number}" data-key="{e(paper.key)}">',
        f'<div class="source-head"><span class="source-number">[{number}]</span> '
        f'<span class="source-title">{title}</span></div>',
        f'<div class="source-meta">{e(meta)} <code>{e(paper.key)}</code></div>',
    ]
    for passage, claims in passages:
        where = _where(passage.section, passage.page)
        parts.append(
            f'<blockquote class="source-passage">{excerpt(passage.text, claims)}{where}</blockquote>'
        )
    if attributed:
        parts.append(
            f'<div class="source-attributed">cited by litassist for {len(attributed)} sentence(s) the '
            "writer left uncited: this passage backs them</div>"
        )
    for sentence in weak:
        parts.append(
            f'<div class="source-weak" title="support {sentence.score:.2f}">⚠️ weakly supported: '
            f"“{e(sentence.text)}” (support {sentence.score:.2f})</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def excerpt(text: str, claims: Sequence[str], limit: int = PASSAGE_CHARS) -> str:
    """A passage as a card shows it (HTML): about ``limit`` characters, with the sentence that
    best matches each claim citing it marked (and shown even when it lies further in: two
    sentences of one answer may quote one passage), and the whole passage behind a click when
    it is longer."""
    e = html.escape
    marks = _quoted_sentences(text, claims)
    last = marks[-1][1] if marks else 0
    start = 0 if last <= limit else marks[0][0]
    end = _word_end(text, max(start + limit, last))
    shown = "… " if start else ""
    at = start
    for a, b in marks:
        shown += e(text[at:a]) + f"<mark>{e(text[a:b])}</mark>"
        at = b
    shown += e(text[at:end])
    if start or end < len(text):
        shown += (
            " …" if end < len(text) else ""
        ) + f"<details><summary>whole passage</summary>{e(text)}</details>"
    return shown


def _quoted_sentences(text: str, claims: Sequence[str]) -> list[tuple[int, int]]:
    """For each claim, the span of the passage's sentence whose words best overlap it, if any
    does enough; in the passage's order, each once."""
    spans = sentence_spans(text)
    found = set()
    for claim in claims:
        claim_words = _words(claim)
        best, best_overlap = None, MARK_OVERLAP
        for a, b in spans:
            words = _words(text[a:b])
            overlap = len(words & claim_words) / max(1, min(len(words), len(claim_words)))
            if overlap >= best_overlap:
                best, best_overlap = (a, b), overlap
        if best is not None:
            found.add(best)
    return sorted(found)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def _word_end(text: str, position: int) -> int:
    if position >= len(text):
        return len(text)
    space = text.find(" ", position)
    return len(text) if space == -1 else space


def _where(section: str | None, page: int | None) -> str:
    bits = [f"p. {page}" if page else "", section or ""]
    shown = ", ".join(b for b in bits if b)
    return f'<div class="source-where">{html.escape(shown)}</div>' if shown else ""


def _sentence(note: str) -> str:
    """A note (lower-case, no full stop: what the library writes) as a sentence."""
    return f"{note[:1].upper()}{note[1:]}."


def caveat(note: str | None) -> str:
    """A weak-evidence note as a markdown line above an answer ("" without one)."""
    return f"⚠️ {_sentence(note)}\n\n" if note else ""


def check_notes(
    grounded: bool,
    refused: bool,
    dropped: Sequence[str],
    sentences: Sequence[SentenceSupport],
    notes: Sequence[str] = (),
) -> str:
    """What the check found, as a short markdown line under a text ("" when all is well)."""
    shown = [f"ℹ️ {_sentence(note)}" for note in notes]
    if not grounded and not refused:
        shown.append("⚠️ This text cites none of your papers: it is not from your library.")
    attributed = sum(s.attributed for s in sentences)
    if attributed:
        shown.append(
            f"ℹ️ {attributed} sentence(s) cited by litassist: the writer left them uncited, and the "
            "passage that backs each is cited (marked in the sources)."
        )
    flagged = sum(s.flagged for s in sentences)
    if flagged and grounded and not refused:
        shown.append(f"⚠️ {flagged} sentence(s) uncited: nothing in the passages backs them clearly.")
    weak = sum(s.weak for s in sentences)
    if weak:
        shown.append(f"⚠️ {weak} sentence(s) weakly supported by the passages they cite (see the sources).")
    if dropped:
        shown.append("Removed citations of papers the model was not given: " + ", ".join(dropped) + ".")
    return "\n\n".join(shown)


# -- the library -------------------------------------------------------------------------------


def paper_rows(papers: Sequence[Paper], query: str = "") -> list[list[object]]:
    """The papers table, filtered: every word of ``query`` must occur in the key, the title,
    the authors, the year or the venue (case-insensitive)."""
    words = query.lower().split()
    rows: list[list[object]] = []
    for paper in papers:
        haystack = " ".join(
            [paper.key, paper.label, " ".join(paper.authors), str(paper.year or ""), paper.venue or ""]
        ).lower()
        if all(w in haystack for w in words):
            sources = ", ".join(Path(s.split("#", 1)[0]).name for s in paper.sources)
            rows.append([paper.key, paper.label, paper.authors_line(), paper.year or "", sources])
    return rows


def ingest_rows(report: IngestReport, names: dict[str, str] | None = None) -> list[list[object]]:
    """The per-file result of an upload: every paper added, every entry skipped or failed.
    ``names`` maps stored paths back to the names the user uploaded."""
    names = names or {}

    def shown(source: str) -> str:
        path, _, entry = source.partition("#")
        name = names.get(path, Path(path).name)
        return f"{name}#{entry}" if entry else name

    rows: list[list[object]] = [["added", p.key, p.label, ""] for p in report.added]
    rows += [[FULL_TEXT, p.key, p.label, ""] for p in report.full_texts]
    rows += [["skipped", o.key or "", shown(o.source), o.reason] for o in report.skipped]
    rows += [["failed", o.key or "", shown(o.source), o.reason] for o in report.failed]
    rows += [["updated", o.key or "", shown(o.source), o.reason] for o in report.updated]
    rows += [["missing", o.key or "", shown(o.source), o.reason] for o in report.missing]
    return rows


def ingest_summary(report: IngestReport) -> str:
    updated = f", {len(report.full_texts)} {FULL_TEXT}" if report.full_texts else ""
    counts = f"{len(report.added)} added{updated}, {len(report.skipped)} skipped, {len(report.failed)} failed"
    return f"**{counts}.**" + (" The rest went in; see the reasons below." if report.failed else "")


# -- drafts ------------------------------------------------------------------------------------


def outline_markdown(themes: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The draft's outline: a line per theme with its papers' keys."""
    return "\n".join(f"{i}. **{name}**: {', '.join(keys)}" for i, (name, keys) in enumerate(themes, 1))


def references_markdown(references: Sequence[Reference], styled: Mapping[str, str] | None = None) -> str:
    """A numbered list of references: in a CSL style where ``styled`` has them (key -> text),
    else authors, year and title; each with its key."""

    def text(paper: Paper) -> str:
        if styled and styled.get(paper.key):
            return f"{_md_escape(styled[paper.key])} `{paper.key}`"
        return _reference_text(paper)

    return "\n".join(f"{r.number}. {text(r.paper)}" for r in references)


def _md_escape(text: str) -> str:
    """Plain text shown as Markdown: its markup characters taken literally."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _reference_text(paper: Paper) -> str:
    parts = [paper.authors_line(), f"({paper.year})" if paper.year else "", f"*{paper.label}*"]
    return " ".join(p for p in parts if p) + f" `{paper.key}`"
