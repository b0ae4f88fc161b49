"""Citation parsing, checking, numbering and support scores (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.citations import (
    WEAK_SUPPORT,
    Numbering,
    canonical,
    cited_keys,
    drop_titles,
    dropped_keys,
    find_citations,
    render,
    safe_end,
    score_sentence,
    shown_text,
    unsupported,
)
from store.sentences import sentence_spans
from tests.conftest import FakeEmbedder

ALLOWED = {"smith2020deep", "colormae2024", "fer-yolo-mamba", "Doe:2019"}


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        ("A claim [@smith2020deep].", ["smith2020deep"], []),
        ("Two [@smith2020deep; @colormae2024].", ["smith2020deep", "colormae2024"], []),
        ("Comma form [@smith2020deep, @colormae2024].", ["smith2020deep", "colormae2024"], []),
        ("Bare keys [smith2020deep; colormae2024].", ["smith2020deep", "colormae2024"], []),
        ("A slug key [fer-yolo-mamba] and a BibTeX one [@Doe:2019].", ["fer-yolo-mamba", "Doe:2019"], []),
        ("In-text @smith2020deep shows it.", ["smith2020deep"], []),
        ("Invented [@jones2021fake] and kept [@colormae2024].", ["colormae2024"], ["jones2021fake"]),
        ("Mixed [@smith2020deep; @nope].", ["smith2020deep"], ["nope"]),
        ("Bare invented key-shaped [lee2022vision].", [], ["lee2022vision"]),
        ("In-text invented @lee2022vision.", [], ["lee2022vision"]),
    ],
)
def test_every_citation_form(text: str, kept: list[str], dropped: list[str]) -> None:
    assert cited_keys(text, ALLOWED) == kept
    assert dropped_keys(text, ALLOWED) == dropped


@pytest.mark.parametrize(
    "text",
    [
        "as shown in [12] and [3, 4]",
        "prior work [5-7] and [8–9]",
        "the word [sic] and a mail a@b.com",
        "a footnote [1; 2]",
    ],
)
def test_reference_markers_and_words_are_not_citations(text: str) -> None:
    assert find_citations(text, ALLOWED) == []
    assert render(text, ALLOWED, Numbering()) == text


def test_render_numbers_by_first_appearance_and_removes_invented() -> None:
    numbering = Numbering()
    text = "A [@colormae2024]. B [@smith2020deep; @fake2021x]. C [@fake2021x]. D [@colormae2024]."
    assert render(text, ALLOWED, numbering) == "A [1]. B [2]. C. D [1]."
    # a conversation keeps the numbers: a later answer citing smith2020deep again gets 2
    assert render("E [@smith2020deep].", ALLOWED, numbering) == "E [2]."


def streamed(text: str, size: int, labels: list[str] | None = None) -> list[str]:
    """``text`` rendered as a stream shows it: delta by delta, up to where it can be cut
    (``safe_end``), the rest at the end. A stream's check relies on this equalling ``render``."""
    numbering, pending, pieces = Numbering(), "", []
    for i in range(0, len(text), size):
        pending += text[i : i + size]
        cut = safe_end(pending, ALLOWED, labels)
        pieces.append(render(pending[:cut], ALLOWED, numbering, labels=labels) if cut else "")
        pending = pending[cut:]
    return [*pieces, render(pending, ALLOWED, numbering, labels=labels)]


def test_a_stream_cut_where_it_is_safe_renders_as_the_whole_text() -> None:
    text = (
        "ColorMAE masks colours [@colormae2024]. Others use [12] refs [@smith2020deep; @jones2021fake]. "
        "Bare [fer-yolo-mamba], in-text @smith2020deep, invented [@nope]."
    )
    expected = render(text, ALLOWED, Numbering())
    for size in (1, 2, 3, 5, 8, 13):
        assert "".join(streamed(text, size)) == expected


def test_a_stream_never_shows_half_a_citation() -> None:
    pieces = streamed("Masked colours [@colormae2024] work.", 22)
    assert pieces[0] == "Masked colours" and pieces[1] == " [1] work."


def test_sentences_keep_their_citations_and_abbreviations() -> None:
    text = "We use e.g. CLIP here [@a]. It gets 93.5% on X. [@b] Done."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "We use e.g. CLIP here [@a].",
        "It gets 93.5% on X. [@b]",
        "Done.",
    ]


def test_unsupported_numbers_and_names() -> None:
    evidence = "FMP reaches 93.5 % accuracy with 1,000 images on CIFAR10."
    assert unsupported("FMP reaches 93.5% with 1000 images on CIFAR10", evidence) == ((), ())
    assert unsupported("FooNet reaches 95.1% on CIFAR10", evidence) == (("95.1%",), ("FooNet",))


def test_support_scores_a_sentence_against_the_passages_it_cites() -> None:
    embedder = FakeEmbedder()
    passage = "Masked colour modelling pretrains vision transformers on unlabeled images."
    evidence = [(passage, embedder.embed([passage])[0])]

    def scored(claim: str) -> tuple[float, float, tuple[str, ...], tuple[str, ...]]:
        return score_sentence(claim, embedder.embed([claim])[0], evidence)

    score, similarity, numbers, names = scored("Masked colour modelling pretrains vision transformers")
    assert score > 0.7 and score >= WEAK_SUPPORT and np.isclose(similarity, score)
    worse, _, numbers, names = scored("It reaches 99.9% on ImageNet")
    assert numbers == ("99.9%",) and names == ("ImageNet",) and worse < score and worse < WEAK_SUPPORT


