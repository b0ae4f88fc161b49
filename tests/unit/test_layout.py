"""The architecture stays visible: ui -> assistant -> {store, prompts}; a small public surface."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import assistant
from tests import module_graph
from tests.conftest import ROOT

FORBIDDEN = {
    "store": {"assistant", "ui"},
    "prompts": {"assistant", "ui", "store"},
    "assistant": {"ui"},
}
# the command line is a front end beside the UI: its `litassist ui` command starts the app
EXCEPTIONS = {"assistant/cli.py": {"ui"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_dependency_direction() -> None:
    offences = []
    for package, forbidden in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            bad = imported_packages(path) & forbidden - EXCEPTIONS.get(str(path.relative_to(ROOT)), set())
            if bad:
                offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offences == []


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return module_graph.graph()


def test_no_module_imports_a_layer_above_its_own(edges: dict[str, set[str]]) -> None:
    """ui -> assistant.cli / assistant.evaluation -> assistant -> {store, prompts}: evaluation
    drives a Library from above, and the library knows nothing of it."""
    assert "assistant.evaluation" in edges and "assistant.library" in edges
    assert module_graph.upward(edges) == []


def test_no_import_cycles(edges: dict[str, set[str]]) -> None:
    assert module_graph.cycles(edges) == []


def test_the_graph_sees_an_upward_import_and_a_cycle() -> None:
    edges = {"assistant.library": {"assistant.evaluation"}, "assistant.evaluation": {"assistant.library"}}
    assert module_graph.upward(edges) == ["assistant.library imports assistant.evaluation"]
    assert module_graph.cycles(edges) == [["assistant.evaluation", "assistant.library"]]


def _isort(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in (RUF022): constants, classes, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_public_surface_is_sorted_and_real() -> None:
    assert assistant.__all__ == sorted(assistant.__all__, key=_isort)
    for name in assistant.__all__:
        assert hasattr(assistant, name), name
    assert set(assistant.__all__) >= {"Library", "Paper", "IngestReport", "Settings"}


def project_classes() -> set[str]:
    """The public classes the project's own packages define (top level, no leading underscore)."""
    names = set()
    for package in ("assistant", "store"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names |= {n.name for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")}
    return names


def test_every_class_the_docs_name_is_exported() -> None:
    """What the user's documentation (the README, the docs but the architecture notes, which are
    about the internals) tells a user to pass, catch or read is importable from ``assistant``."""
    docs = [
        ROOT / "README.md",
        *(p for p in sorted((ROOT / "docs").glob("*.md")) if p.name != "architecture.md"),
    ]
    text = "\n".join(path.read_text(encoding="utf-8") for path in docs if path.is_file())
    spans = re.findall(r"```python\n(.*?)```", text, flags=re.S) + re.findall(r"`([^`\n]+)`", text)
    named = {word for span in spans for word in re.findall(r"\b[A-Z][A-Za-z]+\b", span)}
    internal = {"Ingest", "Retriever", "Answerer", "Drafter", "Summarizer"}  # the library's workers
    missing = sorted((named & project_classes()) - set(assistant.__all__) - internal)
    assert missing == [], f"named in the docs but not exported from assistant: {missing}"


def test_the_ui_uses_only_the_public_surface(edges: dict[str, set[str]]) -> None:
    reaching_in = {
        f"{module} imports {target}"
        for module, targets in edges.items()
        if module.startswith("ui")
        for target in targets
        if not target.startswith("ui") and target not in {"assistant", "assistant.evaluation"}
    }
    assert sorted(reaching_in) == []


def test_no_dumping_ground_modules() -> None:
    names = {p.name for p in ROOT.glob("*/*.py")} | {p.name for p in ROOT.glob("*/*/*.py")}
    assert not names & {"utils.py", "helpers.py", "misc.py"}
