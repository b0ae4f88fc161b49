"""litassist: a literature assistant over your own papers.

The public surface: ``from assistant import Library`` and what its methods take and return
(answers, summaries, drafts, hits, the chat model protocol, settings, errors); ``from assistant
import evaluation`` for the evaluation layer above it. ``store``, ``prompts`` and ``ui`` are
internal packages of the same distribution.
"""

from assistant.settings import LLMSettings, Settings, endpoint_origin, quiet_third_parties

# before anything imports chromadb, gradio or huggingface_hub (some read these at import):
# no telemetry, no downloads, for the CLI, the UI, the tests and any program that imports us
quiet_third_parties()

from assistant.answer import Answer, AnswerParameters, Mode  # noqa: E402
from assistant.citations import SentenceSupport  # noqa: E402
from assistant.draft import Draft, DraftSection  # noqa: E402
from assistant.edits import missing_metadata  # noqa: E402
from assistant.errors import (  # noqa: E402
    ContextTooLongError,
    EmbedderMismatchError,
    EmbeddingError,
    EndpointAuthError,
    EndpointResponseError,
    EndpointUnreachableError,
    EvaluationDataError,
    InvalidRequestError,
    LibraryError,
    LitassistError,
    LLMError,
    ModelNotFoundError,
    NothingToDraftError,
    NothingToSummarizeError,
    PaperNotFoundError,
    ReadError,
    UnsupportedFileError,
)
from assistant.evidence import Evidence  # noqa: E402
from assistant.filters import Filters  # noqa: E402
from assistant.grounding import Citation, Reference  # noqa: E402
from assistant.library import Library  # noqa: E402
from assistant.llm import SESSION_ORIGIN, Chat, ChatModel, ChatStream, Completion, Usage  # noqa: E402
from assistant.passages import Hit, Passage  # noqa: E402
from assistant.retrieval import RetrievalParameters  # noqa: E402
from assistant.sample import SampleFill  # noqa: E402
from assistant.summary import Summaries, Summary  # noqa: E402
from assistant.tables import Table  # noqa: E402
from store.chroma import StoredPaper  # noqa: E402
from store.ingest import IngestEvent, IngestReport, Outcome  # noqa: E402
from store.paper import Chunk, Paper  # noqa: E402
from store.sentences import sentence_spans  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "SESSION_ORIGIN",
    "Answer",
    "AnswerParameters",
    "Chat",
    "ChatModel",
    "ChatStream",
    "Chunk",
    "Citation",
    "Completion",
    "ContextTooLongError",
    "Draft",
    "DraftSection",
    "EmbedderMismatchError",
    "EmbeddingError",
    "EndpointAuthError",
    "EndpointResponseError",
    "EndpointUnreachableError",
    "EvaluationDataError",
    "Evidence",
    "Filters",
    "Hit",
    "IngestEvent",
    "IngestReport",
    "InvalidRequestError",
    "LLMError",
    "LLMSettings",
    "Library",
    "LibraryError",
    "LitassistError",
    "Mode",
    "ModelNotFoundError",
    "NothingToDraftError",
    "NothingToSummarizeError",
    "Outcome",
    "Paper",
    "PaperNotFoundError",
    "Passage",
    "ReadError",
    "Reference",
    "RetrievalParameters",
    "SampleFill",
    "SentenceSupport",
    "Settings",
    "StoredPaper",
    "Summaries",
    "Summary",
    "Table",
    "UnsupportedFileError",
    "Usage",
    "__version__",
    "endpoint_origin",
    "missing_metadata",
    "sentence_spans",
]