def test_a_sentence_quoted_from_its_passage_is_fully_supported() -> None:
    """A sentence's cosine with the long passage around it can be low; quoted, it is backed."""
    embedder = FakeEmbedder()
    passage = (
        "Virtual try-on transfers a garment onto a person image. Existing methods warp the garment "
        "with a separate network and lose its texture, which our diffusion model avoids entirely."
    )
    evidence = [(passage, embedder.embed([passage])[0])]
    claim = "Existing methods warp the garment with a separate network"
    assert score_sentence(claim, embedder.embed([claim])[0], evidence)[0] == 1.0
    changed = "Existing methods paint the garment"
    assert score_sentence(changed, embedder.embed([changed])[0], evidence)[0] < 1.0


def test_bracketed_titles_are_dropped_and_locators_kept() -> None:
    titles = {"lanetopologyfrommaps"}
    raw = (
        "PaSa searches papers [@he2025pasa, p. 3]. It beats search engines [@Made-Up Study]. "
        "Maps help lanes [Lane Topology From Maps]. Its crawler issues [Search] actions [12]."
    )
    written, dropped = drop_titles(raw, {"he2025pasa"}, titles)
    assert dropped == ["Made-Up Study", "Lane Topology From Maps"]
    assert written == (
        "PaSa searches papers [@he2025pasa]. It beats search engines. "
        "Maps help lanes. Its crawler issues [Search] actions [12]."
    )


LABELS = ["smith2020deep", "colormae2024", "smith2020deep", "fer-yolo-mamba"]  # passages [1]..[4]


@pytest.mark.parametrize(
    ("text", "kept", "passages", "dropped"),
    [
        ("A claim [1].", ["smith2020deep"], [0], []),
        (
            "Two [1, 2] and a range [2-4].",
            ["smith2020deep", "colormae2024", "fer-yolo-mamba"],
            [0, 1, 1, 2, 3],
            [],
        ),
        ("Adjacent [2][4].", ["colormae2024", "fer-yolo-mamba"], [1, 3], []),
        (
            "Worded [Passage 2] and [passages 1 and 4].",
            ["colormae2024", "smith2020deep", "fer-yolo-mamba"],
            [1, 0, 3],
            [],
        ),
        ("Full-width 【2】 and footnote [^4].", ["colormae2024", "fer-yolo-mamba"], [1, 3], []),
        ("Parenthesised (2). And (passage 4) too", ["colormae2024", "fer-yolo-mamba"], [1, 3], []),
        (
            "As passage 2 shows, and sources 1 and 4 agree.",
            ["colormae2024", "smith2020deep", "fer-yolo-mamba"],
            [1, 0, 3],
            [],
        ),
        ("Bare key colormae2024 extends it.", ["colormae2024"], [], []),
        ("Keys still work [@colormae2024].", ["colormae2024"], [], []),
        ("No such passage [9] but [1].", ["smith2020deep"], [0], ["[9]"]),
    ],
)
def test_passage_labels_in_every_form_models_write(
    text: str, kept: list[str], passages: list[int], dropped: list[str]
) -> None:
    groups = find_citations(text, ALLOWED, LABELS)
    assert list(dict.fromkeys(k for g in groups for k in g.kept)) == kept
    assert [i for g in groups for i in g.passages] == passages
    assert [d for g in groups for d in g.dropped] == dropped


@pytest.mark.parametrize(
    "text",
    [
        "two steps: (1) extract, (2) classify",  # an enumeration, not citations
        "published (2023) and 40 (12) samples",  # a year, a quantity out of range
        "the passage of time and 3 sources",  # no number after the word
        "a fer score and vit features",  # short keys are ordinary words
    ],
)
def test_what_looks_like_a_label_but_is_not(text: str) -> None:
    assert find_citations(text, ALLOWED | {"fer", "vit"}, LABELS) == []


def test_without_labels_numbers_stay_the_papers_own_markers() -> None:
    assert find_citations("as shown in [1] and (2).", ALLOWED) == []


def test_passages_lose_their_own_markers_before_a_model_reads_them() -> None:
    assert shown_text("Prior work [12] and [3, 4] did so [5-7].") == "Prior work and did so."


def test_labels_render_and_canonicalise_to_keys() -> None:
    text = "A [2]. B (passage 1). C [1, 3]. D [7]."
    assert render(text, ALLOWED, Numbering(), labels=LABELS) == "A [1]. B [2]. C [2]. D."
    assert canonical(text, ALLOWED, LABELS) == "A [@colormae2024]. B [@smith2020deep]. C [@smith2020deep]. D."


def test_a_stream_with_labels_renders_as_the_whole_text_at_every_split() -> None:
    text = (
        "Colour masking works [2]. As passage 1 shows (and sources 1 and 4 agree), it helps (3). "
        "Two steps: (1) extract, (2) classify [1][4]. Bare colormae2024 too, invented [9]."
    )
    expected = render(text, ALLOWED, Numbering(), labels=LABELS)
    for size in (1, 2, 3, 5, 8, 13):
        assert "".join(streamed(text, size, LABELS)) == expected
