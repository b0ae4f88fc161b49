"""The themes of a draft (its outline). Extractively, the papers are clustered by their abstract
vectors and each cluster is named by a phrase its papers share; with a model, the model's JSON
outline is read here, keeping only the papers it was given."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from store.lexical import stopwords

MIN_NAME_SCORE = 0.5  # a theme name's share x idf: below it, the phrase is common to most papers


@dataclass(frozen=True)
class Theme:
    name: str
    keys: tuple[str, ...]


def cluster(vectors: npt.NDArray[np.float32], n: int) -> list[list[int]]:
    """Average-linkage agglomerative clustering by cosine into ``n`` groups, then every group of
    one merged into its nearest group. Hand-written: a few lines of numpy for at most tens of
    papers, where scipy's would add a large dependency for one call."""
    groups = [[i] for i in range(len(vectors))]
    similarity = vectors @ vectors.T

    def link(a: list[int], b: list[int]) -> float:
        return float(similarity[np.ix_(a, b)].mean())

    def merge_closest(candidates: list[int]) -> None:
        pairs = [(link(groups[i], groups[j]), i, j) for i in candidates for j in range(len(groups)) if i != j]
        _, i, j = max(pairs)
        groups[min(i, j)] += groups[max(i, j)]
        del groups[max(i, j)]

    while len(groups) > n:
        merge_closest(list(range(len(groups))))
    while len(groups) > 1 and (single := [i for i, g in enumerate(groups) if len(g) == 1]):
        merge_closest(single[:1])
    return [sorted(g) for g in sorted(groups, key=min)]


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]+")


def phrases(text: str) -> set[str]:
    """Runs of two or three content words."""
    stop = stopwords(query=True)
    words = [w.lower() for w in _WORD.findall(text) if w.lower() not in stop and len(w) > 2]
    return {" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)}


def name_theme(
    members: Sequence[str], others: Sequence[str], frequency: Counter[str], size: int
) -> str | None:
    """A theme's name: the phrase of two or three words found in at least half of its papers
    (and two), scored by how much more of its papers than of the others' hold it, weighted by
    its rarity among the candidates (idf); None when no phrase is shared, or only common ones
    ("results show")."""
    inside = Counter(p for text in members for p in phrases(text))
    outside = Counter(p for text in others for p in phrases(text))

    def score(phrase: str) -> float:
        share = inside[phrase] / len(members) - outside[phrase] / max(1, len(others))
        return share * math.log(size / max(1, frequency[phrase])) + 0.01 * len(phrase.split())

    shared = [p for p in inside if inside[p] >= max(2, len(members) / 2) and score(p) >= MIN_NAME_SCORE]
    return max(shared, key=lambda p: (score(p), p)).capitalize() if shared else None


def short_title(title: str) -> str:
    """A title's name part ("FSFM: A Generalizable ..." → "FSFM"), or its first words."""
    head = title.split(":")[0].strip()
    return head if 0 < len(head.split()) <= 6 else " ".join(title.split()[:6])


def parse_outline(text: str, allowed: set[str]) -> tuple[list[Theme], list[str]]:
    """Themes from the model's JSON outline; keys it was not given are returned separately."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        data = None
    items: Iterable[Any] = data.get("themes", []) if isinstance(data, dict) else []
    themes: list[Theme] = []
    invented: list[str] = []
    taken: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        keys = [str(k).lstrip("@") for k in item.get("keys") or [] if isinstance(k, str)]
        invented += [k for k in keys if k not in allowed]
        kept = tuple(k for k in dict.fromkeys(keys) if k in allowed and k not in taken)
        taken |= set(kept)
        if kept:
            themes.append(Theme(item["name"].strip().rstrip("."), kept))
    return themes, list(dict.fromkeys(invented))
