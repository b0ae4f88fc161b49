"""CSL: papers as CSL-JSON items, and references formatted by citeproc-py in a style."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant import csl
from assistant.errors import InvalidRequestError
from store.paper import Paper

ARTICLE = Paper(
    key="lee2021",
    title="Occlusion-robust facial expression recognition",
    authors=["Ann Lee", "Anna van der Berg", "OpenAI"],
    year=2021,
    date="2021-03",
    venue="IEEE Transactions on Pattern Analysis and Machine Intelligence",
    doi="10.1109/tpami.1",
    entry_type="article",
    bibtex=[("title", "{...}"), ("volume", "{43}"), ("Pages", "{2201--2214}"), ("publisher", "{IEEE}")],
)
PREPRINT = Paper(key="fer", title="Fer-YOLO-Mamba", authors=["Hui Ma"], year=2024, arxiv_id="2405.01828")


def test_csl_json_items_keep_to_what_is_known() -> None:
    items = json.loads(csl.csl_json([ARTICLE, PREPRINT, Paper(key="bare", abstract="Only words.")]))
    article, preprint, bare = items
    assert article["id"] == "lee2021" and article["type"] == "article-journal"
    assert article["author"] == [
        {"family": "Lee", "given": "Ann"},
        {"family": "Berg", "given": "Anna", "non-dropping-particle": "van der"},
        {"literal": "OpenAI"},
    ]
    assert article["issued"] == {"date-parts": [[2021, 3]]}
    assert (article["volume"], article["page"], article["publisher"]) == ("43", "2201–2214", "IEEE")
    assert preprint["type"] == "article" and preprint["number"] == "arXiv:2405.01828"
    assert preprint["URL"] == "https://arxiv.org/abs/2405.01828"
    assert bare == {"id": "bare", "type": "document"}  # nothing invented


def test_references_in_a_named_style_and_in_a_file(tmp_path: Path) -> None:
    apa = csl.references([ARTICLE, PREPRINT])
    assert apa["lee2021"].startswith("Lee, A., van der Berg, A., & OpenAI. (2021).")
    assert "43, 2201–2214. https://doi.org/10.1109/tpami.1" in apa["lee2021"]
    ieee = csl.references([ARTICLE, PREPRINT], "ieee")
    assert ieee["fer"].startswith("H. Ma, “Fer-YOLO-Mamba”")  # without the style's own number
    own = tmp_path / "journal.csl"  # a journal's own style file
    shutil.copy(csl.style_path("ieee"), own)
    assert csl.references([PREPRINT], own) == {"fer": ieee["fer"]}
    assert "<i>IEEE Transactions" in csl.references([ARTICLE], html=True)["lee2021"]
    with pytest.raises(InvalidRequestError, match="no CSL style named 'no-such-style'"):
        csl.style_path("no-such-style")
    with pytest.raises(InvalidRequestError, match="no CSL style file"):
        csl.style_path(tmp_path / "missing.csl")
    (tmp_path / "bad.csl").write_text("not xml")
    with pytest.raises(InvalidRequestError, match="not a CSL style"):
        csl.references([PREPRINT], tmp_path / "bad.csl")
