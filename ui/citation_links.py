"""Citation numbers in a chat answer as links to their source cards: ``[2]`` becomes a markdown
link to ``#source-2`` (the page's script shows and outlines that card in the sources panel).
Only numbers that have a card are linked; a grouped ``[1, 3]`` becomes ``[1][3]``."""

from __future__ import annotations

import re
from collections.abc import Container

# [1], [1, 3], [1; 3], not a markdown link already ("[1](...)") nor one's text ("[[1]](...)")
_MARKER = re.compile(r"(?<!\[)\[(\d+(?:\s*[,;]\s*\d+)*)\](?![(\]])")


def linked(text: str, numbers: Container[int]) -> str:
    def link(match: re.Match[str]) -> str:
        found = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not all(n in numbers for n in found):
            return match.group(0)
        return "".join(f"[[{n}]](#source-{n})" for n in found)

    return _MARKER.sub(link, text)
