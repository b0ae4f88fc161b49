"""Comparison tables across papers, every cell cited: topic (or keys) → the papers → per paper,
results (task, dataset, metric, value) and the columns the user names → a ``Table`` whose every
cell holds the sentence and passage it was read from, exported as markdown (``[@key]``), CSV,
LaTeX (``\\cite{key}``) and the BibTeX of the cited papers.

A cell is evidence, never a guess: a number in a cell must occur in its sentence (``88.14%``,
``88.14 %`` and ``0.8814`` are the same number), a dataset, metric or task name must occur in its
sentence; a cell nothing supports stays empty and the row says why. Extractively, result
sentences are read with patterns over the dataset and metric names the library itself uses;
with a model, the model fills the columns per paper under a JSON schema and the code checks each
cell as above, dropping (and reporting) those that fail.

Hand-written: the result-sentence patterns and the short list of metric names below. The
packages that extract results from papers (axcell, SciREX's models) need trained models or
LaTeX sources; none works on plain passages offline.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import prompts
from assistant import export
from assistant.errors import InvalidRequestError, PaperNotFoundError
from assistant.generation import Mode, ResponseFormat, choose_mode
from assistant.llm import Chat, LLMError, Usage
from assistant.selection import Selection
from store.acronyms import mine
from store.paper import Chunk, Paper
from store.sentences import split_sentences

log = logging.getLogger(__name__)

RESULT_COLUMNS = ("task", "dataset", "metric", "value")
Better = Literal["higher", "lower"]

# -- numbers ------------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![\w.])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?![\d])"
    r"(?P<pct>\s*\\?(?:%|percent\b|per cent\b))?"
)


@dataclass(frozen=True)
class Number:
    """A number as written: its value, whether it is a percentage, and where it stands."""

    value: Decimal
    percent: bool
    start: int
    end: int
    text: str


def numbers_in(text: str) -> list[Number]:
    """Every number in ``text`` (thousands separators read, a ``%`` or "percent" after it noted)."""
    found = []
    for m in _NUMBER.finditer(text):
        try:
            value = Decimal(m.group("num").replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            continue
        found.append(Number(value, bool(m.group("pct")), m.start(), m.end(), m.group(0)))
    return found


def same_number(a: Number, b: Number) -> bool:
    """Whether two written numbers are the same quantity: equal, or one a percentage of the
    other's fraction (``88.14%`` and ``0.8814``)."""
    if a.value == b.value:
        return True
    if a.percent == b.percent:
        return False
    percent, other = (a, b) if a.percent else (b, a)
    return other.value < 1 and percent.value == other.value * 100


def numbers_supported(value: str, sentence: str) -> list[str]:
    """The numbers of ``value`` that do not occur in ``sentence`` (empty: all do)."""
    there = numbers_in(sentence)
    return [n.text for n in numbers_in(value) if not any(same_number(n, m) for m in there)]


# -- names --------------------------------------------------------------------------------------

# metric names, case-insensitive words and case-sensitive acronyms; the library's own acronyms
# for rates, scores and errors are added per table
_METRIC_WORDS = (
    r"top-?[15] (?:accuracy|error)|(?:overall |mean |average |balanced |weighted |unweighted |"
    r"classification |recognition |verification |test |validation |exact[- ]match )?accuracy|"
    r"(?:macro|micro|weighted)[- ]?F1|F1[- ]?scores?|F[- ]?scores?|F[- ]?measure|F1|exact match|"
    r"precision|recall|(?:(?:diacriti[cz]\w*|character|word|segment|sentence|label|equal|classification|"
    r"tagging|relative|phone|token) )?error rate|perplexity|correlation|BLEU(?:-\d)?|"
    r"ROUGE(?:-(?:\d|L|SU4))?|METEOR|CIDEr|chrF\+*|TER|BERTScore|mAP|AUC|ROC-AUC|EER|FID|PSNR|SSIM|"
    r"LPIPS|mIoU|IoU|WER|CER|MAE|RMSE|NME|UAR|WAR|CCC|LAS|UAS|EM|Acc|Pearson's r|Spearman's rho"
)
_METRIC = re.compile(rf"(?<![\w-])(?:{_METRIC_WORDS})(?![\w-])", re.IGNORECASE)
_METRIC_HEAD = re.compile(
    r"\b(rate|recall|accuracy|precision|score|error|ratio|distance|similarity|correlation|"
    r"coefficient|measure|F1|ranks?)$",
    re.IGNORECASE,
)
_LOWER_BETTER = re.compile(r"\blower is better\b|\(lower[^)]*better\)|↓", re.IGNORECASE)
_HIGHER_BETTER = re.compile(r"\bhigher is better\b|\(higher[^)]*better\)|↑", re.IGNORECASE)

