"""The architecture stays visible: ui -> assistant -> {store, prompts}; a small public surface."""

from __future__ import annotations

import ast
from pathlib import Path

import assistant
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


def test_public_surface_is_sorted_and_real() -> None:
    assert assistant.__all__ == sorted(assistant.__all__)
    for name in assistant.__all__:
        assert hasattr(assistant, name), name
    assert set(assistant.__all__) >= {"Library", "Paper", "IngestReport", "Settings"}


def test_no_dumping_ground_modules() -> None:
    names = {p.name for p in ROOT.glob("*/*.py")} | {p.name for p in ROOT.glob("*/*/*.py")}
    assert not names & {"utils.py", "helpers.py", "misc.py"}
