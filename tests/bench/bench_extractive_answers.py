"""Which sentences an extractive answer quotes, before and after the evidence filters and the
definition preference (``assistant.extractive.evidence`` / ``answer_scores``), on the development
questions over the seed papers.

    .venv/bin/python tests/bench/bench_extractive_answers.py [--library DIR] [--details]

Every answerable question of ``dev_qa.jsonl`` and ``dev_qa_more.jsonl`` is searched once; both
selections then quote from the same hits. "before" is the selection as it was (a copy of it
below: each leading paper's sentence of 6-80 words closest to the question, any sentence).
Printed per question type and for definition questions ("What is X", "What does X do"):

- quote: the share of questions whose answer contains a gold paper's evidence quote (a verbatim
  sentence fragment of its abstract that answers the question);
- facts: the mean share of the reference answer's content words found in the answer;
- facts≥½: the share of questions where at least half of them are;
- evidence: the mean share of a question's gold papers whose evidence quote the answer holds;
- sentences: the mean number of sentences quoted; refused: answers with no sentence at all.

Then ``extractive.TERM_WEIGHT`` (how much a sentence's share of the question's rare terms counts
in which of a paper's sentences is quoted first) by 5-fold cross-validation over the questions:
each fold takes the weight of ``WEIGHTS`` whose answers hold the most evidence (the share above)
on the other folds; printed are every weight's figure on all questions and the held-out one.

The development questions hold one definition question, so definition questions are also built
from the papers' titles: "What is X?" for every paper whose title has a name part ("MaskGWM: A
Generalizable Driving World Model ..."), half of them as "What does X do?". The title's
description is the paper's own account of what X is, independent of the sentence choice: printed
are the share of its content words in the sentence quoted from the paper (title words), the
share of questions where that is at least half, and how often the paper is quoted at all.

``--pdf FILE`` also asks a full-text PDF (a library of that file alone, e.g.
``../shared/peer-docs/pasa.pdf``) the questions given with ``--pdf-question`` and prints both
answers and where each quoted sentence comes from.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, SEED_FILES, seeds_library  # noqa: E402

import prompts  # noqa: E402
from assistant import Library  # noqa: E402
from assistant.answer import EXTRACT_SCORE_MARGIN, EXTRACT_SENTENCE_RATIO, Answerer  # noqa: E402
from assistant.calibration import folds  # noqa: E402
from assistant.evaluation.gold import Resolver, aliases, questions  # noqa: E402
from assistant.extractive import TERM_WEIGHT, definition_subject  # noqa: E402
from assistant.passages import Hit  # noqa: E402
from assistant.retrieval import strip_question  # noqa: E402
from store.embedder import Embedder  # noqa: E402
from store.sentences import sentence_spans  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
STOP = frozenset(
    "the and for with from that this which their they them its into than then were was are has have "
    "been also both each such more most over under using used uses based while when where what whose "
    "how does about between among other only can could would should will".split()
)


def before(embedder: Embedder, query: str, hits: Sequence[Hit]) -> str:
    """The selection as it was before the evidence filters (commit b439929's ``_extract``)."""
    candidates: list[tuple[int, str, str]] = []
    leaders = [h for h in hits if h.score >= hits[0].score - EXTRACT_SCORE_MARGIN] if hits else []
    for rank, hit in enumerate(leaders):
        for passage in hit.passages[:2]:
            for a, b in sentence_spans(passage.text):
                sentence = passage.text[a:b].strip()
                if 6 <= len(sentence.split()) <= 80:
                    candidates.append((rank, hit.paper.key, sentence))
    if not candidates:
        return prompts.REFUSAL
    vectors = embedder.embed([strip_question(query), *(s for _, _, s in candidates)])
    scores = vectors[1:] @ vectors[0]
    best: dict[str, tuple[float, int, str]] = {}
    for (rank, key, sentence), score in zip(candidates, scores, strict=True):
        if key not in best or score > best[key][0]:
            best[key] = (float(score), rank, sentence)
    top = max(s for s, _, _ in best.values())
    chosen = sorted((r, k, s) for k, (sc, r, s) in best.items() if sc >= EXTRACT_SENTENCE_RATIO * top)[:5]
    return " ".join(f"{s.rstrip().rstrip('.').strip()} [@{k}]." for _, k, s in chosen)


def normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def content_words(text: str) -> set[str]:
    return {w for w in normal(text).split() if len(w) >= 4 and w not in STOP}


def measure(answer: str, quotes: Sequence[str], reference: str) -> tuple[bool, float, float, int]:
    wanted = content_words(reference)
    facts = len(wanted & content_words(answer)) / len(wanted) if wanted else 0.0
    held = evidence_held(answer, quotes)
    return held > 0, facts, held, len(sentence_spans(answer)) if answer != prompts.REFUSAL else 0


def evidence_held(answer: str, quotes: Sequence[str]) -> float:
    """The share of the evidence quotes (one per gold paper) the answer holds."""
    text = normal(answer)
    kept = [q for q in quotes if q]
    return sum(normal(q) in text for q in kept) / len(kept) if kept else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument("--details", action="store_true", help="print the definition questions' answers")
    parser.add_argument("--pdf", type=Path, help="also ask this PDF (a library of it alone)")
    parser.add_argument(
        "--pdf-question", action="append", default=[], help="a question for --pdf (repeatable)"
    )
    args = parser.parse_args()
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        resolver = Resolver(library.papers(), aliases(EVAL / "papers_index.jsonl"))
        answerer = Answerer(library.retriever, library.embedder, None, library.store.chunk_vectors)
        rows: dict[str, dict[str, list[tuple[bool, float, float, int]]]] = {}
        asked: list[tuple[str, list[Hit], Mapping[str, float], list[str]]] = []
        for question in (q for name in SEED_FILES for q in questions(EVAL / name)):
            if not question.answerable or not question.answer:
                continue
            keys, _ = resolver.resolve_all(question.gold, question.evidence)
            quotes = list(question.evidence.values())
            retrieval = library.retriever.retrieve(question.question, k=5)
            hits = retrieval.hits
            read = answerer.with_openings(question.question, hits)
            asked.append((question.question, read, retrieval.terms, quotes))
            old = before(library.embedder, question.question, hits)
            new = answerer._extract(question.question, read, question.question, retrieval.terms)
            slices = [question.type, "all"]
            if definition_subject(question.question):
                slices.append("definition")
                if args.details:
                    console.print(
                        f"[bold]{question.question}[/] gold {keys}\n  before: {old}\n  after:  {new}"
                    )
            for name in slices:
                for when, text in (("before", old), ("after", new)):
                    rows.setdefault(name, {}).setdefault(when, []).append(
                        measure(text, quotes, question.answer)
                    )
        table = Table(title="extractive answers on the development questions (seeds library, k=5)")
        for column in ("slice", "n", "", "quote", "facts", "facts≥½", "evidence", "sentences", "refused"):
            table.add_column(column, justify="left" if column in ("slice", "") else "right")
        for name, by_when in rows.items():
            for when, values in by_when.items():
                quoted = np.mean([v[0] for v in values])
                facts = np.mean([v[1] for v in values])
                half = np.mean([v[1] >= 0.5 for v in values])
                held = np.mean([v[2] for v in values])
                sentences = np.mean([v[3] for v in values])
                refused = sum(v[3] == 0 for v in values)
                table.add_row(
                    name if when == "before" else "",
                    str(len(values)) if when == "before" else "",
                    when,
                    f"{quoted:.2f}",
                    f"{facts:.2f}",
                    f"{half:.2f}",
                    f"{held:.2f}",
                    f"{sentences:.1f}",
                    str(refused),
                )
        console.print(table)
        term_weight(answerer, asked, console)
        definitions(library, answerer, console, args.details)
        if args.pdf:
            pdf_answers(args.pdf, args.pdf_question, console)


def term_weight(
    answerer: Answerer,
    asked: Sequence[tuple[str, list[Hit], Mapping[str, float], list[str]]],
    console: Console,
) -> None:
    """``TERM_WEIGHT``, cross-validated: the evidence the answers hold under each weight."""
    held = np.array(
        [
            [
                evidence_held(answerer._extract(q, hits, q, terms, term_weight=w), quotes)
                for q, hits, terms, quotes in asked
            ]
            for w in WEIGHTS
        ]
    )
    fold = np.array(folds([str(i) for i in range(len(asked))], 5, seed=0))
    out, chosen = np.zeros(len(asked)), []
    for f in range(5):
        best = int(np.argmax(held[:, fold != f].mean(axis=1)))  # the first of equals: the smaller weight
        chosen.append(WEIGHTS[best])
        out[fold == f] = held[best, fold == f]
    table = Table(
        title=f"which of a paper's sentences is quoted first: the term weight ({len(asked)} questions)"
    )
    for column in ("weight", "evidence held"):
        table.add_column(column, justify="right")
    for w, row in zip(WEIGHTS, held, strict=True):
        table.add_row(f"{w:g}" + (" (shipped)" if w == TERM_WEIGHT else ""), f"{row.mean():.3f}")
    table.add_row("cross-validated", f"{out.mean():.3f} (folds: {', '.join(f'{w:g}' for w in chosen)})")
    console.print(table)


def definitions(library: Library, answerer: Answerer, console: Console, details: bool) -> None:
    """'What is X?' for every paper with a name in its title, scored by the title's words."""
    scored: dict[str, list[tuple[float, bool]]] = {}
    named = [(p, *p.title.split(":", 1)) for p in library.papers() if p.title and ":" in p.title]
    named = [(p, name.strip(), about) for p, name, about in named if 0 < len(name.split()) <= 3]
    for index, (paper, name, about) in enumerate(named):
        question = f"What is {name}?" if index % 2 == 0 else f"What does {name} do?"
        retrieval = library.retriever.retrieve(question, k=5)
        hits = retrieval.hits
        wanted = content_words(about)
        for when, text in (
            ("before", before(library.embedder, question, hits)),
            (
                "after",
                answerer._extract(
                    question, answerer.with_openings(question, hits), question, retrieval.terms
                ),
            ),
        ):
            own = [m.group(1) for m in re.finditer(rf"([^.]*?)\s*\[@{re.escape(paper.key)}\]", text)]
            share = len(wanted & content_words(" ".join(own))) / len(wanted) if wanted and own else 0.0
            scored.setdefault(when, []).append((share, bool(own)))
            if details and when == "after" and share < 0.5:
                console.print(f"[bold]{question}[/] ({about.strip()})\n  {' | '.join(own) or '(not quoted)'}")
    table = Table(
        title=f"definition questions built from {len(named)} titles: the paper's sentence vs its title"
    )
    for column in ("", "title words", "title words≥½", "paper quoted"):
        table.add_column(column, justify="left" if not column else "right")
    for when, values in scored.items():
        table.add_row(
            when,
            f"{np.mean([v[0] for v in values]):.2f}",
            f"{np.mean([v[0] >= 0.5 for v in values]):.2f}",
            f"{np.mean([v[1] for v in values]):.2f}",
        )
    console.print(table)


def pdf_answers(pdf: Path, asked: Sequence[str], console: Console) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "pdf")
        library.add(pdf)
        answerer = Answerer(library.retriever, library.embedder, None, library.store.chunk_vectors)
        for question in asked:
            retrieval = library.retriever.retrieve(question, k=5)
            hits = retrieval.hits
            read = answerer.with_openings(question, hits)
            where = {p.text: f"p. {p.page}, {p.section or 'no section'}" for h in read for p in h.passages}
            for when, text in (
                ("before", before(library.embedder, question, hits)),
                ("after", answerer._extract(question, read, question, retrieval.terms)),
            ):
                console.print(f"[bold]{question}[/] {when}: {text}")
                for sentence in re.findall(r"([^.]*?)\s*\[@", text):
                    found = next((w for t, w in where.items() if sentence.strip()[:40] in t), "?")
                    console.print(f"    from {found}")


if __name__ == "__main__":
    main()
