"""Readers: one per format, chosen by content first and suffix second.

``read(path)`` returns a :class:`ReadResult`: the papers found in the file, and the problems with
parts of it (a malformed BibTeX entry) that did not stop the rest. A file that cannot be read at
all raises :class:`~store.errors.ReadError` with a reason meant for the user.

Reading is bounded (:class:`Limits`): a text file above a size is refused unread, a file whose
reading takes too long is given up on, and a paper's text reaches the chunker in pieces of at
most ``PIECE_CHARS`` (splitting one run of text costs the chunker ~125 bytes of memory per
character: 2.8 GB for a 20 MB line).
"""

from __future__ import annotations

import codecs
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from store.errors import ReadError
from store.paper import Document, Section

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
PIECE_CHARS = 50_000  # a section longer than this reaches the chunker in pieces
LONGEST_ABSTRACT = 20_000  # characters; ten times the longest real abstract: longer is body text


@dataclass(frozen=True)
class Limits:
    """Bounds on reading one file (None: none). ``max_text_mb``: text formats (everything but
    PDF) above it are refused before they are read; ``max_seconds``: a file whose reading takes
    longer is given up on (enforced in the main thread, where a timer signal can interrupt the
    reader; elsewhere the size limit is the bound)."""

    max_text_mb: float | None = None
    max_seconds: float | None = None


@dataclass
class ReadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)


class UnsupportedFileError(ReadError):
    """The file is of a type no reader handles; reported, never guessed at."""


def detect_format(path: Path) -> str:
    """The reader for a file: by its content where the content says (PDF magic, HTML markup,
    BibTeX entries), else by its suffix. Raises ReadError for empty, binary or unknown files.
    A Zotero data directory (or its ``zotero.sqlite``) is read by the Zotero reader."""
    if _is_zotero(path):
        return "zotero"
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


def read(path: Path, limits: Limits | None = None) -> ReadResult:
    """Read one file into papers. Raises ReadError when the whole file is unreadable, or is
    beyond ``limits``."""
    limits = limits or Limits()
    if path.exists() and not path.is_file() and not _is_zotero(path):
        raise ReadError("not a regular file (a device, a pipe or a socket); not read")
    fmt = detect_format(path)
    if fmt not in ("pdf", "zotero") and limits.max_text_mb is not None:
        size = path.stat().st_size
        if size > limits.max_text_mb * 2**20:
            raise ReadError(
                f"the file is {size / 2**20:.1f} MB, above the {limits.max_text_mb:g} MB limit for text "
                "files; not read (raise LITASSIST_INGEST__MAX_TEXT_MB to read it)"
            )
    reader = _readers()[fmt]
    # a Zotero library is a whole library's files: the time limit is for one file
    with _deadline(limits.max_seconds if fmt != "zotero" else None):
        result = reader(path)
    for document in result.documents:
        document.paper.source_format = document.paper.source_format or fmt
        _bound(document)
    return result


def _bound(document: Document) -> None:
    """Pieces of at most PIECE_CHARS for the chunker; an "abstract" far longer than any
    abstract (a listing line that is a whole dump) is read as the paper's text."""
    paper = document.paper
    if paper.abstract and len(paper.abstract) > LONGEST_ABSTRACT:
        document.sections.insert(0, Section(text=paper.abstract, heading="Abstract"))
        paper.abstract = None
    if any(len(s.text) > PIECE_CHARS for s in document.sections):
        document.sections = [
            replace(section, text=piece) for section in document.sections for piece in pieces(section.text)
        ]


def pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut after a sentence where there is
    one in a piece's second half, else at a space, else anywhere."""
    found = []
    start = 0
    while len(text) - start > size:
        end = start + size
        cut = -1
        for mark in (". ", "\n", " "):
            cut = text.rfind(mark, start + size // 2, end)
            if cut != -1:
                cut += len(mark)
                break
        if cut == -1:
            cut = end
        found.append(text[start:cut])
        start = cut
    found.append(text[start:])
    return [piece for piece in found if piece.strip()]


class _Overtime(BaseException):
    """Raised into a reader by the timer (not an Exception: no reader's handler swallows it)."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Give up on a reader that runs longer than ``seconds``: a timer signal interrupts it
    between two Python steps. Only in the main thread (signals are delivered there), and only
    where no one else uses the timer."""
    if (
        seconds is None
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None)
    ):
        yield
        return

    fired = False

    def expired(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:  # the timer fires once: this is raised once, and caught below
            fired = True
            raise _Overtime

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Overtime:
        raise ReadError(
            f"reading it took longer than {seconds:g} s; given up (raise LITASSIST_INGEST__MAX_READ_SECONDS "
            "to read it)"
        ) from None
    finally:
        signal.signal(signal.SIGALRM, previous)


def walk(
    paths: list[Path],
    problems: list[tuple[Path, str, bool]] | None = None,
    *,
    own: Sequence[Path] = (),
) -> Iterator[tuple[Path, bool]]:
    """Files under the given paths, folders recursively in name order, hidden entries skipped.
    Yields (file, named): ``named`` is True for a file the user named directly. A folder that
    cannot be listed, a linked folder already read (a loop), a folder of ``own`` (the library's
    own files, when its folder is inside the one added) and a folder's README (its
    documentation, not a paper; naming the file reads it) go into ``problems`` as (path, why,
    failed), and so does a folder named with nothing in it; linked folders are followed once."""
    found = problems if problems is not None else []
    skip = {p.resolve() for p in own}
    for path in paths:
        if not path.is_dir() or _is_zotero(path):  # a Zotero data directory is read as one
            yield path, True
            continue
        if path.resolve() in skip:
            found.append((path, "the library's own folder; not read", False))
            continue
        seen = {path.resolve()}
        reported, files_read = len(found), 0

        def unreadable(error: OSError) -> None:
            found.append((Path(error.filename), f"cannot list the folder: {error.strerror or error}", True))

        for root, dirs, files in os.walk(path, onerror=unreadable, followlinks=True):
            kept = []
            for name in sorted(d for d in dirs if not d.startswith(".")):
                real = (Path(root) / name).resolve()
                if real in skip:
                    found.append((Path(root) / name, "the library's own folder; not read", False))
                    continue
                if real in seen:
                    found.append(
                        (Path(root) / name, f"a link to a folder already read ({real}); skipped", False)
                    )
                    continue
                seen.add(real)
                kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                if Path(name).stem.lower() == "readme":
                    found.append(
                        (
                            Path(root) / name,
                            "a folder's README, not a paper (name the file to read it)",
                            False,
                        )
                    )
                elif not name.startswith("."):
                    files_read += 1
                    yield Path(root) / name, False
        if files_read == 0 and len(found) == reported:  # nothing in it, not even a README
            found.append((path, "no files to read in the folder", False))


def _is_zotero(path: Path) -> bool:
    """A Zotero data directory, or the ``zotero.sqlite`` in one."""
    if path.name == "zotero.sqlite" and path.is_file():
        return True
    return path.is_dir() and (path / "zotero.sqlite").is_file()


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
    from store.readers import bibtex, html, listings, pdf, s2orc, zotero

    return {
        "pdf": pdf.read,
        "bibtex": bibtex.read,
        "text": listings.read,
        "markdown": html.read_markdown,
        "html": html.read_html,
        "s2orc": s2orc.read,
        "zotero": zotero.read,
    }