# a name as datasets are written: capitals or digits inside it, or a capitalised word run before
# "dataset", "benchmark", "corpus"
_NAME = r"[A-Z][\w'+]*(?:[-./][\w'+]+)*\+?|\d+[A-Za-z][\w-]*"
_NAMED = re.compile(rf"(?<![\w-])(?:{_NAME})(?![\w-])")
_DATASET_WORD = (
    r"(?:data ?sets?|benchmarks?|corpus|corpora|test ?sets?|treebanks?|databases?|challenge|shared task)"
)
_BEFORE_DATASET_WORD = re.compile(rf"(?<![\w-])((?:{_NAME})(?:\s+(?:{_NAME}))*)\s+{_DATASET_WORD}\b")
_DATASET_WORD_THEN = re.compile(rf"\b{_DATASET_WORD}\s*,?\s+(?:called\s+|named\s+)?((?:{_NAME}))")
_NOT_DATASET = {
    "we", "our", "the", "this", "these", "it", "in", "on", "a", "an", "and", "or", "to", "with", "by",
    "for", "of", "from", "as", "at", "however", "moreover", "furthermore", "experiments",
    "extensive", "results", "finally", "code", "sota", "state", "table", "fig", "figure", "section",
    "ours", "further", "then", "thus", "also", "both", "all", "each", "many", "several",
}  # fmt: skip

# words written with a capital before "set" or "corpus" that name no dataset
_GENERIC = {
    "training", "train", "test", "testing", "development", "dev", "validation", "evaluation",
    "held-out", "new", "large", "small", "public", "standard", "benchmark", "data", "set",
}  # fmt: skip

# the slots a dataset stands in after a result: "on RAF-DB", "RAF-DB with 88.14%"
_TASK_HEAD = (
    r"recognition|detection|classification|translation|segmentation|parsing|summari[sz]ation|"
    r"generation|retrieval|estimation|reconstruction|question answering|tagging|labell?ing|"
    r"verification|identification|extraction|resolution|alignment|prediction|tracking|"
    r"captioning|inference|analysis|understanding|matching|linking|disambiguation|modell?ing|"
    r"completion|editing|synthesis|anti-spoofing|forgery detection"
)
_TASK = re.compile(rf"\b((?:[a-z][\w-]*\s+){{0,3}}(?:{_TASK_HEAD}))\b", re.IGNORECASE)
_TASK_STOP = {
    "the", "a", "an", "for", "of", "and", "in", "on", "our", "to", "with", "is", "this", "that",
    "we", "from", "by", "as", "are", "its", "their", "both", "such", "which", "while", "or",
    "improves", "improve", "achieves", "enables", "based", "via", "using", "robust", "accurate",
    "effective", "efficient", "new", "novel", "existing", "previous", "current", "performs",
    "outperforms", "state-of-the-art", "task", "tasks", "more", "better", "further", "deep",
}  # fmt: skip

# a number that is a change, a share or a count, not a result: "improves by 3%", "3% higher",
# "only 0.48% of the parameters", "up to 13% improvement"
_DELTA_BEFORE = re.compile(
    r"(?:\bby|\bup to|\breduc\w*|\bimprov\w*|\bgains?|\bincreas\w*|\bboost\w*|\bdecreas\w*|\blowers?"
    r"|\brelative|\babsolute|\bover|\babout|\baround|\bnearly|\balmost|\bonly|\bmargin of|\bthan"
    r"|\btop|\bfrom|\bwithin|\bat least|\bmore than|\bless than|[+±]|\bbetween)\s*(?:of\s+)?(?:an?\s+)?"
    r"(?:average\s+(?:of\s+)?)?$",
    re.IGNORECASE,
)
_DELTA_AFTER = re.compile(
    r"^\s*(?:\w+\s+)?(?:improvement|gain|higher|lower|better|worse|increase|decrease|reduction|fewer|"
    r"less|more|faster|slower|speed|drop|relative|absolute|points?|pp\b|of\b|to\b|-\s?\d|–\s?\d|"
    r"×|x\b|times|smaller|larger|boost|margin|improved|lift|compared|over\b|above|below)",
    re.IGNORECASE,
)
_LISTED = re.compile(r"(?:\d[\d.,]*\s*(?:\\?%|percent)?\s*(?:,\s*and|,|and|or)\s+)+$", re.IGNORECASE)
_RESPECTIVELY = re.compile(r"\brespectively\b", re.IGNORECASE)


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z+]+", "", text.lower())


def _occurs(name: str, text: str) -> bool:
    """Whether ``name`` occurs in ``text`` as words (case and punctuation aside)."""
    needle = _norm(name)
    return bool(needle) and needle in _norm(text)


