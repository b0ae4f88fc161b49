"""The errors litassist raises on purpose. Every message names the object and the fix.

LitassistError
├── ReadError                 a file could not be read as a paper (reported per file)
│   └── UnsupportedFileError  a file type no reader handles
├── LibraryError              the library cannot be opened or changed as asked
│   ├── EmbedderMismatchError the library was built with another embedder
│   └── PaperNotFoundError    no paper with that key (also a KeyError)
└── EmbeddingError            the embedder failed (model missing, endpoint down or garbage)
"""

from store.errors import (
    EmbedderMismatchError,
    EmbeddingError,
    LibraryError,
    LitassistError,
    PaperNotFoundError,
    ReadError,
)
from store.readers import UnsupportedFileError

__all__ = [
    "EmbedderMismatchError",
    "EmbeddingError",
    "LibraryError",
    "LitassistError",
    "PaperNotFoundError",
    "ReadError",
    "UnsupportedFileError",
]
