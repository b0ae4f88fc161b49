"""Prompt templates as files, one per task, rendered strictly.

Each ``<task>.yaml`` holds a ``description``, the ``variables`` it needs, and a ``user``
template (Jinja2), with a ``system`` template before it unless the prompt is a turn of a
conversation already under way (``insist``) or an addition to another prompt
(``json_sentences``). The citation rules every generating prompt follows live in one partial,
``_citation_rules.j2``, included by each. Loading checks that the templates use exactly the
declared variables; rendering fails on a missing one (``StrictUndefined``).

``REFUSAL`` is the sentence a model says when the passages do not answer; prompts, code and
tests share it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml

REFUSAL = "The papers in the library do not answer this."
HERE = Path(__file__).parent
_GLOBALS = {"REFUSAL": REFUSAL}


class PromptError(Exception):
    """A prompt file is missing, malformed, or does not match its declared variables."""


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str
    variables: frozenset[str]
    system: jinja2.Template | None
    user: jinja2.Template

    def messages(self, **values: Any) -> list[dict[str, str]]:
        """The chat messages for these values; every declared variable must be given."""
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise PromptError(
                f"prompt {self.name!r} takes {sorted(self.variables)}; "
                f"missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        system = (
            []
            if self.system is None
            else [{"role": "system", "content": self.system.render(**values).strip()}]
        )
        return [*system, {"role": "user", "content": self.user.render(**values).strip()}]

    def text(self, **values: Any) -> str:
        """The user template alone, rendered (a turn to add to a conversation)."""
        return self.messages(**values)[-1]["content"]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # prompts are plain text for a model, not HTML
    )
    env.globals.update(_GLOBALS)
    return env


def _used_variables(env: jinja2.Environment, source: str) -> set[str]:
    names = set(jinja2.meta.find_undeclared_variables(env.parse(source)))
    for included in jinja2.meta.find_referenced_templates(env.parse(source)):
        if included:
            names |= _used_variables(env, (HERE / included).read_text(encoding="utf-8"))
    return names - _GLOBALS.keys()


@cache
def load(name: str) -> Prompt:
    """The prompt ``prompts/<name>.yaml``, checked: its templates use exactly its variables."""
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        raise PromptError(f"no prompt named {name!r} (looked for {path})")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise PromptError(f"{path} is not valid YAML: {e}") from e
    if not isinstance(spec, dict) or not {"description", "variables", "user"} <= spec.keys():
        raise PromptError(f"{path} needs the keys description, variables and user (and system)")
    env = _environment()
    declared = frozenset(spec["variables"] or [])
    try:
        sources = [spec["user"], *([spec["system"]] if spec.get("system") else [])]
        used = set().union(*(_used_variables(env, source) for source in sources))
        system = env.from_string(spec["system"]) if spec.get("system") else None
        user = env.from_string(spec["user"])
    except jinja2.TemplateError as e:
        raise PromptError(f"{path}: {e}") from e
    if used != declared:
        raise PromptError(
            f"{path} declares variables {sorted(declared)} but its templates use {sorted(used)}"
        )
    return Prompt(name, str(spec["description"]), declared, system, user)


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))
