"""litassist: a literature assistant over your own papers.

The public surface: ``from assistant import Library``. ``store``, ``prompts`` and ``ui`` are
internal packages of the same distribution.
"""

from assistant.errors import (
    EmbedderMismatchError,
    EmbeddingError,
    EvaluationDataError,
    InvalidRequestError,
    LibraryError,
    LitassistError,
    PaperNotFoundError,
    ReadError,
    UnsupportedFileError,
)
from assistant.library import Library
from assistant.settings import Settings
from assistant.tables import Table
from store.ingest import IngestEvent, IngestReport, Outcome
from store.paper import Chunk, Paper

__version__ = "0.1.0"

__all__ = [
    "Chunk",
    "EmbedderMismatchError",
    "EmbeddingError",
    "EvaluationDataError",
    "IngestEvent",
    "IngestReport",
    "InvalidRequestError",
    "Library",
    "LibraryError",
    "LitassistError",
    "Outcome",
    "Paper",
    "PaperNotFoundError",
    "ReadError",
    "Settings",
    "Table",
    "UnsupportedFileError",
    "__version__",
]
