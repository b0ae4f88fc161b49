"""Evaluation data: questions and survey topics in JSON Lines, and their gold papers resolved
to the library's keys.

A gold paper may be written as a citation key, as a title, or as a distinctive fragment of its
abstract (so gold data can be written before the keys are known), or as a name that a *papers
file* (``papers_index.jsonl`` beside the data, or ``--papers``) maps to one of those. Texts are
compared as lower-cased letters and digits only. A reference that matches no paper, or several,
is reported and left out of the scores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from assistant.errors import EvaluationDataError
from store.paper import Paper, normalise

MIN_FRAGMENT = 20  # normalised characters an abstract fragment needs to be distinctive
MIN_TITLE_PART = 12  # ... and the part of a title
MIN_TITLE_START = 4  # ... and the start of one
KEYWORD_WORDS = 8  # a phrase of at most this many words, without a question mark, is a keyword query
NAME_FIELDS = ("slug", "id", "name")
TARGET_FIELDS = ("key", "title", "abstract", "abstract_start")

Reference = str | dict[str, str]


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    type: str  # "negative" when no paper answers it
    gold: list[Reference]
    partial: list[Reference] = field(default_factory=list)  # borderline: neither hit nor miss
    answer: str | None = None  # a reference answer, shown in the HTML report
    evidence: dict[str, str] = field(default_factory=dict)  # gold name -> a quote of its abstract

    @property
    def answerable(self) -> bool:
        return bool(self.gold)

    @property
    def keyword(self) -> bool:
        """A keyword query: a short phrase, not a sentence asking ("crowd counting density
        maps"). The data marks none; its keyword queries are the questions without a question
        mark, all of a few words. Reported as a slice of its own beside the types."""
        text = self.question.strip()
        return not text.endswith("?") and len(text.split()) <= KEYWORD_WORDS


@dataclass
class QuestionCase:
    """A question with its gold papers found in the library (what an evaluation adds to it)."""

    question: Question
    gold: list[str]
    partial: list[str]
    unresolved: list[Unresolved]

    @classmethod
    def of(cls, question: Question, resolver: Resolver) -> Self:
        gold, unresolved = resolver.resolve_all(question.gold, question.evidence)
        partial, more = resolver.resolve_all(question.partial, question.evidence)
        return cls(question, gold, partial, unresolved + more)

    def fields(self) -> dict[str, object]:
        q = self.question
        return {
            "id": q.id,
            "question": q.question,
            "type": q.type,
            "gold": self.gold,
            "partial": self.partial,
            "unresolved": [str(u) for u in self.unresolved],
        }


@dataclass(frozen=True)
class Topic:
    id: str
    topic: str
    gold: list[Reference]
    core: list[Reference] = field(default_factory=list)  # papers any good draft must cite


@dataclass(frozen=True)
class Unresolved:
    reference: str
    problem: str

    def __str__(self) -> str:
        return f"{self.reference!r}: {self.problem}"


def _describe(reference: Reference) -> str:
    return reference if isinstance(reference, str) else json.dumps(reference)


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a JSON Lines file with their line numbers; blank lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvaluationDataError(f"{path}: no such file - give the path of a .jsonl file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EvaluationDataError(f"{path}: cannot be read ({e})") from e
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise EvaluationDataError(
                f"{path}, line {number}: not JSON ({e.args[0]}) - each line holds one JSON object"
            ) from None
        if not isinstance(row, dict):
            raise EvaluationDataError(f"{path}, line {number}: a JSON object is expected, not {row!r:.40}")
        rows.append((number, row))
    if not rows:
        raise EvaluationDataError(f"{path}: holds no questions or topics")
    return rows


def _references(value: Any, where: str, name: str) -> list[Reference]:
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        raise EvaluationDataError(f"{where}: {name!r} must be a list of keys, titles or abstract fragments")
    for item in value:
        text = isinstance(item, str) and bool(item.strip())
        one = isinstance(item, dict) and len(item) == 1 and next(iter(item)) in TARGET_FIELDS
        if not (text or one):
            raise EvaluationDataError(
                f"{where}: {name!r} holds {item!r:.60}; write a key, a title or an abstract fragment "
                'as a string, or one of {"key": ...}, {"title": ...}, {"abstract": ...}'
            )
    return [item.strip() if isinstance(item, str) else dict(item) for item in value]


def _text(row: Mapping[str, Any], name: str, where: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise EvaluationDataError(f"{where}: {name!r} is missing or empty")
    return value.strip()


def questions(source: str | Path | Sequence[Mapping[str, Any]]) -> list[Question]:
    """Questions from a JSON Lines file (or already-parsed rows): ``question``, ``gold`` (``[]``:
    no paper answers it), and optionally ``id``, ``type``, ``partial``, ``answer``."""
    result = []
    for number, row, where in _rows(source):
        if "gold" not in row:  # a forgotten field must not score as an unanswerable question
            raise EvaluationDataError(
                f"{where}: 'gold' is missing; list the papers that answer it, or write \"gold\": [] "
                "for a question no paper answers"
            )
        gold = _references(row.get("gold"), where, "gold")
        kind = row.get("type") or ("question" if gold else "negative")
        if kind == "negative" and gold:
            raise EvaluationDataError(f"{where}: a 'negative' question has gold papers; empty its 'gold'")
        evidence = row.get("evidence")
        evidence = evidence if isinstance(evidence, dict) else {}
        result.append(
            Question(
                id=str(row.get("id") or f"q{number}"),
                question=_text(row, "question", where),
                type=str(kind),
                gold=gold,
                partial=_references(row.get("partial"), where, "partial"),
                answer=row.get("answer") if isinstance(row.get("answer"), str) else None,
                evidence={str(k): str(v) for k, v in evidence.items()},
            )
        )
    return result


def topics(source: str | Path | Sequence[Mapping[str, Any]]) -> list[Topic]:
    """Survey topics from a JSON Lines file (or rows): ``topic``, ``gold`` (every paper a
    related-work draft on it should cite), and optionally ``id`` and ``core``."""
    result = []
    for number, row, where in _rows(source):
        gold = _references(row.get("gold"), where, "gold")
        if not gold:
            raise EvaluationDataError(f"{where}: 'gold' is empty; list the papers a draft should cite")
        result.append(
            Topic(
                id=str(row.get("id") or f"t{number}"),
                topic=_text(row, "topic", where),
                gold=gold,
                core=_references(row.get("core"), where, "core"),
            )
        )
    return result


def _rows(source: str | Path | Sequence[Mapping[str, Any]]) -> Iterable[tuple[int, Mapping[str, Any], str]]:
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        return [(n, row, f"{path}, line {n}") for n, row in read_jsonl(path)]
    return [(n, row, f"item {n}") for n, row in enumerate(source, 1)]


def aliases(path: Path) -> dict[str, dict[str, str]]:
    """A papers file: one object per line naming a paper (``slug``, ``id`` or ``name``) and
    saying how to find it (``key``, ``title``, ``abstract`` or ``abstract_start``)."""
    found: dict[str, dict[str, str]] = {}
    for number, row in read_jsonl(path):
        name = next((str(row[f]) for f in NAME_FIELDS if row.get(f)), None)
        target = next(({f: str(row[f])} for f in TARGET_FIELDS if row.get(f)), None)
        if name is None or target is None:
            raise EvaluationDataError(
                f"{path}, line {number}: a papers file names a paper ({', '.join(NAME_FIELDS)}) and "
                f"gives one of {', '.join(TARGET_FIELDS)}"
            )
        found[name] = target
    return found


class Resolver:
    """Finds the library paper a gold reference means."""

    def __init__(self, papers: Sequence[Paper], names: Mapping[str, dict[str, str]] | None = None):
        self.keys = {p.key for p in papers}
        self.names = dict(names or {})
        self._papers = [(p.key, normalise(p.title), normalise(p.abstract)) for p in papers]

    def resolve(self, reference: Reference, evidence: Mapping[str, str] | None = None) -> str | Unresolved:
        """The key ``reference`` means, or why there is none."""
        if isinstance(reference, dict):
            ((how, text),) = reference.items()
            return self._match(how, text, _describe(reference))
        if reference in self.keys:
            return reference
        if reference in self.names:
            found = self.resolve(self.names[reference])
            return (
                found
                if isinstance(found, str)
                else Unresolved(reference, f"its papers-file entry: {found.problem}")
            )
        by_text = self._match("title", reference, reference)
        if isinstance(by_text, str):
            return by_text
        by_abstract = self._match("abstract", reference, reference)
        if isinstance(by_abstract, str) or "several" in by_abstract.problem:
            return by_abstract
        quote = (evidence or {}).get(reference)
        if quote:
            return self._match("abstract", quote, reference)
        return Unresolved(reference, "no paper has this key, title or abstract text")

    def resolve_all(
        self, references: Sequence[Reference], evidence: Mapping[str, str] | None = None
    ) -> tuple[list[str], list[Unresolved]]:
        keys: list[str] = []
        problems: list[Unresolved] = []
        for reference in references:
            found = self.resolve(reference, evidence)
            if isinstance(found, str):
                if found not in keys:
                    keys.append(found)
            else:
                problems.append(found)
        return keys, problems

    def _match(self, how: str, text: str, shown: str) -> str | Unresolved:
        if how == "key":
            return text if text in self.keys else Unresolved(shown, "no paper has this key")
        wanted = normalise(text)
        if how == "title":
            found = [key for key, title, _ in self._papers if title and title == wanted]
            if not found and len(wanted) >= MIN_TITLE_START:  # "Latent-OFER" of "Latent-OFER: ..."
                found = [key for key, title, _ in self._papers if title.startswith(wanted)]
            if not found and len(wanted) >= MIN_TITLE_PART:
                found = [key for key, title, _ in self._papers if wanted in title]
        else:  # "abstract" or "abstract_start": a fragment of the abstract (title included)
            if len(wanted) < MIN_FRAGMENT:
                return Unresolved(shown, f"too short to find by its abstract ({MIN_FRAGMENT}+ letters)")
            found = [key for key, title, abstract in self._papers if wanted in abstract or wanted == title]
        if len(found) == 1:
            return found[0]
        if found:
            return Unresolved(shown, f"matches several papers ({', '.join(sorted(found)[:4])})")
        return Unresolved(shown, f"no paper's {'title' if how == 'title' else 'abstract'} has this text")