@dataclass
class Vocabulary:
    """The dataset and metric names of the papers a table reads, as the library itself writes
    them: names before "dataset"/"benchmark", names a result is reported on, and acronyms the
    papers define for a rate, a score or an error (``store.acronyms``)."""

    datasets: set[str] = field(default_factory=set)
    metrics: set[str] = field(default_factory=set)
    defined: dict[str, str] = field(default_factory=dict)  # acronyms the papers define

    def may_be_dataset(self, name: str) -> bool:
        """Whether a name in a dataset's slot can be one: written as dataset names are (two
        capitals, or letters and digits: "RAF-DB", "FERPlus", "WSJ", "BP4D+"), not a metric, and
        not an acronym the papers define for something else (a method, a task)."""
        lower = name.lower()
        if lower in _NOT_DATASET or lower in _GENERIC or _METRIC.fullmatch(name) or lower in self.metrics:
            return False
        long = self.defined.get(lower)
        if long is not None and not re.search(_DATASET_WORD, long, re.IGNORECASE):
            return False
        capitals = sum(ch.isupper() for ch in name)
        mixed = any(ch.isdigit() for ch in name) and any(ch.isalpha() for ch in name)
        return len(name) >= 3 and (capitals >= 2 or mixed) and not re.fullmatch(r"\d+[A-Za-z]{0,2}", name)

    @classmethod
    def of(cls, texts: Sequence[str]) -> Vocabulary:
        vocabulary = cls()
        vocabulary.defined = mine(texts)
        for short, long in vocabulary.defined.items():
            if _METRIC_HEAD.search(long):
                vocabulary.metrics.add(short)
                vocabulary.metrics.add(long.lower())
        for text in texts:
            for m in _BEFORE_DATASET_WORD.finditer(text):
                names = m.group(1).split()
                while names and (names[0].lower() in _NOT_DATASET or names[0].lower() in _GENERIC):
                    names = names[1:]
                name = names[-1] if len(names) > 3 else " ".join(names)
                if name and (len(names) > 1 or vocabulary.may_be_dataset(name)):
                    vocabulary.datasets.add(name)
            for m in _DATASET_WORD_THEN.finditer(text):
                if vocabulary.may_be_dataset(m.group(1)):
                    vocabulary.datasets.add(m.group(1))
        vocabulary.datasets -= {d for d in vocabulary.datasets if d.lower() in vocabulary.metrics}
        return vocabulary

    def metric_spans(self, sentence: str) -> list[tuple[int, int, str]]:
        spans = [(m.start(), m.end(), m.group(0)) for m in _METRIC.finditer(sentence)]
        for name in self.metrics:
            if len(name) < 2:
                continue
            for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence, re.IGNORECASE):
                if " " not in name and not any(ch.isupper() for ch in m.group(0)):
                    continue  # a mined short form counts written with its capitals, as acronyms are
                spans.append((m.start(), m.end(), m.group(0)))
        return _longest(spans)


def _longest(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping spans, longer ones first, in reading order."""
    chosen: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
            chosen.append(span)
    return sorted(chosen)


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A value and where it was read: ``sentence`` exactly as in ``passage``."""

    value: str
    sentence: str
    passage: str
    chunk_id: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {"value": self.value, "sentence": self.sentence, "passage": self.passage}


@dataclass
class Row:
    """One result of one paper (or, for a paper without results, its other columns). ``missing``:
    why a column stays empty; ``unit`` and ``better`` when the value or its passage says so."""

    key: str
    cells: dict[str, Cell | None]
    missing: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    better: Better | None = None

    def value(self, column: str) -> str | None:
        cell = self.cells.get(column)
        return cell.value if cell else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "cells": {c: (cell.to_dict() if cell else None) for c, cell in self.cells.items()},
            "missing": self.missing,
            "unit": self.unit,
            "better": self.better,
        }


