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


def test_passages_are_numbered_and_the_question_ends_the_prompt() -> None:
    passages = [
        {"label": 1, "title": "Deep Things", "year": 2020, "where": None, "text": "We do deep things."},
        {"label": 2, "title": "Wide Things", "year": None, "where": "Method, page 3", "text": "Wide."},
    ]
    messages = prompts.load("answer").messages(question="What?", passages=passages)
    system, user = (m["content"] for m in messages)
    assert "[1] Deep Things (2020)\nWe do deep things." in user
    assert "[2] Wide Things, Method, page 3\nWide." in user
    # the system prompt is the same for every question (a server reuses its cached prefix)
    assert "What?" not in system and "Question: What?" in user
    assert user.index("Question: What?") > user.index("Wide.")


def test_a_turn_prompt_has_no_system_part() -> None:
    (turn,) = prompts.load("insist").messages(labels="[1] and [2]", first="[1]", task="answer the question.")
    assert turn["role"] == "user" and "[1] and [2]" in turn["content"]


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
