"""Focused extractive summaries: a focus that names an aspect picks the sentence stating it, and
one sentence can be asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Library, calibration
from assistant import extractive as ex
from assistant.citations import strip_citations
from assistant.evaluation import aclsum
from assistant.extractive import aspect_of
from store.lexical import tokens

BIB = """
@article{doe2024lex,
  title={Lexicon Features for Character Taggers}, author={Doe, Jane}, year=2024,
  abstract={Named entity recognition in Chinese usually needs a word segmenter first.
            However, existing lattice models are complex and too slow for many industrial systems.
            In this paper we propose a simple method that encodes lexicon features into
            the character representations.
            Experiments on four benchmark datasets show that our method outperforms prior models
            and runs six times faster.}
}
"""


@pytest.fixture
def library(fake_library: Library, tmp_path: Path) -> Library:
    (tmp_path / "refs.bib").write_text(BIB)
    assert fake_library.add(tmp_path / "refs.bib").ok
    return fake_library


def test_aspect_names() -> None:
    assert aspect_of("challenge") == aspect_of("The problem") == "challenge"
    assert aspect_of("Method") == aspect_of("approach") == "approach"
    assert aspect_of("results") == aspect_of("main findings") == "outcome"
    assert aspect_of("reinforcement learning") is None and aspect_of(None) is None


@pytest.mark.parametrize(
    ("focus", "words"),
    [
        ("challenge", "Chinese"),  # the problem, stated before the method
        ("approach", "we propose a simple method"),
        ("outcome", "outperforms prior models"),
    ],
)
def test_one_sentence_per_aspect(library: Library, focus: str, words: str) -> None:
    summary = library.summarize("doe2024lex", focus=focus, length="sentence", mode="extractive")
    text = strip_citations(summary.raw_text, {"doe2024lex"})
    assert summary.raw_text.count("[@doe2024lex]") == 1 and words in text
    assert summary.length == "sentence" and summary.citations


def test_the_shipped_lexicons_reproduce_from_aclsums_train_and_val_summaries() -> None:
    """The aspects' lexicons in summary_fit.json are learned from the tuning splits only (the
    test split's summaries are held out), and each aspect's own words lean its way."""
    fit = calibration.shipped(ex.SUMMARY_FIT)
    tuning = aclsum.summaries(aclsum.TUNING_SPLITS)
    lexicons = ex.aspect_lexicons({a: [s.text for s in tuning if s.aspect == a] for a in aclsum.ASPECTS})
    assert lexicons == fit.parameters["lexicons"]
    assert fit.parameters["features"] == list(ex.ASPECT_FEATURES)
    assert all(len(fit.model[a]) == len(ex.ASPECT_FEATURES) for a in aclsum.ASPECTS)
    # a word of the held-out summaries alone is in no lexicon
    seen = {w for s in tuning for w in tokens(s.text)}
    unseen = {w for s in aclsum.summaries(["test"]) for w in tokens(s.text)} - seen
    assert unseen and not unseen & set(lexicons["outcome"])
    features = ex.lexicon_features(
        ["We propose a new neural model.", "Results show large gains over the baselines."], lexicons
    )
    mean = {a: ex.LEXICON_FEATURES.index(f"lexicon:{a}:mean") for a in aclsum.ASPECTS}
    assert features[0, mean["approach"]] > features[0, mean["outcome"]]
    assert features[1, mean["outcome"]] > features[1, mean["approach"]]


def test_corpus_papers_are_known_from_another_installation_of_the_package() -> None:
    """A library built in another environment names the corpus files under another prefix."""
    from store.paper import Paper

    here = aclsum.corpus_folder() / "P19-1001.json"
    elsewhere = Path("/elsewhere/.venv/lib/python3.11/site-packages/aclsum/dataset/paper_jsons/N18-1002.json")
    papers = [
        Paper(key="a", sources=[str(here)]),
        Paper(key="b", sources=[f"{elsewhere}#1"]),
        Paper(key="c", sources=["/home/me/paper_jsons/X-1.json"]),
    ]
    assert aclsum.keys_by_paper(papers) == {"P19-1001": "a", "N18-1002": "b"}
