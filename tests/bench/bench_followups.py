"""Follow-ups without a model: whether the rule of ``assistant.followup`` keeps unrelated
questions apart and carries real follow-ups on, on conversations built from the development
questions, and what the second question's search then finds.

    .venv/bin/python tests/bench/bench_followups.py [--library DIR] [--no-search] [--details]

Two kinds of two-turn conversations:

- unrelated: each question of ``dev_qa.jsonl`` / ``dev_qa_more.jsonl`` (negatives included)
  followed by an answerable question about other papers (the next one in the files whose gold
  papers differ). It should be searched on its own.
- follow-ups: each single-paper question followed by a follow-up constructed here (the
  templates below, written for this bench: "How is it evaluated?", "And the results?"), which
  refers back to the paper. It should carry the first question on.

"before" is the behaviour the rule replaced: every question after the first carried the previous
search's words. Printed: how often each kind is treated right, and (unless ``--no-search``) the
second turn's Recall@5 of its gold papers (for follow-ups, the first question's paper) and how
often an answerable second question is refused, over the seeds library.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, SEED_FILES, seeds_library  # noqa: E402

from assistant.evaluation.gold import Question, Resolver, aliases, questions  # noqa: E402
from assistant.followup import refers_back, standalone  # noqa: E402

# follow-ups a reader asks about the paper just discussed: written for this bench, not taken
# from the evaluation data
FOLLOW_UPS = (
    "How is it evaluated?",
    "What datasets do they use?",
    "What are its limitations?",
    "How does this method compare with earlier work?",
    "And the results?",
    "Which baselines does it beat?",
    "What problem does it address?",
    "How do they train the model?",
    "What about its performance?",
    "Why does it work?",
    "Does the approach need labelled data?",
    "What is new about it?",
)

# written after the rule was settled on the rows above and measured once, unchanged since: a
# check that the rule was not fitted to them. Follow-ups, and standalone questions that a
# careless rule would carry on (a pronoun whose antecedent is in the question itself)
HELD_OUT_FOLLOW_UPS = (
    "Can you summarise its main contribution?",
    "Who are the authors?",
    "Is the code available?",
    "How big is their dataset?",
    "What does the model consist of?",
    "Were there any ablation studies?",
    "How fast is it?",
    "What metric did they report?",
    "Any limitations?",
    "Compared to what baselines?",
    "Does this work generalise to other domains?",
    "What architecture does the paper use?",
)
HELD_OUT_STANDALONE = (
    "Which papers use CLIP and what do they fine-tune?",
    "What is FSFM and how is it trained?",
    "How do diffusion models generate talking faces from audio?",
    "Which methods detect deepfakes and how well do they generalise?",
    "Is it possible to recognise facial expressions from video?",
    "What datasets exist for facial beauty prediction?",
    "Which works apply masked autoencoders to faces?",
    "How does Latent-OFER handle occluded faces?",
    "What are the main challenges of micro-expression recognition?",
    "Which survey covers face anti-spoofing?",
)


def conversations(
    all_questions: list[Question],
) -> tuple[list[tuple[Question, Question]], list[tuple[Question, str]]]:
    answerable = [q for q in all_questions if q.answerable]
    unrelated = []
    for index, first in enumerate(all_questions):
        for step in range(1, len(answerable)):
            second = answerable[(index + step) % len(answerable)]
            if second is not first and not set(map(str, second.gold)) & set(map(str, first.gold)):
                unrelated.append((first, second))
                break
    singles = [q for q in answerable if len(q.gold) == 1]
    follow_ups = [(q, FOLLOW_UPS[i % len(FOLLOW_UPS)]) for i, q in enumerate(singles)]
    return unrelated, follow_ups


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument("--no-search", action="store_true", help="the rule only, no library")
    parser.add_argument("--details", action="store_true", help="print the conversations the rule gets wrong")
    args = parser.parse_args()
    console = Console(width=150)
    unrelated, follow_ups = conversations([q for name in SEED_FILES for q in questions(EVAL / name)])
    apart = [not refers_back(second.question) for _, second in unrelated]
    carried = [refers_back(follow_up) for _, follow_up in follow_ups]
    table = Table(title="follow-up rule on constructed conversations")
    for column in ("conversations", "n", "right before", "right after"):
        table.add_column(column, justify="left" if column == "conversations" else "right")
    table.add_row("unrelated: kept apart", str(len(apart)), "0.00", f"{sum(apart) / len(apart):.2f}")
    table.add_row("follow-ups: carried on", str(len(carried)), "1.00", f"{sum(carried) / len(carried):.2f}")
    held_apart = [not refers_back(q) for q in HELD_OUT_STANDALONE]
    held_carried = [refers_back(q) for q in HELD_OUT_FOLLOW_UPS]
    table.add_row(
        "held out: standalone kept apart",
        str(len(held_apart)),
        "0.00",
        f"{sum(held_apart) / len(held_apart):.2f}",
    )
    table.add_row(
        "held out: follow-ups carried on",
        str(len(held_carried)),
        "1.00",
        f"{sum(held_carried) / len(held_carried):.2f}",
    )
    console.print(table)
    if args.details:
        for q, ok in [
            *zip(HELD_OUT_STANDALONE, held_apart, strict=True),
            *zip(HELD_OUT_FOLLOW_UPS, held_carried, strict=True),
        ]:
            if not ok:
                console.print(f"held out, wrong: {q}")
        for (_, second), ok in zip(unrelated, apart, strict=True):
            if not ok:
                console.print(f"carried on although unrelated: {second.question}")
        for (_, follow_up), ok in zip(follow_ups, carried, strict=True):
            if not ok:
                console.print(f"not carried on: {follow_up}")
    if args.no_search:
        return
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        resolver = Resolver(library.papers(), aliases(EVAL / "papers_index.jsonl"))
        retriever = library.retriever

        def found(query: str, gold: list[str]) -> tuple[float, bool]:
            retrieval = retriever.retrieve(query, k=5)
            keys = [h.paper.key for h in retrieval.hits[:5]] if retrieval.evidence.answerable else []
            return sum(g in keys for g in gold) / max(1, len(gold)), not retrieval.evidence.answerable

        results: dict[str, list[tuple[float, bool]]] = {}
        for first, second in unrelated:
            gold, _ = resolver.resolve_all(second.gold, second.evidence)
            carried_query = standalone(second.question, first.question)
            now = carried_query if refers_back(second.question) else second.question
            results.setdefault("unrelated before", []).append(found(carried_query, gold))
            results.setdefault("unrelated after", []).append(found(now, gold))
        for first, follow_up in follow_ups:
            gold, _ = resolver.resolve_all(first.gold, first.evidence)
            carried_query = standalone(follow_up, first.question)
            now = carried_query if refers_back(follow_up) else follow_up
            results.setdefault("follow-ups before", []).append(found(carried_query, gold))
            results.setdefault("follow-ups after", []).append(found(now, gold))
        searched = Table(title="the second turn's search (seeds library)")
        for column in ("conversations", "n", "Recall@5", "refused"):
            searched.add_column(column, justify="left" if column == "conversations" else "right")
        for name, values in results.items():
            recall = sum(v[0] for v in values) / len(values)
            refused = sum(v[1] for v in values) / len(values)
            searched.add_row(name, str(len(values)), f"{recall:.2f}", f"{refused:.2f}")
        console.print(searched)


if __name__ == "__main__":
    main()