@dataclass(frozen=True)
class Dropped:
    """A cell a model filled that its passages do not support, left out of every export."""

    key: str
    column: str
    value: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class Table:
    """A comparison table: one row per result of a paper, every cell with its source sentence.
    ``markdown`` cites as ``[@key]``, ``latex`` as ``\\cite{key}``, ``bibtex`` holds exactly the
    papers of the rows."""

    topic: str
    columns: list[str]
    rows: list[Row]
    papers: dict[str, Paper]
    mode: Mode
    dropped: list[Dropped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    @property
    def cited_keys(self) -> list[str]:
        """The papers of the rows, in row order."""
        return list(dict.fromkeys(r.key for r in self.rows))

    @property
    def cells(self) -> list[tuple[Row, str, Cell]]:
        """Every filled cell with its row and column."""
        return [(r, c, cell) for r in self.rows for c, cell in r.cells.items() if cell is not None]

    def _shown(self, row: Row, column: str) -> str:
        value = row.value(column)
        return "" if value is None else value

    @property
    def markdown(self) -> str:
        """A pipe table; the paper column cites as ``[@key]``, an empty cell is ``–``."""

        def escape(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        header = ["paper", *self.columns]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in self.rows:
            cells = [f"[@{row.key}]"] + [escape(self._shown(row, c)) or "–" for c in self.columns]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    @property
    def csv(self) -> str:
        """One line per row: the key, then each column's value (empty when unsupported)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["key", *self.columns])
        for row in self.rows:
            writer.writerow([row.key] + [self._shown(row, c) for c in self.columns])
        return buffer.getvalue()

    @property
    def latex(self) -> str:
        """A ``tabular`` with ``\\cite{key}`` per row (pair it with ``bibtex``)."""
        spec = "l" * (len(self.columns) + 1)
        lines = [f"\\begin{{tabular}}{{{spec}}}", "\\hline"]
        lines.append(
            " & ".join(export.latex_escape(c.capitalize()) for c in ["paper", *self.columns]) + " \\\\"
        )
        lines.append("\\hline")
        for row in self.rows:
            cells = [f"\\cite{{{row.key}}}"] + [
                (export.latex_escape(self._shown(row, c)) or "--") for c in self.columns
            ]
            lines.append(" & ".join(cells) + " \\\\")
        lines += ["\\hline", "\\end{tabular}"]
        return "\n".join(lines)

    @property
    def bibtex(self) -> str:
        """BibTeX entries of exactly the papers in the table."""
        return export.bibtex(self.papers[k] for k in self.cited_keys)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "mode": self.mode,
            "columns": self.columns,
            "rows": [r.to_dict() for r in self.rows],
            "dropped": [d.to_dict() for d in self.dropped],
            "notes": self.notes,
            "usage": self.usage.to_dict(),
        }

    def __str__(self) -> str:
        return self.markdown


# -- reading a paper ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    text: str
    passage: Chunk


@dataclass(frozen=True)
class Result:
    """A result read from one sentence: the value, and the names found for it."""

    value: str
    number: Number
    sentence: Sentence
    dataset: str | None
    metric: str | None
    task: str | None = None


def _in_abstract(passage: Chunk) -> bool:
    return (passage.section or "").lower() == "abstract" or passage.ordinal == 0


def sentences_of(passages: Sequence[Chunk]) -> list[Sentence]:
    return [Sentence(s, p) for p in passages for s in split_sentences(p.text)]


def _dataset_spans(
    sentence: str, vocabulary: Vocabulary, metrics: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Dataset names in ``sentence``: the vocabulary's, and names in a dataset's slot ("on X",
    "X with 88.1%", "X (88.1%)")."""
    spans = []
    for name in vocabulary.datasets:
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence):
            spans.append((m.start(), m.end(), name))
    for m in _NAMED.finditer(sentence):
        name = m.group(0)
        if not vocabulary.may_be_dataset(name):
            continue
        before = sentence[max(0, m.start() - 30) : m.start()]
        after = sentence[m.end() : m.end() + 25]
        if re.match(r"\s*(?:et al\b|\(\d{4}|,\s*\d{4}|\d{4}\))", after):
            continue  # an author cited, not a dataset
        in_slot = re.search(
            r"\b(?:on|in|over|across|for)\s+(?:the\s+)?(?:[\w-]+\s+,?\s*|[\w'+-]+,\s*)*$", before
        )
        listed = re.search(r"(?:,|\band)\s+(?:the\s+)?$", before) and spans
        followed = re.match(r"\s*(?:\(|with\b|:|=)\s*\d", after) or re.match(rf"\s+{_DATASET_WORD}\b", after)
        if in_slot or listed or followed:
            spans.append((m.start(), m.end(), name))
    overlapping = metrics
    return [s for s in _longest(spans) if all(s[1] <= o[0] or s[0] >= o[1] for o in overlapping)]


def _is_result(number: Number, sentence: str) -> bool:
    """A value worth a row: a percentage or a decimal, not a year, a count or a change."""
    if not number.percent and "." not in number.text:
        return False
    # a number listed after others is what they are: "reduces the error by 29.2% and 15.7%"
    before = _LISTED.sub("", sentence[max(0, number.start - 60) : number.start])
    after = sentence[number.end : number.end + 30]
    return not (_DELTA_BEFORE.search(before) or _DELTA_AFTER.match(after))


def _nearest(position: int, spans: list[tuple[int, int, str]], sentence: str) -> str | None:
    """The span nearest to ``position`` in the same clause (no ";" between), or None."""
    best: tuple[int, str] | None = None
    for start, end, name in spans:
        lo, hi = (end, position) if end <= position else (position, start)
        if ";" in sentence[lo:hi]:
            continue
        # a comma between a value and a name after it: "RAF-DB with 88.14%, FERPlus with 88.81%"
        distance = hi - lo + (20 if end > position and "," in sentence[lo:hi] else 0)
        if best is None or distance < best[0]:
            best = (distance, name)
    return best[1] if best else None


def _tasks(sentence: str) -> list[str]:
    """Tasks named in ``sentence``: a head ("recognition", "tagging") and the noun-like words
    right before it ("facial expression recognition", "part-of-speech tagging"), every length."""
    found = []
    for m in _TASK.finditer(sentence):
        *before, head = m.group(1).split()
        words = [head]
        for word in reversed(before):
            if word.lower() in _TASK_STOP or (re.search(r"(ed|ly|s)$", word) and not word.endswith("ss")):
                break
            words.insert(0, word)
        found += [" ".join(words[i:]) for i in range(len(words) - 1)]
        if head.lower() in {"translation", "summarization", "summarisation", "parsing"}:
            found.append(head)
    return found


def _task(sentence: str) -> str | None:
    found = _tasks(sentence)
    return found[0] if found else None


def paper_task(sentences: Sequence[Sentence]) -> str | None:
    """The task a paper names most often (twice at least; the longer name on a tie)."""
    counts: dict[str, int] = {}
    for s in sentences:
        for name in dict.fromkeys(t.lower() for t in _tasks(s.text)):
            counts[name] = counts.get(name, 0) + 1
    best = max(counts.items(), key=lambda kv: (kv[1], len(kv[0].split())), default=None)
    return best[0] if best and best[1] >= 2 else None


def _listed(spans: list[tuple[int, int, str]], text: str) -> bool:
    """Whether the names are one list ("on FERV39K, MAFW, and DFEW")."""
    return all(
        re.fullmatch(r"\s*(?:,|\band\b|&|/|,\s*and\b)\s*(?:the\s+)?", text[a[1] : b[0]])
        for a, b in itertools.pairwise(spans)
    )


def _ranges(numbers: list[Number], text: str) -> list[Number]:
    """Numbers with a range joined into one value: "94%-95%", "94 to 95%"."""
    out: list[Number] = []
    for n in numbers:
        last = out[-1] if out else None
        joined = last is not None and re.fullmatch(r"\s*(?:[-–]|to)\s*", text[last.end : n.start])
        if (
            last is not None
            and joined
            and last.value < n.value
            and not re.search(r"\d\s*(?:[-–]|to)\s*\d", last.text)
        ):
            out[-1] = Number(n.value, last.percent or n.percent, last.start, n.end, text[last.start : n.end])
        else:
            out.append(n)
    return out


def results_of(sentence: Sentence, vocabulary: Vocabulary) -> list[Result]:
    """The results one sentence reports: "achieves 88.14% accuracy on RAF-DB", "RAF-DB with
    88.14%, FERPlus with 88.81%", "WAR of 53.65%, 58.44% and 73.34% on FERV39K, MAFW and DFEW
    respectively"."""
    text = sentence.text
    numbers = [n for n in _ranges(numbers_in(text), text) if _is_result(n, text)]
    if not numbers:
        return []
    metrics = vocabulary.metric_spans(text)
    datasets = _dataset_spans(text, vocabulary, metrics)
    if not metrics and not datasets:
        return []
    task = _task(text)
    pairs: list[tuple[Number, str | None, str | None]] = []
    distinct = list(dict.fromkeys(d[2] for d in datasets))
    if (
        len(numbers) > 1
        and len(distinct) == len(numbers)
        and (_RESPECTIVELY.search(text) or all(d[0] > numbers[-1].end for d in datasets))
    ):
        for number, name in zip(numbers, distinct, strict=True):
            pairs.append((number, name, _nearest(number.start, metrics, text)))
    elif (
        len(numbers) > 1
        and len(metrics) == len(numbers)
        and len(distinct) <= 1
        and _RESPECTIVELY.search(text)
    ):
        for number, (_, _, metric) in zip(numbers, metrics, strict=True):
            pairs.append((number, distinct[0] if distinct else None, metric))
    else:
        for number in numbers:
            dataset = _nearest(number.start, datasets, text) if datasets else None
            if len(numbers) == 1 and len(distinct) > 1 and _listed(datasets, text):
                dataset = None  # one value for a list of datasets: an average, or unclear
            pairs.append((number, dataset, _nearest(number.start, metrics, text)))
    return [
        Result(n.text.strip().replace("\\%", "%"), n, sentence, dataset, metric, task)
        for n, dataset, metric in pairs
        if dataset is not None or metric is not None
    ]


def _unit(number: Number) -> str | None:
    return "%" if number.percent else None


def _better(sentence: str, passage: str) -> Better | None:
    for text in (sentence, passage):
        if _LOWER_BETTER.search(text):
            return "lower"
        if _HIGHER_BETTER.search(text):
            return "higher"
    return None


def _cell(value: str, sentence: Sentence) -> Cell:
    return Cell(value, sentence.text, sentence.passage.text, sentence.passage.id)


def _find(name: str, sentences: Sequence[Sentence], first: Sentence | None = None) -> Cell | None:
    """A cell for ``name`` from the first sentence that holds it (``first`` tried first)."""
    for s in ([first] if first else []) + list(sentences):
        m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", s.text, re.IGNORECASE)
        if m:
            return _cell(s.text[m.start() : m.end()], s)
    return None


_NUMERIC_COLUMN = re.compile(
    r"param|size|layers?|flops|time|speed|latency|memory|tokens?|count|number|hours|epochs|batch|dimension",
    re.IGNORECASE,
)
_MAGNITUDE = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s*(?:[KMBT]\b|[kmb]\b|million|billion|thousand|GB|MB|k\b|%)?", re.IGNORECASE
)
_PHRASE_AFTER = re.compile(
    r"^\s*(?:is|are|was|were|of|:|=|such as|including|like|based on|built on|uses?|using)?\s*"
    r"(?:an?\s+|the\s+)?"
    r"((?:[\w'+./-]+)(?:\s+[A-Z0-9][\w'+./-]*){0,3})"
)


