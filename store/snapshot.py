"""A private, temporary copy of some folders of a library, to read a library that cannot be
written: Chroma opens its SQLite database only to write it (even to list or search), and the
lexical index takes a file lock and refreshes itself beside its data. Both work on the copy;
the original is only read. The copy is removed by ``close()``, when it is garbage-collected, or
when the process exits."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path


def size(folders: Iterable[Path]) -> int:
    """Bytes in the regular files under ``folders`` (missing ones hold none; links are not
    followed)."""
    total = 0
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                info = os.lstat(os.path.join(root, name))
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
    return total


class Snapshot:
    """The folders ``names`` of ``folder`` (those that exist), copied into ``path``, a new
    temporary folder. Files are copied without their permissions, so that a copy of read-only
    files can be written."""

    def __init__(self, folder: Path, names: Sequence[str]):
        self.source = folder
        self.path = Path(tempfile.mkdtemp(prefix="litassist-read-only-"))
        self._remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)
        try:
            for name in names:
                _copy_tree(folder / name, self.path / name)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Remove the copy (once; later calls do nothing)."""
        self._remove()

    @property
    def closed(self) -> bool:
        return not self._remove.alive

    def __repr__(self) -> str:
        return f"<Snapshot of {self.source} at {self.path}>"


def _copy_tree(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    for root, folders, files in os.walk(source):
        here = target / Path(root).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        folders.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if stat.S_ISREG(os.lstat(path).st_mode):  # no links, sockets or fifos
                shutil.copyfile(path, here / name)
