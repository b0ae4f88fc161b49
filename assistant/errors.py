"""The errors litassist raises on purpose. Every message names the object and the fix.

LitassistError
├── ReadError                  a file could not be read as a paper (reported per file)
│   └── UnsupportedFileError   a file type no reader handles
├── LibraryError               the library cannot be opened or changed as asked
│   ├── EmbedderMismatchError  the library was built with another embedder
│   └── PaperNotFoundError     no paper with that key (also a KeyError)
├── EmbeddingError             the embedder failed (model missing, endpoint down or garbage)
├── NothingToDraftError        an empty library, or no paper about a draft's topic
├── NothingToSummarizeError    a paper without passages, or no papers found to summarise
├── EvaluationDataError        a questions or topics file that cannot be read (file, line, fix)
├── InvalidRequestError        a request that cannot be served as asked (an empty topic, an
│                              unknown option, a model's mode without a model); also a ValueError
└── LLMError                   the chat endpoint failed; the message names it and the fix
    ├── EndpointUnreachableError  nothing answers at the base URL (or it timed out)
    ├── EndpointAuthError         the endpoint refused the key (401/403)
    ├── ModelNotFoundError        the endpoint does not serve the configured model
    ├── ContextTooLongError       the prompt does not fit, even after trimming passages
    └── EndpointResponseError     a 429/5xx after the retries, a body that is not the API's,
                                  or a stream that was malformed or cut off
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


class LLMError(LitassistError):
    """The chat endpoint failed."""


class EndpointUnreachableError(LLMError):
    """Nothing answers at the configured base URL, or it did not answer in time."""


class EndpointAuthError(LLMError):
    """The endpoint refused the key."""


class ModelNotFoundError(LLMError):
    """The endpoint does not serve the configured model."""


class ContextTooLongError(LLMError):
    """The prompt does not fit the model's context, even with fewer passages."""


class EndpointResponseError(LLMError):
    """Rate-limited or failing after the retries, or an answer that is not the API's."""


class NothingToDraftError(LitassistError):
    """The library is empty, or no paper in it is about the topic of a draft."""


class NothingToSummarizeError(LitassistError):
    """A paper without passages, or no papers found to summarise."""


class EvaluationDataError(LitassistError):
    """A questions or topics file for ``litassist eval`` that cannot be read as one."""


__all__ = [
    "ContextTooLongError",
    "EmbedderMismatchError",
    "EmbeddingError",
    "EndpointAuthError",
    "EndpointResponseError",
    "EndpointUnreachableError",
    "EvaluationDataError",
    "LLMError",
    "LibraryError",
    "LitassistError",
    "ModelNotFoundError",
    "NothingToDraftError",
    "NothingToSummarizeError",
    "PaperNotFoundError",
    "ReadError",
    "UnsupportedFileError",
]


class InvalidRequestError(LitassistError, ValueError):
    """A request the library cannot serve as asked: an empty topic, an unknown option, the
    model's mode without a model. A ValueError too, as a wrong argument is in Python."""
