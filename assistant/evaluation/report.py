"""An evaluation report for people: rich tables for the terminal, and an HTML page with every
question's details (retrieved papers, answer, the gold papers that were missed)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from assistant.evaluation import AnswersReport, DraftsReport, Report, RetrievalReport
from assistant.evaluation.checks import LOW_PERCENTILE
from assistant.evaluation.drafts import DraftCase
from assistant.evaluation.retrieval import DEPTH
from assistant.fusion import RETRIEVERS

TEMPLATE = Path(__file__).with_name("report.html.j2")


def figure(value: float | int | None, kind: str = "ratio") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "percent":
        return f"{value:.0%}"
    if kind == "count":
        return f"{value}"
    return f"{value:.3f}"


def tables(report: Report) -> list[Table]:
    if isinstance(report, RetrievalReport):
        return _retrieval_tables(report)
    if isinstance(report, AnswersReport):
        return [_checks_table(report, f"Answers, {report.mode} mode ({report.writer})")]
    return [_drafts_table(report), _checks_table(report, f"Drafts, {report.mode} mode ({report.writer})")]


def _retrieval_tables(report: RetrievalReport) -> list[Table]:
    summary = report.summary()
    groups = [*report.types, "all"]
    ranking = Table(title=f"Paper-level retrieval (Recall@{report.k}, MRR@{DEPTH}, nDCG@{DEPTH})")
    ranking.add_column("retriever")
    ranking.add_column("metric")
    for group in groups:
        n = summary["retrievers"]["hybrid"][group]["n"]
        ranking.add_column(f"{group} ({n})", justify="right")
    for retriever in RETRIEVERS:
        rows = summary["retrievers"][retriever]
        for i, metric in enumerate((f"recall@{report.k}", f"mrr@{DEPTH}", f"ndcg@{DEPTH}")):
            ranking.add_row(
                retriever if i == 0 else "",
                metric,
                *(figure(rows[g][metric]) for g in groups),
                end_section=i == 2,
            )
    judged = Table(title="Refusal (the evidence judgement, before any model is called)")
    judged.add_column("operating point", justify="right")
    judged.add_column("unanswerable refused", justify="right")
    judged.add_column("of them keyword queries", justify="right")
    judged.add_column("answerable refused (false refusals)", justify="right")
    judged.add_column("answered with the weak-evidence caveat: unanswerable / answerable", justify="right")
    r = summary["refusal"]
    point, caution = r["operating_point"], r["caution_point"]
    judged.add_row(
        "–" if point is None else f"P(answerable) ≥ {point:.3f}",
        f"{r['negatives_refused']}/{r['negatives']} = {figure(r['refusal_rate'], 'percent')}",
        f"{r['keyword_negatives_refused']}/{r['keyword_negatives']}",
        f"{r['false_refusals']}/{r['answerable']} = {figure(r['false_refusal_rate'], 'percent')}",
        "–" if caution is None else f"P < {caution:.3f}: {r['negatives_weak']} / {r['answerable_weak']}",
    )
    return [ranking, judged]


def _checks_table(report: AnswersReport | DraftsReport, title: str) -> Table:
    s = report.summary()
    rows: list[tuple[str, str]] = []
    if isinstance(report, AnswersReport):
        rows += [
            ("questions (errors)", f"{s['questions']} ({s['errors']})"),
            ("unanswerable refused", f"{figure(s['refusal_rate'], 'percent')} of {s['negatives']}"),
            ("false refusals", f"{figure(s['false_refusal_rate'], 'percent')} of {s['answerable']}"),
            ("gold papers cited", figure(s["gold_cited"])),
            ("cited papers that are gold or partial", figure(s["cited_relevant"])),
            ("attributed citations on a gold paper", figure(s["attributed_right"], "percent")),
            ("model declined, asked again", figure(s["retried"], "count")),
            ("model declined twice: extractive", figure(s["fell_back"], "count")),
        ]
    else:
        rows += [
            ("sections (without citations)", f"{s['sections']} ({s['uncited_sections']})"),
            ("sections the model declined: extractive", figure(s["extractive_sections"], "count")),
        ]
    rows += [
        ("citation validity", f"{figure(s['citation_validity'], 'percent')} of {s['citations']}"),
        ("invented citations removed", figure(s["removed_citations"], "count")),
        ("sentences with a citation", figure(s["cited_sentence_share"], "percent")),
        ("  cited by the writer", figure(s["written_sentence_share"], "percent")),
        ("  attributed by the code", figure(s["attributed_sentence_share"], "percent")),
        ("support: mean", figure(s["support_mean"])),
        (f"support: {LOW_PERCENTILE}th percentile", figure(s[f"support_p{LOW_PERCENTILE}"])),
        ("numbers in no cited passage", figure(s["unsupported_numbers"], "count")),
    ]
    seconds = s.get("seconds_per_answer", s.get("seconds_per_draft"))
    rows.append(("seconds each (mean)", _seconds(seconds)))
    if isinstance(report, AnswersReport):
        rows.append(("seconds each (median)", _seconds(s["seconds_p50"])))
        rows.append(("seconds to the first text (median, streamed)", _seconds(s["first_text_p50"])))
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def _seconds(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"


def _drafts_table(report: DraftsReport) -> Table:
    table = Table(title="Related-work drafts against each topic's gold papers")
    for column in ("topic", "recall", "precision", "core recall", "cited", "words"):
        table.add_column(column, justify="left" if column == "topic" else "right", max_width=48)
    for case in report.cases:
        if case.error:
            table.add_row(escape(case.topic.topic), f"[red]{escape(case.error)}[/red]", "", "", "", "")
            continue
        table.add_row(
            escape(case.topic.topic),
            figure(case.recall),
            figure(case.precision),
            figure(case.core_recall),
            str(len(case.cited)),
            str(case.words),
        )
    s = report.summary()
    table.add_row(
        "[bold]mean[/bold]", figure(s["recall"]), figure(s["precision"]), figure(s["core_recall"]), "", ""
    )
    return table


def notes(report: Report) -> list[str]:
    """What a reader must know besides the figures: gold references that matched no paper,
    questions that failed."""
    lines = []
    for case in report.cases:
        label = case.topic.id if isinstance(case, DraftCase) else case.question.id
        for problem in case.unresolved:
            lines.append(f"{label}: gold {problem} - left out of the scores")
        error = getattr(case, "error", None)
        if error:
            lines.append(f"{label}: failed - {error}")
    return lines


def html(report: Report) -> str:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["figure"] = figure
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    data = report.to_dict()
    return template.render(
        report=data,
        kind=data["kind"],
        tables=[_table_rows(t) for t in tables(report)],
        notes=notes(report),
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        depth=DEPTH,
    )


def _table_rows(table: Table) -> dict[str, object]:
    """A rich table's title, header and cells, for the HTML page."""
    columns = [str(c.header) for c in table.columns]
    cells = [[Text.from_markup(str(cell)).plain for cell in column._cells] for column in table.columns]
    rows = [list(row) for row in zip(*cells, strict=True)] if cells else []
    return {"title": str(table.title or ""), "columns": columns, "rows": rows}
