"""Comparison tables: numbers normalised, result sentences read, unsupported cells dropped, the
exports citing the same papers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

import bibtexparser
import pytest

from assistant.evidence import Evidence
from assistant.llm import Completion, Usage
from assistant.retrieval import Retrieval
from assistant.selection import Selection
from assistant.tables import (
    Sentence,
    Tabulator,
    Vocabulary,
    check_cell,
    numbers_in,
    numbers_supported,
    results_of,
    same_number,
)
from store.paper import Chunk, Paper

VTFF = (
    "The proposed method is evaluated on three public in-the-wild facial expression datasets "
    "(RAF-DB, FERPlus and AffectNet). Under the same settings, extensive experiments demonstrate "
    "that our method shows superior performance over other methods, setting new state of the art "
    "on RAF-DB with 88.14%, FERPlus with 88.81% and AffectNet with 61.85%."
)
UNILEARN = (
    "UniLearn consistently achieves state-of-the-art performance on FERV39K, MAFW, and DFEW "
    "benchmarks, with weighted average recall (WAR) of 53.65\\%, 58.44\\%, and 76.68\\%, respectively."
)
PLAIN = "Our model achieves 91.2% accuracy on SST-2 and improves F1 by 3.4% on CoNLL-2003."


def _chunk(key: str, text: str, n: int = 0) -> Chunk:
    return Chunk(id=f"{key}-{n}", paper_key=key, text=text, ordinal=n)


def _sentence(text: str) -> Sentence:
    return Sentence(text, _chunk("p", text))


def _tuples(text: str) -> set[tuple[str | None, str | None, str]]:
    vocabulary = Vocabulary.of([text])
    return {(r.dataset, r.metric, r.value) for r in results_of(_sentence(text), vocabulary)}


def test_a_percentage_its_spaced_form_and_its_fraction_are_one_number() -> None:
    (a,), (b,), (c,), (d,) = (numbers_in(t) for t in ("88.14%", "88.14 %", "0.8814", "88.1%"))
    assert same_number(a, b) and same_number(a, c) and same_number(b, c)
    assert not same_number(a, d)
    assert numbers_supported("88.14%", "an accuracy of 0.8814 on RAF-DB") == []
    assert numbers_supported("88.14 %", "RAF-DB with 88.14%") == []
    assert numbers_supported("88.14%", "RAF-DB with 88.1%") == ["88.14%"]
    assert numbers_in("1,234.5 and 53.65\\% and 12 percent")[0].value == 1234.5
    assert [n.percent for n in numbers_in("1,234.5 and 53.65\\% and 12 percent")] == [False, True, True]


def test_result_sentences_become_one_tuple_per_dataset_and_metric() -> None:
    assert _tuples(VTFF) == {
        ("RAF-DB", None, "88.14%"),
        ("FERPlus", None, "88.81%"),
        ("AffectNet", None, "61.85%"),
    }
    assert _tuples(UNILEARN) == {
        ("FERV39K", "WAR", "53.65%"),
        ("MAFW", "WAR", "58.44%"),
        ("DFEW", "WAR", "76.68%"),
    }
    # an improvement is a change, not a result, and so are the numbers listed after it
    assert _tuples(PLAIN) == {("SST-2", "accuracy", "91.2%")}
    assert _tuples("It reduces the error rate on SST-2 by 29.2% and 15.7%, and 3.1%.") == set()
    assert len(_tuples("It reaches 88.14% and 88.81% accuracy on RAF-DB and FERPlus.")) == 2


def test_a_model_cell_whose_number_is_not_in_its_sentence_is_dropped() -> None:
    sentences = [_sentence(s) for s in (VTFF, UNILEARN)]
    cell = check_cell("value", "0.8814", sentences)
    assert not isinstance(cell, str) and cell.sentence.endswith("61.85%.") and "88.14%" in cell.sentence
    assert check_cell("value", "89.2%", sentences) == "the number '89.2%' is in no sentence of its passages"
    assert "in no sentence" in str(check_cell("dataset", "ImageNet", sentences))


class ScriptedChat:
    """A chat model that answers each paper with the JSON it is given, recording the prompts."""

    def __init__(self, replies: dict[str, Any]):
        self.replies = replies
        self.prompts: list[str] = []

    def complete(self, messages: Sequence[dict[str, str]], **_: Any) -> Completion:
        user = messages[-1]["content"]
        self.prompts.append(user)
        title = re.search(r"Paper: (.*?)(?: \(\d{4}\))?\n", user)
        assert title is not None
        return Completion(json.dumps(self.replies[title.group(1).strip()]), Usage(10, 5), "stop")


def _tabulator(chat: Any = None, scores: dict[str, float] | None = None) -> Tabulator:
    papers = {
        "li2021vtff": Paper(key="li2021vtff", title="VTFF", authors=["Li Wei"], year=2021),
        "chen2024unilearn": Paper(key="chen2024unilearn", title="UniLearn", year=2024),
        "none2020": Paper(key="none2020", title="Nothing measured"),
    }
    chunks = {
        "li2021vtff": [_chunk("li2021vtff", VTFF + " We use a ResNet-18 backbone.")],
        "chen2024unilearn": [_chunk("chen2024unilearn", UNILEARN)],
        "none2020": [_chunk("none2020", "We describe a survey of emotion datasets.")],
    }
    # all above the cut-off
    scores = scores or {"li2021vtff": 1.0, "chen2024unilearn": 0.9, "none2020": 0.8}
    found = Selection(scores, Retrieval([], Evidence(True, 1.0, "scripted")), ("topic",), near=scores)
    return Tabulator(papers.get, lambda k: chunks[k], lambda topic, keys: found, chat)


def test_a_model_fills_the_columns_and_the_cells_its_passages_do_not_hold_are_dropped() -> None:
    chat = ScriptedChat(
        {
            "VTFF": {
                "rows": [
                    {
                        "dataset": {"value": "RAF-DB", "passage": 1},
                        "value": {"value": "0.8814", "passage": 1},
                    },
                    {
                        "dataset": {"value": "FERPlus", "passage": 1},
                        "value": {"value": "90.02%", "passage": 1},
                    },
                ]
            },
            "UniLearn": {"rows": [{"dataset": {"value": "ImageNet", "passage": 1}, "metric": "WAR"}]},
            "Nothing measured": {"rows": []},
        }
    )
    table = _tabulator(chat).compare("facial expressions", mode="llm")
    assert len(chat.prompts) == 3 and "Columns: task, dataset, metric, value." in chat.prompts[0]
    raf = next(r for r in table.rows if r.value("dataset") == "RAF-DB")
    assert raf.cells["value"] is not None and "RAF-DB with 88.14%" in raf.cells["value"].sentence
    # the row's name is read from its value's sentence, not from the first that names it
    assert raf.cells["dataset"] is not None and raf.cells["dataset"].sentence == raf.cells["value"].sentence
    dropped = {(d.key, d.column, d.value) for d in table.dropped}
    assert dropped == {("li2021vtff", "value", "90.02%"), ("chen2024unilearn", "dataset", "ImageNet")}
    assert all(cell.value != "90.02%" for _, _, cell in table.cells)
    assert "90.02%" not in table.markdown + table.csv + table.latex
    assert any("2 cells dropped" in n for n in table.notes)


def test_a_number_a_model_writes_as_the_metric_is_the_value() -> None:
    row = {"dataset": {"value": "RAF-DB", "passage": 1}, "metric": {"value": "88.14%", "passage": 1}}
    both = {**row, "value": "88.81%", "dataset": "FERPlus"}
    chat = ScriptedChat(
        {"VTFF": {"rows": [row, both]}, "UniLearn": {"rows": []}, "Nothing measured": {"rows": []}}
    )
    table = _tabulator(chat).compare("facial expressions", mode="llm")
    raf = next(r for r in table.rows if r.value("dataset") == "RAF-DB")
    assert raf.value("value") == "88.14%" and raf.cells["metric"] is None  # moved, not lost
    ferplus = next(r for r in table.rows if r.value("dataset") == "FERPlus")
    assert ferplus.value("value") == "88.81%" and ferplus.cells["metric"] is None
    assert [(d.column, d.value) for d in table.dropped] == [("metric", "88.14%")]  # beside a value


def test_extractive_rows_line_up_and_every_export_cites_the_same_papers() -> None:
    table = _tabulator().compare("facial expressions", columns=["backbone"], mode="extractive")
    assert table.columns == ["task", "dataset", "metric", "value", "backbone"]
    assert len(table.rows) == 6
    for _row, _column, cell in table.cells:
        assert cell.sentence in cell.passage and numbers_supported(cell.value, cell.sentence) == []
    vtff = [r for r in table.rows if r.key == "li2021vtff"]
    assert {r.value("backbone") for r in vtff} == {"ResNet-18"}
    assert all(r.cells["metric"] is None and "names no metric" in r.missing["metric"] for r in vtff)
    assert all(r.unit == "%" for r in table.rows)
    cited = set(table.cited_keys)
    assert cited == {"li2021vtff", "chen2024unilearn"}  # the paper with no result has no row
    assert set(re.findall(r"\[@([^\]]+)\]", table.markdown)) == cited
    assert set(re.findall(r"\\cite\{([^}]+)\}", table.latex)) == cited
    assert {row["key"] for row in csv.DictReader(io.StringIO(table.csv))} == cited
    assert {e.key for e in bibtexparser.parse_string(table.bibtex).entries} == cited
    data = table.to_dict()
    assert {r["key"] for r in data["rows"]} == cited
    cell = data["rows"][0]["cells"]["value"]
    assert set(cell) == {"value", "sentence", "passage"} and cell["sentence"] in cell["passage"]
    assert any("none2020" in n for n in data["notes"])


def test_a_paper_without_results_takes_no_place_among_the_papers_of_a_table() -> None:
    first = {"none2020": 1.0, "li2021vtff": 0.9, "chen2024unilearn": 0.8}  # the paper without results first
    table = _tabulator(scores=first).compare("facial expressions", max_papers=2, mode="extractive")
    assert set(table.cited_keys) == {"li2021vtff", "chen2024unilearn"}
    assert list(table.papers) == ["none2020", "li2021vtff", "chen2024unilearn"]  # read in order
    assert any("none2020" in n for n in table.notes)
    # ... and reading stops once the table has its papers
    one = _tabulator(scores=first).compare("facial expressions", max_papers=1, mode="extractive")
    assert one.cited_keys == ["li2021vtff"] and list(one.papers) == ["none2020", "li2021vtff"]


def test_a_model_row_without_a_value_takes_no_place_either() -> None:
    chat = ScriptedChat(
        {
            "VTFF": {"rows": [{"dataset": {"value": "RAF-DB", "passage": 1}}]},  # no value
            "UniLearn": {"rows": [{"dataset": "DFEW", "value": {"value": "76.68%", "passage": 1}}]},
            "Nothing measured": {"rows": []},
        }
    )
    table = _tabulator(chat).compare("facial expressions", max_papers=1, mode="llm")
    assert list(table.papers) == ["li2021vtff", "chen2024unilearn"] and len(chat.prompts) == 2
    assert any(r.key == "chen2024unilearn" and r.value("value") == "76.68%" for r in table.rows)


def test_an_empty_topic_or_no_keys_is_a_clear_error() -> None:
    from assistant.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="topic is empty"):
        _tabulator().compare("  ", mode="extractive")
    with pytest.raises(InvalidRequestError, match="no papers"):
        _tabulator().compare([], mode="extractive")