def column_cell(column: str, sentences: Sequence[Sentence]) -> Cell | None:
    """A user-named column ("backbone", "training data", "parameters") from the first sentence
    that names it: a number with its magnitude next to it for a quantity, else the name-like
    words next to it ("a ViT-B backbone", "backbone: ResNet-50"). None when no sentence names it."""
    words = [w for w in re.findall(r"[\w-]+", column.lower()) if len(w) > 2]
    if not words:
        return None
    stem = "|".join(re.escape(w.rstrip("s")) for w in words)
    mention = re.compile(rf"\b(?:{stem})\w*", re.IGNORECASE)
    for s in sentences:
        m = mention.search(s.text)
        if m is None:
            continue
        if _NUMERIC_COLUMN.search(column):
            amounts = [a for a in _MAGNITUDE.finditer(s.text) if abs(a.start() - m.start()) < 40]
            if amounts:
                best = min(amounts, key=lambda a: abs(a.start() - m.start()))
                return _cell(best.group(0).strip(), s)
            continue
        before = list(_NAMED.finditer(s.text[max(0, m.start() - 30) : m.start()]))
        if before and s.text[max(0, m.start() - 30) : m.start()].rstrip().endswith(before[-1].group(0)):
            return _cell(before[-1].group(0), s)
        after = _PHRASE_AFTER.match(s.text[m.end() :])
        if after and re.search(r"[A-Z0-9]", after.group(1)):
            return _cell(after.group(1).rstrip(".,;"), s)
    return None


