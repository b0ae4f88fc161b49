"""Shorter prompts for small machines: the passages a model reads, cut to the sentences that
matter for the question and the sentence before each (which often names the method the next one
describes), within a word budget.

On two cores a 1.5B model reads a prompt at about 20-100 tokens a second; the whole passages of
five papers are a thousand tokens and more, most of them beside the question. Every passage keeps
its best sentence; the budget then goes to the best sentences overall. A condensed passage keeps
its chunk id (the citation still names the chunk) and its text is what the model was shown,
gaps marked with "…", so that the check compares a sentence with what its writer read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from assistant.passages import Passage
from store.sentences import sentence_spans

Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]
GAP = " … "


def condense(passages: Sequence[Passage], query: str, embed: Embed, *, words: int) -> list[Passage]:
    """``passages`` cut to their sentences closest to ``query`` (and each one's predecessor),
    about ``words`` words in all; ``words`` <= 0 leaves them whole."""
    if words <= 0 or not passages:
        return list(passages)
    split = [[p.text[a:b].strip() for a, b in sentence_spans(p.text)] for p in passages]
    flat = [(i, j) for i, sentences in enumerate(split) for j in range(len(sentences))]
    if sum(len(p.text.split()) for p in passages) <= words or not flat:
        return list(passages)
    vectors = embed([query, *(split[i][j] for i, j in flat)])
    scores = vectors[1:] @ vectors[0]
    chosen: set[tuple[int, int]] = set()
    budget = words

    def take(i: int, j: int) -> None:
        nonlocal budget
        for unit in ((i, j - 1), (i, j)) if j > 0 else ((i, j),):
            if unit not in chosen:
                chosen.add(unit)
                budget -= len(split[unit[0]][unit[1]].split())

    order = [flat[k] for k in np.argsort(-scores, kind="stable")]
    for i in range(len(passages)):  # every passage keeps its best sentence
        best = next(unit for unit in order if unit[0] == i) if split[i] else None
        if best is not None:
            take(*best)
    for unit in order:
        if budget <= 0:
            break
        take(*unit)
    result = []
    for i, passage in enumerate(passages):
        kept = sorted(j for k, j in chosen if k == i)
        if not kept:
            result.append(passage)
            continue
        parts: list[str] = []
        for position, j in enumerate(kept):
            if position and j != kept[position - 1] + 1:
                parts.append(GAP.strip())
            parts.append(split[i][j])
        text = " ".join(parts)
        if kept[0] > 0:
            text = f"{GAP.strip()} {text}"
        if kept[-1] < len(split[i]) - 1:
            text = f"{text} {GAP.strip()}"
        result.append(replace(passage, text=text))
    return result
