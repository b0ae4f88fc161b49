"""Cited answers and drafts written by real local models, on the development data over the seeds.

    .venv/bin/python tests/bench/bench_llm.py [--library DIR] [--models smollm2,qwen]
        [--variants text:400,text:0,json_object:400] [--limit N] [--no-drafts] [--save DIR]

For each model (SmolLM2-135M, and Qwen2.5-Coder-1.5B when `make local-qwen` installed it) this
starts `litassist serve-local --model ...` on a free loopback port (stopped by its PID at the
end) and runs what `litassist eval answers --stream` and `litassist eval drafts` run
(``evaluation.evaluate_answers`` / ``evaluate_drafts``) on ``../shared/eval/dev_qa.jsonl`` +
``dev_qa_more.jsonl`` and ``dev_topics.jsonl``. A variant is ``FORMAT:WORDS``: the reply format
(``text``: citations inline; ``json_object``: JSON sentences under a schema) and the words of
passages an answer's prompt holds (0: whole passages). Printed per model and variant: the share
of answer sentences with a valid citation (written by the model / attributed by the code), the
attributed citations that name the question's gold paper, gold papers cited, false refusals,
negatives refused, citations removed, support mean and 10th percentile, retries and extractive
fallbacks, seconds to the first text and per answer (medians); for drafts, gold recall and
precision, sections without citations and sections written extractively.

``--limit N`` takes the first N questions of each file (a quick look; the figures of a full run
are the ones to report). ``--save DIR`` writes each report as JSON (every question's answer).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_retrieval import EVAL, seeds_library  # noqa: E402

from assistant import Library, evaluation  # noqa: E402
from assistant.evaluation import AnswersReport, DraftsReport, report  # noqa: E402
from assistant.local_server import MODELS, QWEN, SMOLLM2, installed  # noqa: E402
from assistant.settings import LLMSettings  # noqa: E402
from tests.conftest import free_port, stop, wait_for  # noqa: E402

BIN = Path(sys.executable).parent
QUESTION_FILES = ("dev_qa.jsonl", "dev_qa_more.jsonl")
SHORT = {"smollm2": SMOLLM2.name, "qwen": QWEN.name}


@contextmanager
def served(model: str, console: Console) -> Iterator[str]:
    """`litassist serve-local --model MODEL` on a free loopback port (the tests' helpers start
    and stop it); its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        command = [str(BIN / "litassist"), "serve-local", "--model", model, "--port", str(port)]
        with log_path.open("wb") as log:
            process = subprocess.Popen([*command, "--context", "8192"], stdout=log, stderr=subprocess.STDOUT)
            try:
                url = f"http://127.0.0.1:{port}/v1"
                wait_for(f"{url}/models", process, log_path, timeout=600)  # Qwen's first start assembles it
                console.print(f"[dim]{model} at {url} (pid {process.pid})[/dim]")
                yield url
            finally:
                stop(process)