# -- checking a model's cells ------------------------------------------------------------------


def check_cell(column: str, value: str, candidates: Sequence[Sentence]) -> Cell | str:
    """A model's ``value`` for ``column`` as a cell read from the first of ``candidates`` that
    supports it (its numbers all occur there, after normalisation, and so do its words), or why
    none does."""
    value = value.strip()
    if not value:
        return "empty"
    numbers = numbers_in(value)
    has_numbers = bool(numbers)
    rest = value
    for n in reversed(numbers):
        rest = rest[: n.start] + " " + rest[n.end :]
    words = re.findall(r"[A-Za-z]{2,}", rest)
    for s in candidates:
        if has_numbers:
            if numbers_supported(value, s.text) or not all(_occurs(w, s.text) for w in words):
                continue
        elif not _occurs(value, s.text):
            continue
        return _cell(value, s)
    if has_numbers and re.fullmatch(r"[\d.,%\s\\–-]+|[\d.,]+\s*(?:percent|per cent)", value):
        return f"the number {value!r} is in no sentence of its passages"
    return f"{value!r} is in no sentence of its passages"


def table_schema(columns: Sequence[str]) -> dict[str, Any]:
    cell = {
        "type": "object",
        "properties": {"value": {"type": "string"}, "passage": {"type": "integer"}},
        "required": ["value", "passage"],
    }
    return {
        "type": "object",
        "properties": {
            "rows": {
                "type": "array",
                "items": {"type": "object", "properties": {c: cell for c in columns}},
            }
        },
        "required": ["rows"],
    }


# -- the builder --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableParameters:
    # a paper is in when its topic score counting its closest abstract window
    # (assistant.selection: Selection.near) reaches this, fitted for F2 on the development
    # topics (tests/bench/bench_selection.py: 0.75; leave-one-topic-out 0.75 to 0.78) ...
    threshold: float = 0.75
    # ... or when its passages' hybrid score is this share of the best paper's (the rule before):
    # a results query ("part-of-speech tagging accuracy") is answered by papers that report the
    # number without being about it; a paper without results adds no row, so the wider set
    # costs little precision
    passage_threshold: float = 0.35
    min_papers: int = 2
    read_factor: int = 2  # the papers read for a table of max_papers: at most this many times as many
    rows_per_paper: int = 12  # the abstract's results first, then the body's
    model_passages: int = 4  # the passages of a paper a model reads (those with most results)
    max_tokens: int = 600


Select = Callable[[str, Sequence[str] | None], Selection]


