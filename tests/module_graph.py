"""The project's module graph, read from the source with ``ast``: which internal module imports
which (imports under ``if TYPE_CHECKING:`` are left out: they are for the type checker only).

    .venv/bin/python tests/module_graph.py [ROOT]   # every module's layer and what it imports

Layers, top to bottom: ``ui`` → ``assistant.cli`` and ``assistant.evaluation`` → ``assistant``
→ ``store`` and ``prompts``. A module may import its own layer and those below it, never one
above (``tests/unit/test_layout.py``), and no modules import each other in a cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ui", "assistant", "store", "prompts")
# the command line's `litassist ui` starts the app: a front end may start the other front end
ALLOWED_UPWARDS = {("assistant.cli", "ui.app")}


def layer(module: str) -> int:
    """3 for the front ends, 2 for what drives the library from above, 1 the library, 0 below."""
    if module.startswith("ui"):
        return 3
    if module.startswith(("assistant.cli", "assistant.evaluation")):
        return 2
    if module.startswith("assistant"):
        return 1
    return 0


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, known: set[str]) -> set[str]:
    """The internal modules ``path`` imports at run time (at the top or inside functions)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from assistant import evaluation` imports a module, not a name
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {name for name in found if name in known}


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each internal module and the internal modules it imports (itself and its own package's
    ``__init__`` left out)."""
    paths = {module_name(p, root): p for package in PACKAGES for p in (root / package).rglob("*.py")}
    known = set(paths)
    return {
        name: {m for m in imports(path, known) if m != name and not name.startswith(m + ".")}
        for name, path in sorted(paths.items())
    }


def upward(edges: dict[str, set[str]]) -> list[str]:
    """The imports of a module from a layer above its own."""
    return [
        f"{a} imports {b}"
        for a, targets in edges.items()
        for b in sorted(targets)
        if layer(b) > layer(a) and (a, b) not in ALLOWED_UPWARDS
    ]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other (strongly connected, more than one), by
    Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def main() -> None:
    edges = graph(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT)
    for name, targets in edges.items():
        print(f"[{layer(name)}] {name} -> {', '.join(sorted(targets)) or '-'}")
    print(f"upward imports: {upward(edges) or 'none'}")
    print(f"cycles: {cycles(edges) or 'none'}")


if __name__ == "__main__":
    main()
