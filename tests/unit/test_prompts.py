"""The prompt files and their strict loader."""

from __future__ import annotations

from pathlib import Path

import pytest

import prompts
from prompts import PromptError


def test_every_prompt_loads_and_generating_prompts_share_the_citation_rules() -> None:
    assert {"answer", "rewrite"} <= set(prompts.names())
    for name in prompts.names():
        prompt = prompts.load(name)
        assert prompt.description
    answer = prompts.load("answer")
    system = answer.messages(question="q", passages=[])[0]["content"]
    rules = (prompts.HERE / "_citation_rules.j2").read_text().splitlines()[0]
    assert rules in system and prompts.REFUSAL in system


def test_passages_are_labelled_with_their_keys() -> None:
    passages = [{"key": "smith2020deep", "title": "Deep Things", "year": 2020, "text": "We do deep things."}]
    user = prompts.load("answer").messages(question="What?", passages=passages)[1]["content"]
    assert "[@smith2020deep] Deep Things (2020)" in user and "We do deep things." in user
    assert user.rstrip().endswith("Question: What?")


def test_missing_or_unexpected_values_are_refused() -> None:
    with pytest.raises(PromptError, match=r"missing \['passages'\]"):
        prompts.load("answer").messages(question="q")
    with pytest.raises(PromptError, match=r"unexpected \['extra'\]"):
        prompts.load("answer").messages(question="q", passages=[], extra=1)


@pytest.fixture
def prompt_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "_citation_rules.j2").write_text("cite {{ REFUSAL }}")
    monkeypatch.setattr(prompts, "HERE", tmp_path)
    prompts.load.cache_clear()
    yield tmp_path
    prompts.load.cache_clear()


def test_declared_variables_must_match_the_templates(prompt_dir: Path) -> None:
    (prompt_dir / "bad.yaml").write_text(
        "description: d\nvariables: [question]\nsystem: '{% include \"_citation_rules.j2\" %}'\n"
        "user: '{{ question }} {{ passages }}'\n"
    )
    with pytest.raises(PromptError, match=r"declares variables \['question'\] but its templates use"):
        prompts.load("bad")


def test_malformed_and_missing_prompt_files(prompt_dir: Path) -> None:
    (prompt_dir / "broken.yaml").write_text("description: [unclosed\n")
    with pytest.raises(PromptError, match=r"not valid YAML"):
        prompts.load("broken")
    (prompt_dir / "partial.yaml").write_text("description: d\nvariables: []\n")
    with pytest.raises(PromptError, match=r"needs the keys"):
        prompts.load("partial")
    with pytest.raises(PromptError, match=r"no prompt named 'absent'"):
        prompts.load("absent")
    (prompt_dir / "syntax.yaml").write_text("description: d\nvariables: []\nsystem: '{% if %}'\nuser: u\n")
    with pytest.raises(PromptError, match=r"syntax.yaml"):
        prompts.load("syntax")