class Tabulator:
    """Builds tables: selects the papers, reads each, lines the rows up."""

    def __init__(
        self,
        papers: Callable[[str], Paper | None],
        chunks: Callable[[str], list[Chunk]],
        select: Select,
        chat: Chat | None,
        parameters: TableParameters | None = None,
        response_format: ResponseFormat = "text",
    ):
        self._paper = papers
        self._chunks = chunks
        self._select = select
        self.chat = chat
        self.parameters = parameters or TableParameters()
        self.response_format = response_format

    def compare(
        self,
        topic_or_keys: str | Sequence[str],
        *,
        columns: Sequence[str] | None = None,
        max_papers: int = 12,
        mode: Mode | None = None,
    ) -> Table:
        mode = choose_mode(mode, self.chat, "build a table")
        extra = [c.strip() for c in columns or () if c.strip() and c.strip().lower() not in RESULT_COLUMNS]
        all_columns = [*RESULT_COLUMNS, *dict.fromkeys(extra)]
        if isinstance(topic_or_keys, str):
            topic = topic_or_keys.strip()
            if not topic:
                raise InvalidRequestError("the topic is empty: say what the table compares, or give keys")
            found = self._select(topic, None)
            chosen = found.chosen(self.parameters.threshold, self.parameters.passage_threshold, near=True)
            if len(chosen) < self.parameters.min_papers:
                chosen = list(found.near)[: self.parameters.min_papers]
        else:
            chosen = list(dict.fromkeys(topic_or_keys))
            if not chosen:
                raise InvalidRequestError("no papers to compare: give their keys or a topic")
            topic = ", ".join(chosen)
        # ``max_papers`` counts the papers in the table: a paper read without a result (a row
        # with a value, or with one of the user's columns) takes no place, so the papers are read
        # in order, up to ``read_factor`` times as many, until that many have one
        papers: dict[str, Paper] = {}
        for key in chosen[: self.parameters.read_factor * max_papers]:
            paper = self._paper(key)
            if paper is None:
                raise PaperNotFoundError(
                    f"No paper with key {key!r} in the library - list the keys with `litassist papers`"
                )
            papers[key] = paper
        passages = {k: self._chunks(k) for k in papers}
        vocabulary = Vocabulary.of([c.text for cs in passages.values() for c in cs])
        table = Table(topic, all_columns, [], {}, mode)
        placed: set[str] = set()
        for key, paper in papers.items():
            if len(placed) >= max_papers:
                break
            table.papers[key] = paper
            if mode == "llm":
                rows = self._by_model(key, passages[key], all_columns, table)
            else:
                rows = self._extract(key, passages[key], extra, vocabulary, table.notes)
            kept = [r for r in (_verified(row, table) for row in rows) if r is not None]
            table.rows += kept
            if any(r.cells.get("value") or any(r.cells.get(c) for c in extra) for r in kept):
                placed.add(key)
        table.rows = _line_up(table.rows)
        no_rows = [k for k in table.papers if k not in table.cited_keys]
        if no_rows:
            table.notes.append(f"no result in the passages of: {', '.join(no_rows)}")
        if table.dropped:
            table.notes.append(f"{len(table.dropped)} cells dropped: their passages do not hold them")
        return table

    # -- extractive

    def _extract(
        self, key: str, passages: list[Chunk], extra: list[str], vocabulary: Vocabulary, notes: list[str]
    ) -> list[Row]:
        sentences = sentences_of(passages)
        found: list[Result] = []
        seen: set[tuple[str | None, str | None, Decimal]] = set()
        for s in sentences:
            for r in results_of(s, vocabulary):
                if not _in_abstract(s.passage) and (r.dataset is None or r.metric is None):
                    continue  # in the body (tables, comparisons), a result names both
                if (r.dataset, r.metric, r.number.value) not in seen:
                    seen.add((r.dataset, r.metric, r.number.value))
                    found.append(r)
        if len(found) > self.parameters.rows_per_paper:
            notes.append(f"{key}: {len(found) - self.parameters.rows_per_paper} more results left out")
            found = found[: self.parameters.rows_per_paper]
        main_task = paper_task(sentences)
        # a paper that names one metric only: a result sentence without a name reports it
        named = {_norm(m[2]): (m[2], s) for s in sentences for m in vocabulary.metric_spans(s.text)}
        only_metric = next(iter(named.values())) if len(named) == 1 else None
        # ... and an abstract that names one dataset only: its results without a name are on it
        abstract = [s for s in sentences if _in_abstract(s.passage)]
        names = {_norm(d[2]): (d[2], s) for s in abstract for d in _dataset_spans(s.text, vocabulary, [])}
        only_dataset = next(iter(names.values())) if len(names) == 1 else None
        own = {c: column_cell(c, sentences) for c in extra}
        rows = []
        for r in found:
            cells: dict[str, Cell | None] = {"value": _cell(r.value, r.sentence)}
            missing: dict[str, str] = {}
            for column, name in (("dataset", r.dataset), ("metric", r.metric)):
                cells[column] = _cell(name, r.sentence) if name else None
                if name is None and column == "metric" and only_metric is not None:
                    cells[column] = _cell(*only_metric)
                elif (
                    name is None and column == "dataset" and only_dataset and _in_abstract(r.sentence.passage)
                ):
                    cells[column] = _cell(*only_dataset)
                elif name is None:
                    missing[column] = f"the sentence of {r.value} names no {column}"
            task = main_task
            cells["task"] = _find(task, sentences, r.sentence) if task else None
            if cells["task"] is None:
                missing["task"] = "no sentence of the paper names its task"
            for column, cell in own.items():
                cells[column] = cell
                if cell is None:
                    missing[column] = f"no sentence of the paper names its {column}"
            rows.append(
                Row(key, {c: cells.get(c) for c in [*RESULT_COLUMNS, *extra]}, missing, _unit(r.number),
                    _better(r.sentence.text, r.sentence.passage.text))
            )  # fmt: skip
        if not rows and any(own.values()):
            cells = {c: None for c in RESULT_COLUMNS}
            cells |= own
            missing = {c: "no result in the paper's passages" for c in RESULT_COLUMNS}
            missing |= {c: f"no sentence of the paper names its {c}" for c, v in own.items() if v is None}
            rows.append(Row(key, cells, missing))
        return rows

    # -- with a model

    def _by_model(self, key: str, passages: list[Chunk], columns: list[str], table: Table) -> list[Row]:
        chat = self.chat
        assert chat is not None
        paper = table.papers[key]
        chosen = sorted(passages, key=lambda c: -sum(_is_result(n, c.text) for n in numbers_in(c.text)))[
            : self.parameters.model_passages
        ]
        chosen.sort(key=lambda c: c.ordinal)
        shown = [{"label": i, "text": c.text} for i, c in enumerate(chosen, 1)]
        prompt = prompts.load("table")
        messages = prompt.messages(
            title=paper.title or paper.label, year=paper.year, passages=shown, columns=columns
        )
        schema = table_schema(columns)
        response_format: dict[str, Any] | None = None
        if self.response_format == "json_schema":
            response_format = {"type": "json_schema", "json_schema": {"name": "table", "schema": schema}}
        elif self.response_format == "json_object":
            response_format = {"type": "json_object", "schema": schema}
        try:
            completion = chat.complete(
                messages, max_tokens=self.parameters.max_tokens, response_format=response_format
            )
        except LLMError as e:
            table.notes.append(f"{key}: the model failed ({e}); its row is read extractively")
            vocabulary = Vocabulary.of([c.text for c in passages])
            return self._extract(key, passages, columns[len(RESULT_COLUMNS) :], vocabulary, table.notes)
        table.usage += completion.usage
        items = _json_rows(completion.text)
        if items is None:
            table.notes.append(f"{key}: the model's reply is not the JSON asked for; no row from it")
            return []
        everything = sentences_of(passages)
        rows = []
        for item in items:
            item = _numbers_placed(item, key, table)
            cells: dict[str, Cell | None] = {}
            missing: dict[str, str] = {}
            # the value first: the row's other cells are looked for in its sentence first
            for column in sorted(columns, key=lambda c: c != "value"):
                raw = item.get(column)
                value, label = _value_and_label(raw)
                if not value:
                    cells[column] = None
                    missing[column] = "the model left it empty"
                    continue
                labelled = [chosen[label - 1]] if label is not None and 1 <= label <= len(chosen) else []
                candidates = sentences_of(labelled) + [s for s in everything if s.passage not in labelled]
                found = cells.get("value")
                if found is not None:
                    candidates = [s for s in candidates if s.text == found.sentence] + candidates
                checked = check_cell(column, value, candidates)
                if isinstance(checked, Cell):
                    cells[column] = checked
                else:
                    cells[column] = None
                    missing[column] = "dropped: " + checked
                    table.dropped.append(Dropped(key, column, value, checked))
            cells = {c: cells.get(c) for c in columns}
            if any(cells.values()):
                value_cell = cells.get("value")
                number = numbers_in(value_cell.value) if value_cell else []
                rows.append(
                    Row(key, cells, missing, _unit(number[0]) if number else None,
                        _better(value_cell.sentence, value_cell.passage) if value_cell else None)
                )  # fmt: skip
        return rows


