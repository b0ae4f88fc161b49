"""The example files the project ships (``examples/`` in the repository): a few real papers in
every format the readers take, and a gold file for ``litassist eval``. In a checkout (or an
editable install) they are the repository's ``examples/`` folder; an installed wheel carries them
as data files under ``<prefix>/share/litassist/examples`` (pyproject.toml), the prefix being the
environment's or, after ``pip install --user``, the user's. ``litassist examples
DIR`` copies them to a folder of the user's, so that the README's commands run as written.
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

from assistant.errors import LitassistError

_MARKER = "README.md"  # examples/README.md: says where each file comes from, and its licence


def examples_folder() -> Path:
    """The shipped examples: the checkout's ``examples/``, else the installed data files."""
    data = [sysconfig.get_path("data"), sysconfig.get_path("data", sysconfig.get_preferred_scheme("user"))]
    candidates = [
        Path(__file__).resolve().parents[1] / "examples",  # a checkout, an editable install
        *(Path(folder) / "share" / "litassist" / "examples" for folder in data),  # a venv; pip --user
    ]
    for folder in candidates:
        if (folder / _MARKER).is_file():
            return folder
    raise LitassistError(
        "the example files are not installed (looked in " + ", ".join(str(c) for c in candidates) + ")"
    )


def copy_examples(target: Path) -> list[Path]:
    """Copies the example files into ``target`` (created when missing) and returns the files
    written (none when ``target`` is the shipped folder itself). A file that is already there
    is never overwritten: that is an error naming it, and nothing is copied."""
    source = examples_folder()
    if target.resolve() == source.resolve():
        return []  # a checkout's own examples/: already where the README's commands look
    files = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    there = [target / p.relative_to(source) for p in files if (target / p.relative_to(source)).exists()]
    if there:
        raise LitassistError(
            f"{there[0]} already exists ({len(there)} of the example files are in {target}); "
            "choose another folder or remove them"
        )
    written = []
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        written.append(destination)
    return written
