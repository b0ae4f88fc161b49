"""Readers: one per format, chosen by content first and suffix second.

``read(path)`` returns a :class:`ReadResult`: the papers found in the file, and the problems with
parts of it (a malformed BibTeX entry) that did not stop the rest. A file that cannot be read at
all raises :class:`~store.errors.ReadError` with a reason meant for the user.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from store.errors import ReadError
from store.paper import Document

SUFFIXES: dict[str, str] = {
    ".pdf": "pdf",
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "s2orc",
}

_SNIFF_BYTES = 4096


@dataclass
class ReadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)


class UnsupportedFileError(ReadError):
    """The file is of a type no reader handles; reported, never guessed at."""


def detect_format(path: Path) -> str:
    """The reader for a file: by its content where the content says (PDF magic, HTML markup,
    BibTeX entries), else by its suffix. Raises ReadError for empty, binary or unknown files."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as e:
        raise ReadError(f"cannot open the file: {e.strerror or e}") from e
    if not head.strip():
        raise ReadError("the file is empty")
    if head.startswith(b"%PDF-"):
        return "pdf"
    encoding = _bom_encoding(head)
    if encoding is not None:  # UTF-16/32 text: its NUL bytes are not binary content
        head = head.decode(encoding, errors="ignore").encode("utf-8")
    suffix_format = SUFFIXES.get(path.suffix.lower())
    if b"\x00" in head:
        if suffix_format is None:
            raise UnsupportedFileError(f"unsupported file type {path.suffix or '(no suffix)'!r}")
        raise ReadError(f"binary content in a {path.suffix} file; not a text, PDF or HTML file")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or (
        suffix_format in ("text", None) and b"<html" in lowered[:1024]
    ):
        return "html"
    if suffix_format is None:
        raise UnsupportedFileError(f"unsupported file type {path.suffix or '(no suffix)'!r}")
    return suffix_format


def read(path: Path) -> ReadResult:
    """Read one file into papers. Raises ReadError when the whole file is unreadable."""
    fmt = detect_format(path)
    reader = _readers()[fmt]
    result = reader(path)
    for document in result.documents:
        document.paper.source_format = document.paper.source_format or fmt
    return result


def walk(
    paths: list[Path], problems: list[tuple[Path, str, bool]] | None = None
) -> Iterator[tuple[Path, bool]]:
    """Files under the given paths, folders recursively in name order, hidden entries skipped.
    Yields (file, named): ``named`` is True for a file the user named directly. A folder that
    cannot be listed, and a linked folder already read (a loop), go into ``problems`` as
    (folder, why, failed); linked folders are followed once."""
    found = problems if problems is not None else []
    for path in paths:
        if not path.is_dir():
            yield path, True
            continue
        seen = {path.resolve()}

        def unreadable(error: OSError) -> None:
            found.append((Path(error.filename), f"cannot list the folder: {error.strerror or error}", True))

        for root, dirs, files in os.walk(path, onerror=unreadable, followlinks=True):
            kept = []
            for name in sorted(d for d in dirs if not d.startswith(".")):
                real = (Path(root) / name).resolve()
                if real in seen:
                    found.append(
                        (Path(root) / name, f"a link to a folder already read ({real}); skipped", False)
                    )
                    continue
                seen.add(real)
                kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                if not name.startswith("."):
                    yield Path(root) / name, False


def read_text(path: Path) -> str:
    """A text file's content: by its byte-order mark (UTF-8, -16, -32), else UTF-8, else the
    encoding charset-normalizer finds most likely (cp1252, latin-1, Shift-JIS, …)."""
    raw = path.read_bytes()
    encoding = _bom_encoding(raw)
    if encoding is not None:
        return raw.decode(encoding, errors="replace").lstrip("\ufeff")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import charset_normalizer  # a well-kept detector (requests uses it)

    best = charset_normalizer.from_bytes(raw).best()
    return str(best) if best is not None else raw.decode("latin-1")


def _bom_encoding(raw: bytes) -> str | None:
    """The encoding a byte-order mark announces (UTF-32 before UTF-16: its marks begin alike)."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            return encoding
    return None


def _readers() -> dict[str, Callable[[Path], ReadResult]]:
    # imported here so that a format's dependencies load only when a file of it is read
    from store.readers import bibtex, html, listings, pdf, s2orc

    return {
        "pdf": pdf.read,
        "bibtex": bibtex.read,
        "text": listings.read,
        "markdown": html.read_markdown,
        "html": html.read_html,
        "s2orc": s2orc.read,
    }