def _verified(row: Row, table: Table) -> Row | None:
    """``row`` with every cell checked once more against its own sentence (its numbers, after
    normalisation, and its words occur there; the sentence is in its passage): a cell that fails
    is dropped and reported. None when nothing is left."""
    for column, cell in row.cells.items():
        if cell is None:
            continue
        why = None
        if cell.sentence not in cell.passage:
            why = "its sentence is not in its passage"
        elif missing := numbers_supported(cell.value, cell.sentence):
            why = f"the number {', '.join(missing)} is not in its sentence"
        elif not numbers_in(cell.value) and not _occurs(cell.value, cell.sentence):
            why = f"{cell.value!r} is not in its sentence"
        if why is not None:
            row.cells[column] = None
            row.missing[column] = "dropped: " + why
            table.dropped.append(Dropped(row.key, column, cell.value, why))
    return row if any(row.cells.values()) else None


_BARE_NUMBER = re.compile(r"[\s\d.,%±+\-−]*\d[\s\d.,%±+\-−]*")
_NAME_COLUMNS = ("task", "dataset", "metric")


def _numbers_placed(item: dict[str, Any], key: str, table: Table) -> dict[str, Any]:
    """A model's row with a bare number ("88.14%") written in a name column (task, dataset,
    metric) moved to the empty value column, as a small model does when the passage names no
    metric; a bare number in a name column beside a value is dropped and reported: a metric is
    a name, not a number."""
    placed = dict(item)
    for column in _NAME_COLUMNS:
        value, _ = _value_and_label(placed.get(column))
        if not value or not _BARE_NUMBER.fullmatch(value):
            continue
        if not _value_and_label(placed.get("value"))[0]:
            placed["value"] = placed[column]
        else:
            table.dropped.append(Dropped(key, column, value, f"a number is not a {column}"))
        placed[column] = None
    return placed


def _json_rows(reply: str) -> list[dict[str, Any]] | None:
    text = reply.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        return None
    return [r.get("cells", r) if isinstance(r, dict) else {} for r in rows if isinstance(r, dict)]


def _value_and_label(raw: Any) -> tuple[str, int | None]:
    if isinstance(raw, dict):
        value = raw.get("value")
        label = raw.get("passage")
        return (str(value).strip() if value is not None else ""), (label if isinstance(label, int) else None)
    if isinstance(raw, (str, int, float)):
        return str(raw).strip(), None
    return "", None


def _line_up(rows: list[Row]) -> list[Row]:
    """Rows of one dataset and metric together (the groups in order of first appearance, the
    best value first where the table knows which way is better), so that values compare."""

    def name(row: Row, column: str) -> str:
        return _norm(row.value(column) or "")

    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((name(row, "dataset"), name(row, "metric")), []).append(row)
    ordered: list[Row] = []
    for members in groups.values():
        if len(members) > 1:

            def number(row: Row) -> Decimal:
                found = numbers_in(row.value("value") or "")
                return found[0].value if found else Decimal(0)

            lower = any(r.better == "lower" for r in members)
            members = sorted(members, key=number, reverse=not lower)
        ordered += members
    return ordered
