"""The check of written texts (pure logic, fake embedder): label citations resolve to their
passages, uncited sentences are attributed to the passage that backs them (and marked), and a
streamed text is exactly the checked text, whatever the split of its deltas."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from assistant.citations import Numbering
from assistant.generation import json_prose, json_sentences_stream, may_refuse, refusing
from assistant.grounding import Checker, StreamCheck
from assistant.passages import Passage
from store.paper import Paper
from tests.conftest import FakeEmbedder

PASSAGES = [
    Passage("tryon2024", "tryon2024-0", "Virtual try-on transfers a garment onto a person image. "
            "Our diffusion model preserves garment texture with 94.1 percent fidelity [12]."),
    Passage("lane2024", "lane2024-0", "Lane topology reasoning for autonomous driving uses map priors. "
            "The model improves lane topology on OpenLane-V2."),
    Passage("tryon2024", "tryon2024-1", "The garment warping module aligns sleeves and collars."),
]  # fmt: skip
PAPERS = {
    "tryon2024": Paper(key="tryon2024", title="TexTry: Texture Preserving Virtual Try-On"),
    "lane2024": Paper(key="lane2024", title="Lane Topology From Maps"),
}


def checker() -> Checker:
    embedder = FakeEmbedder()

    def chunk_vectors(ids: Sequence[str]) -> dict[str, np.ndarray]:
        texts = {p.chunk_id: p.text for p in PASSAGES}
        return dict(zip(ids, embedder.embed([texts[i] for i in ids]), strict=True))

    return Checker(PASSAGES, PAPERS, embedder, chunk_vectors, labelled=True, attribute=True)


TEXT = (
    "The diffusion model preserves garment texture with 94.1 percent fidelity. "
    "Map priors help lane topology reasoning for autonomous driving [2]. "
    "TexTry also aligns sleeves (3). Quantum annealing is unrelated to anything here. "
    "Invented [7]."
)


def test_labels_resolve_uncited_sentences_are_attributed_and_the_rest_flagged() -> None:
    checked = checker().finish(TEXT, Numbering())
    first, second, third, fourth, fifth = checked.sentences
    assert first.keys == ("tryon2024",) and first.attributed  # backed, uncited: attributed
    assert second.keys == ("lane2024",) and not second.attributed  # the model's own label
    assert third.keys == ("tryon2024",) and not third.attributed
    assert fourth.flagged and fourth.score is None  # nothing backs it
    assert fifth.flagged and checked.dropped_citations == ["[7]"]
    assert checked.text.startswith(
        "The diffusion model preserves garment texture with 94.1 percent fidelity [1]. "
    )
    assert "[@tryon2024]." in checked.raw_text and "[7]" not in checked.text
    # each citation points at the passage that was cited, or that backs the sentence
    by_sentence = {c.sentence: c for c in checked.citations}
    assert (
        by_sentence[2].passage.chunk_id == "tryon2024-1" and by_sentence[1].passage.chunk_id == "lane2024-0"
    )
    assert by_sentence[0].attributed and not by_sentence[1].attributed


def test_a_sentence_naming_a_paper_cites_it() -> None:
    checked = checker().finish("TexTry is a try-on method from the library.", Numbering())
    (sentence,) = checked.sentences
    assert sentence.keys == ("tryon2024",) and sentence.attributed


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 40])
def test_a_streamed_text_is_exactly_the_checked_text(size: int) -> None:
    expected = checker().finish(TEXT, Numbering()).text
    stream = StreamCheck(checker(), Numbering())
    pieces = [stream.feed(TEXT[i : i + size]) for i in range(0, len(TEXT), size)]
    assert "".join(pieces) + stream.close() == expected
    assert any(pieces[: len(pieces) // 2])  # it showed text before the end


def test_a_stream_holds_a_reply_that_may_be_a_refusal() -> None:
    stream = StreamCheck(checker(), Numbering(), hold=may_refuse)
    assert stream.feed("The papers in the library do not ") == ""
    assert stream.feed("answer this.") == ""
    assert refusing(stream.written)
    answered = StreamCheck(checker(), Numbering(), hold=may_refuse)
    assert answered.feed("Map priors help lane topology [2]. More") != ""


@pytest.mark.parametrize(
    ("text", "declines"),
    [
        ("The papers in the library do not answer this.", True),
        ("The provided passages do not mention crowd counting.", True),
        ("I'm sorry, but I cannot answer that from these passages.", True),
        ("There is no information about depth completion in the passages [1].", True),
        ("", True),
        ("The passages describe a diffusion model for try-on [1].", False),
        ("FineCLIPER does not use labels alone; it adds descriptions [1].", False),
        ("The passages do not mention X. However, [1] describes Y.", False),
    ],
)
def test_refusals_in_the_ways_real_models_write_them(text: str, declines: bool) -> None:
    assert refusing(text) is declines


def test_json_sentences_become_cited_prose() -> None:
    reply = (
        '{"sentences": [{"text": "Texture is kept.", "passages": [1]}, '
        '{"text": "Maps help", "passages": [2, 3]}]}'
    )
    assert json_prose(reply) == "Texture is kept [1]. Maps help [2, 3]."
    assert json_prose("not json [1].") == "not json [1]."
    pieces = [reply[i : i + 7] for i in range(0, len(reply), 7)]
    assert "".join(json_sentences_stream(iter(pieces))).strip() == json_prose(reply)
