"""The one sentence splitter (``store.sentences``): scientific prose's abbreviations, decimals and
citations, as the search windows and the citation check both read them."""

from __future__ import annotations

import pytest

from store.sentences import sentence_spans, split_sentences, windows


def spans(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We follow prior work, e.g. BERT and RoBERTa. Results improve.", 2),
        ("As shown by Smith et al. (2020), the loss drops. We agree.", 2),
        ("Zhang et al. (2018) used machine translation. Yang et al. (2019) did not.", 2),
        ("See Fig. 3 for details. The curve is flat.", 2),
        ("Results are in Figs. 2 and 3. They agree.", 2),
        ("We describe it in Sec. 4.2 below. It is short.", 2),
        ("Accuracy rises by 0.5 points. Then it falls to 93.5%. It ends.", 3),
        ("The model, i.e. the encoder, is frozen. We train the head.", 2),
        ("BERT vs. GPT is compared in Table 2. GPT wins.", 2),
        ("We use cf. Eq. 5 for the loss. It converges.", 2),
        ("It mixes emotion, sarcasm, etc. Similar styles differ.", 2),
    ],
)
def test_sentences_of_scientific_prose(text: str, expected: int) -> None:
    found = spans(text)
    assert len(found) == expected, found
    assert " ".join(found) == text  # nothing lost, nothing moved


def test_a_citation_after_the_full_stop_stays_with_its_sentence() -> None:
    text = "It gets 93.5% on X. [@b] Done.  Next one [2]. Last."
    assert spans(text) == ["It gets 93.5% on X. [@b]", "Done.", "Next one [2].", "Last."]


def test_split_sentences_joins_short_fragments_and_windows_overlap() -> None:
    text = "We train a detector on ten thousand images. Results. It finds 91% of the objects in Fig. 4."
    assert split_sentences(text) == [
        "We train a detector on ten thousand images. Results.",
        "It finds 91% of the objects in Fig. 4.",
    ]
    assert split_sentences("A short one. Also short.") == ["A short one. Also short."]
    first, second, third = "A first sentence, long enough.", "A second one, long enough.", "A third (Fig. 2)."
    assert windows(f"{first} {second} {third}") == [f"{first} {second} {third}"]  # the third is short
    fourth = "A fourth sentence, long enough."
    assert windows(f"{first} {second} {fourth}") == [f"{first} {second}", f"{second} {fourth}"]
    assert split_sentences("   ") == [] and windows("") == []
