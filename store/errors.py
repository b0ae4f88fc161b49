"""Errors the store raises; the public tree is drawn in ``assistant.errors``."""

from __future__ import annotations


class LitassistError(Exception):
    """Base of every error litassist raises on purpose."""


class ReadError(LitassistError):
    """A file could not be read as a paper; the message says why, in words for the user."""


class LibraryError(LitassistError):
    """The library cannot be opened or changed as asked."""


class EmbedderMismatchError(LibraryError):
    """The library was built with another embedder; mixing vectors would corrupt search."""


class PaperNotFoundError(LibraryError, KeyError):
    """No paper with that key in the library."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EmbeddingError(LitassistError):
    """The embedder failed (model missing, endpoint down or answering garbage)."""
