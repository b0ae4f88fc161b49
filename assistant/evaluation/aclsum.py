"""The ``aclsum`` package's data as evaluation data: its 250 ACL papers (the sample corpus) and,
for each, three one-sentence human summaries of the paper's challenge, approach and outcome,
split into train (100 papers), val (50) and test (100).

Asked of a library holding the sample corpus, a summary is a paraphrase query with one known
gold paper; asked of any other library, a question no paper answers. The summaries are also the
references for focused summaries (focus = the aspect). Tune on train and val; test is held out.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import EvaluationDataError
from assistant.evaluation.gold import Question
from store.paper import Paper

ASPECTS = ("challenge", "approach", "outcome")
SPLITS = ("train", "val", "test")
TUNING_SPLITS = ("train", "val")
QUESTION_TYPE = "aclsum"


def dataset_folder() -> Path:
    spec = importlib.util.find_spec("aclsum")
    if spec is None or not spec.submodule_search_locations:
        raise EvaluationDataError("the aclsum package is not installed: pip install aclsum")
    return Path(next(iter(spec.submodule_search_locations))) / "dataset"


def corpus_folder() -> Path:
    """The sample corpus: one S2ORC JSON file per paper, named by its ACL Anthology id."""
    return dataset_folder() / "paper_jsons"


@dataclass(frozen=True)
class AspectSummary:
    paper: str  # the ACL Anthology id, the corpus file's name
    split: str
    aspect: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.paper}:{self.aspect}"


def summaries(splits: Iterable[str] = SPLITS) -> list[AspectSummary]:
    found = []
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown aclsum split {split!r}; choose from {', '.join(SPLITS)}")
        for line in (dataset_folder() / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                for aspect in ASPECTS:
                    text = (row.get("summary") or {}).get(aspect)
                    if text and text.strip():
                        found.append(AspectSummary(str(row["id"]), split, aspect, text.strip()))
    return found


def keys_by_paper(papers: Sequence[Paper]) -> dict[str, str]:
    """The library key of each corpus paper in a library, by its ACL Anthology id (the name of
    the file it was read from). A library built from another installation of the package (another
    checkout's environment) holds the corpus under another prefix: the folder is recognised by
    its place in the package (``aclsum/dataset/paper_jsons``)."""
    corpus = corpus_folder()
    found = {}
    for paper in papers:
        for source in paper.sources:
            path = Path(source.split("#")[0])
            if path.parent == corpus or path.parent.parts[-3:] == corpus.parts[-3:]:
                found[path.stem] = paper.key
    return found


def questions(papers: Sequence[Paper], splits: Iterable[str] = TUNING_SPLITS) -> list[Question]:
    """The summaries as questions of a library holding ``papers``: gold is the summarised paper
    where the library holds it; in a library without the corpus each is a negative."""
    keys = keys_by_paper(papers)
    result = []
    for summary in summaries(splits):
        key = keys.get(summary.paper)
        result.append(
            Question(
                id=summary.id,
                question=summary.text,
                type=QUESTION_TYPE if key else "negative",
                gold=[{"key": key}] if key else [],
            )
        )
    return result
