"""Uploaded files, kept in the library's ``uploads`` folder so that their papers' sources stay
readable after Gradio clears its cache. A name that a browser sends is never trusted: it is cut
to its last part and to safe characters, and the result must lie inside the folder."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

MAX_NAME = 120
NAMES = ".names.json"  # kept copy's name -> the name it was uploaded under


class UploadError(Exception):
    """An upload that is refused (too large, not a file), and why."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


def safe_name(name: str) -> str:
    """A file name that cannot leave a folder: no directories (``/`` or ``\\``), no leading
    dots, only letters, digits, ``.``, ``-`` and ``_``; the suffix is kept."""
    base = PureWindowsPath(PurePosixPath(name).name).name  # both separators
    base = re.sub(r"[^\w.-]+", "_", base, flags=re.ASCII).lstrip("._")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[: MAX_NAME - len(suffix) - 1] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


@dataclass(frozen=True)
class Stored:
    path: Path  # where the upload is kept
    name: str  # the name the user gave it
    new: bool  # False: the same file had been uploaded before


class Uploads:
    def __init__(self, folder: Path, max_bytes: int):
        self.folder = folder
        self.max_bytes = max_bytes

    def keep(self, temporary: Path, name: str) -> Stored:
        """Copy an uploaded file in under a safe name. The same content uploaded again gets the
        same file; another file with the same name gets a numbered one."""
        if not temporary.is_file():
            raise UploadError(name, "not a file")
        size = temporary.stat().st_size
        if size > self.max_bytes:
            limit = f"{size / 1e6:.1f} MB is over the upload limit of {self.max_bytes / 1e6:.0f} MB"
            raise UploadError(name, limit)
        self.folder.mkdir(parents=True, exist_ok=True)
        root = self.folder.resolve()
        stem, dot, suffix = safe_name(name).rpartition(".")
        if not dot:
            stem, suffix = suffix, ""
        digest = _digest(temporary)
        for n in range(1, 10_000):
            candidate = f"{stem}-{n}" if n > 1 else stem
            target = (root / (f"{candidate}.{suffix}" if suffix else candidate)).resolve()
            if target.parent != root:  # cannot happen after safe_name; checked all the same
                raise UploadError(name, "not a usable file name")
            if not target.exists():
                shutil.copyfile(temporary, target)
                self._remember(target, name)
                return Stored(target, name, new=True)
            if target.stat().st_size == size and _digest(target) == digest:
                return Stored(target, name, new=False)
        raise UploadError(name, "too many uploads with this name")

    def original(self, path: Path) -> str | None:
        """The name a kept file was uploaded under (its copy's name is made safe, and numbered
        when the name was taken), or None for a file that was not uploaded here."""
        try:
            if path.resolve().parent != self.folder.resolve():
                return None
        except OSError:
            return None
        return self._names().get(path.name)

    def _names(self) -> dict[str, str]:
        try:
            names = json.loads((self.folder / NAMES).read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}

    def _remember(self, target: Path, name: str) -> None:
        shown = PureWindowsPath(PurePosixPath(name).name).name  # no folders of the sender's
        self._write_names({**self._names(), target.name: shown})

    def _write_names(self, names: dict[str, str]) -> None:
        manifest = self.folder / NAMES
        temporary = manifest.with_suffix(".tmp")
        temporary.write_text(json.dumps(names, ensure_ascii=False, indent=0))
        temporary.replace(manifest)

    def discard(self, stored: Stored) -> None:
        """Forget an upload that could not be read (one kept before stays)."""
        if stored.new:
            stored.path.unlink(missing_ok=True)
            names = self._names()
            if names.pop(stored.path.name, None) is not None:
                self._write_names(names)


def _digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