def questions(limit: int | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in QUESTION_FILES:
        lines = [json.loads(line) for line in (EVAL / name).read_text().splitlines() if line.strip()]
        rows += lines[:limit] if limit else lines
    return rows


def pct(value: float | None) -> str:
    return report.figure(value, "percent")


def summary_table(rows: list[tuple[str, AnswersReport, DraftsReport | None]]) -> Table:
    table = Table(
        title="Real models on the development data (answers: dev_qa + dev_qa_more; drafts: dev_topics)"
    )
    table.add_column("measure")
    for name, _, _ in rows:
        table.add_column(name, justify="right")
    answers = [a.summary() for _, a, _ in rows]
    drafts = [d.summary() if d is not None else None for _, _, d in rows]

    def line(label: str, values: list[str]) -> None:
        table.add_row(label, *values)

    line("questions (errors)", [f"{s['questions']} ({s['errors']})" for s in answers])
    line("sentences with a valid citation", [pct(s["cited_sentence_share"]) for s in answers])
    line("  written by the model", [pct(s["written_sentence_share"]) for s in answers])
    line("  attributed by the code", [pct(s["attributed_sentence_share"]) for s in answers])
    line("attributed citations on the gold paper", [pct(s["attributed_right"]) for s in answers])
    line("citation validity", [pct(s["citation_validity"]) for s in answers])
    line("gold papers cited", [report.figure(s["gold_cited"]) for s in answers])
    line("false refusals", [f"{pct(s['false_refusal_rate'])} of {s['answerable']}" for s in answers])
    line("negatives refused", [f"{pct(s['refusal_rate'])} of {s['negatives']}" for s in answers])
    line("invented citations removed", [str(s["removed_citations"]) for s in answers])
    line("support mean / 10th percentile", [
        f"{report.figure(s['support_mean'])} / {report.figure(s['support_p10'])}" for s in answers
    ])  # fmt: skip
    line("declined: asked again / extractive", [f"{s['retried']} / {s['fell_back']}" for s in answers])
    line("first text, median s", [f"{s['first_text_p50']:.1f}" for s in answers])
    line(
        "whole answer, median s (mean)",
        [f"{s['seconds_p50']:.1f} ({s['seconds_per_answer']:.1f})" for s in answers],
    )
    if any(d is not None for d in drafts):
        line("drafts: gold recall / precision", [
            "–" if d is None else f"{report.figure(d['recall'])} / {report.figure(d['precision'])}"
            for d in drafts
        ])  # fmt: skip
        line("drafts: core recall", ["–" if d is None else report.figure(d["core_recall"]) for d in drafts])
        line("drafts: sections (without citations)", [
            "–" if d is None else f"{d['sections']} ({d['uncited_sections']})" for d in drafts
        ])  # fmt: skip
        line("drafts: sections written extractively", [
            "–" if d is None else str(d["extractive_sections"]) for d in drafts
        ])  # fmt: skip
        line("drafts: sentences cited (attributed)", [
            "–" if d is None else f"{pct(d['cited_sentence_share'])} ({pct(d['attributed_sentence_share'])})"
            for d in drafts
        ])  # fmt: skip
        line("drafts: removed / seconds each", [
            "–" if d is None else f"{d['removed_citations']} / {d['seconds_per_draft']:.0f}" for d in drafts
        ])  # fmt: skip
    return table


def combination_table(name: str, answers: AnswersReport) -> Table:
    """What letting the model's refusal stand would give, by the evidence score below which it
    stands (1.0: never, the shipped rule; the evidence judgement refuses below 1.0 itself)."""
    table = Table(title=f"{name}: a model's refusal stands below an evidence score of ...")
    for column in ("score", "negatives refused", "false refusals"):
        table.add_column(column, justify="right")
    done = [c for c in answers.cases if c.error is None]
    negatives = [c for c in done if not c.question.answerable]
    answerable = [c for c in done if c.question.answerable]
    for limit in (1.0, 1.1, 1.2, 1.3, 1.5, 2.0, float("inf")):

        def refused(c: Any, limit: float = limit) -> bool:
            return c.refused or (c.model_declined and c.evidence is not None and c.evidence < limit)

        table.add_row(
            "always" if limit == float("inf") else f"{limit:.1f}",
            f"{sum(map(refused, negatives))}/{len(negatives)}",
            f"{sum(map(refused, answerable))}/{len(answerable)}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", type=Path, help="reuse (or build once) the seeds library in this folder")
    parser.add_argument("--models", default="smollm2,qwen", help="comma-separated: smollm2, qwen")
    parser.add_argument("--variants", default="text:400", help="comma-separated FORMAT:WORDS (see above)")
    parser.add_argument("--limit", type=int, help="the first N questions of each file only")
    parser.add_argument("--no-drafts", action="store_true", help="answers only")
    parser.add_argument("--save", type=Path, help="write every report as JSON into this folder")
    args = parser.parse_args()
    console = Console(width=160)
    rows: list[tuple[str, AnswersReport, DraftsReport | None]] = []
    papers = EVAL / "papers_index.jsonl"
    data = questions(args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        library = seeds_library(args.library or Path(tmp) / "seeds", console)
        for short in args.models.split(","):
            model = MODELS[SHORT.get(short, short)]
            if not installed(model):
                console.print(f"[yellow]{model.name} is not installed ({model.install}): left out[/yellow]")
                continue
            with served(model.name, console) as url:
                for variant in args.variants.split(","):
                    fmt, words = variant.split(":")
                    llm = LLMSettings(
                        base_url=url, model=model.name, timeout=900, max_retries=0,
                        response_format=fmt, prompt_words=int(words),  # type: ignore[arg-type]
                    )  # fmt: skip
                    view: Library = library.using(llm)
                    name = f"{short} {variant}"
                    start = time.perf_counter()
                    answers = evaluation.evaluate_answers(view, data, papers=papers, stream=True, mode="llm")
                    drafts = None
                    if not args.no_drafts:
                        drafts = evaluation.evaluate_drafts(view, EVAL / "dev_topics.jsonl", mode="llm")
                    console.print(f"[dim]{name}: {time.perf_counter() - start:.0f} s[/dim]")
                    rows.append((name, answers, drafts))
                    console.print(combination_table(name, answers))
                    if args.save:
                        args.save.mkdir(parents=True, exist_ok=True)
                        slug = name.replace(" ", "_").replace(":", "-")
                        (args.save / f"{slug}-answers.json").write_text(
                            json.dumps(answers.to_dict(), indent=1)
                        )
                        if drafts is not None:
                            (args.save / f"{slug}-drafts.json").write_text(
                                json.dumps(drafts.to_dict(), indent=1)
                            )
                    console.print(summary_table(rows))
    console.print(f"[dim]{os.cpu_count()} cores; {len(data)} questions[/dim]")


if __name__ == "__main__":
    main()
