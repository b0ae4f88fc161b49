"""All of litassist's settings, in one object read from the environment (prefix ``LITASSIST_``,
nested groups with ``__``: ``LITASSIST_CHROMA__MODE=server``) and from a ``.env`` file.

This module is the only place that reads the environment.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from platformdirs import user_data_path
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict


def _http_url(value: str | None) -> str | None:
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http(s) URL - e.g. http://127.0.0.1:8080/v1")
    return value


class ChromaSettings(BaseModel):
    mode: Literal["embedded", "server"] = Field(
        "embedded", description="embedded: a folder inside the library; server: a `chroma run` server"
    )
    host: str = Field("127.0.0.1", description="Chroma server host (server mode)")
    port: int = Field(8000, ge=1, le=65535, description="Chroma server port (server mode)")
    ssl: bool = Field(False, description="use https to reach the server")
    token: SecretStr | None = Field(None, description="bearer token for a secured Chroma server")
    prefix: str = Field("", description="prefix of the collection names (several libraries on one server)")
    search_ef: int = Field(
        800,
        ge=10,
        description="breadth of the dense index's search (HNSW ef): at Chroma's 100, a query's 100 nearest "
        "passages of 10k held 86% of the exact ones; at 800, 99.7%",
    )


class EmbedderSettings(BaseModel):
    provider: Literal["local", "openai"] = Field(
        "local", description="local: packaged all-MiniLM-L6-v2 (ONNX); openai: an /v1/embeddings endpoint"
    )
    model: str = Field("text-embedding-3-small", description="model name at the embeddings endpoint")
    base_url: str | None = Field(None, description="embeddings endpoint base URL (openai provider)")
    api_key: SecretStr | None = Field(None, description="key for the embeddings endpoint")
    # the int8 model on 2 cores runs fastest with small batches: tests/bench/bench_ingest.py
    batch_size: int = Field(2, ge=1, description="texts per batch of the local model")
    threads: int | None = Field(
        None, ge=1, description="CPU threads for the local model", json_schema_extra={"shown": "all cores"}
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)


class ChunkingSettings(BaseModel):
    chunk_size: int = Field(220, ge=16, description="chunk size in embedder tokens (the model reads 256)")
    chunk_overlap: int = Field(30, ge=0, description="overlap between consecutive chunks, in tokens")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"the overlap ({self.chunk_overlap}) must be smaller than the chunk size ({self.chunk_size})"
            )
        return self


class IngestSettings(BaseModel):
    max_text_mb: float = Field(
        10,
        gt=0,
        description="text files (listings, BibTeX, Markdown, HTML, JSON) larger than this, in MB, are "
        "refused unread (a paper's text is ~0.1 MB; each MB is ~1,000 passages to embed); PDFs are not "
        "limited by size",
    )
    max_read_seconds: float = Field(
        120, gt=0, description="a file whose reading (parsing, before embedding) takes longer is given up on"
    )
    group_chunks: int = Field(
        256,
        ge=1,
        description="passages embedded and written together: a failure or a Ctrl-C loses at most one "
        "group's work; larger groups write fewer, larger batches",
    )


OPENAI_URL = "https://api.openai.com/v1"


class LLMSettings(BaseModel):
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint (else $OPENAI_BASE_URL; else OpenAI's when a key is set; "
        "else extractive mode)",
    )
    model: str = Field("gpt-4o-mini", description="chat model name at the endpoint")
    api_key: SecretStr | None = Field(
        None, description="key for the LLM endpoint (else $OPENAI_API_KEY, for OpenAI's own host only)"
    )
    mode: Literal["auto", "extractive"] = Field(
        "auto", description="auto: use the endpoint when one is configured; extractive: never call a model"
    )
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    max_retries: int = Field(3, ge=0, description="retries with backoff on 429/5xx and connection errors")
    temperature: float = Field(0.1, ge=0, le=2, description="sampling temperature")
    max_tokens: int = Field(600, ge=1, description="longest answer, in the model's tokens")
    prompt_words: int = Field(
        400,
        ge=0,
        description="words of passages an answer's (or a draft paragraph's) prompt holds: the sentences "
        "closest to the question (and the one before each); 0 gives whole passages (large models, fast "
        "endpoints)",
    )
    response_format: Literal["text", "json_schema", "json_object"] = Field(
        "text",
        description="text: the model cites passages inline ([1]); json_schema / json_object: the server "
        "holds the reply to a JSON schema of sentences with their passage labels (json_schema: OpenAI, "
        "vLLM, Ollama, llama.cpp; json_object: llama-cpp-python's server)",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @property
    def shown_url(self) -> str | None:
        """The endpoint as messages show it (no credentials), or None without one."""
        from store.urls import redacted

        return redacted(self.base_url) if self.base_url else None


class UISettings(BaseModel):
    host: str = Field("127.0.0.1", description="address the chat UI binds to (loopback: this machine only)")
    port: int = Field(7860, ge=1, le=65535, description="port of the chat UI")
    max_upload_mb: int = Field(100, ge=1, description="largest file the UI accepts, in MB")
    concurrency: int = Field(4, ge=1, description="requests the UI serves at once (others wait in its queue)")


def default_library_path() -> Path:
    return user_data_path("litassist", appauthor=False) / "library"


def default_models_path() -> Path:
    return user_data_path("litassist", appauthor=False) / "models"


class LocalSettings(BaseModel):
    models: Path = Field(
        default_factory=default_models_path,
        description="where `litassist serve-local` keeps the model files it assembles from packages",
        json_schema_extra={"shown": "per-user data folder"},
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LITASSIST_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    library: Path = Field(
        default_factory=default_library_path,
        description="the library folder",
        json_schema_extra={"shown": "per-user data folder"},
    )
    library_copy_mb: float = Field(
        2048,
        gt=0,
        description="a library folder that cannot be written (embedded mode) is searched from a "
        "temporary copy of its stores when they hold at most this many MB; above it, it is refused",
    )
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ui: UISettings = Field(default_factory=UISettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    csl_style: str = Field(
        "apa",
        description="the CSL style of reference lists (the UI's, `draft`'s): a name of the bundled "
        "collection (apa, ieee, nature, …) or a .csl file",
    )

    @model_validator(mode="after")
    def _openai_environment(self) -> Settings:
        """Honour the ecosystem's OPENAI_BASE_URL / OPENAI_API_KEY where ours are unset. The
        OpenAI key goes only to the host it is meant for: OpenAI's own, or OPENAI_BASE_URL."""
        env_url, env_key = os.environ.get("OPENAI_BASE_URL"), os.environ.get("OPENAI_API_KEY")
        llm = self.llm
        if llm.base_url is None and env_url:
            llm.base_url = env_url
        if llm.api_key is None and env_key:
            if llm.base_url is None:
                llm.base_url = OPENAI_URL
            if _same_host(llm.base_url, env_url or OPENAI_URL):
                llm.api_key = SecretStr(env_key)
        return self


def settings_table() -> str:
    """The README's configuration table, from the fields' descriptions and defaults; a test keeps
    the README's copy equal to it (``tests/integration/test_readme.py`` says how to refresh it)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            rows += [_row(f"LITASSIST_{name}__{sub}", inner) for sub, inner in group.model_fields.items()]
        else:
            rows.append(_row(f"LITASSIST_{name}", field))
    return "\n".join(rows)


def _row(variable: str, field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    default = field.get_default()
    if "shown" in extra:
        shown = str(extra["shown"])
    elif default is None:
        shown = "unset"
    elif default == "":
        shown = "empty"
    elif isinstance(default, bool):
        shown = f"`{str(default).lower()}`"
    elif isinstance(default, float):
        shown = f"`{default:g}`"
    else:
        shown = f"`{default}`"
    return f"| `{variable.upper()}` | {shown} | {field.description or ''} |"


def endpoint_origin(llm: LLMSettings, env_file: Path = Path(".env")) -> str | None:
    """Where the configured endpoint's base URL was set, for error messages: "the environment",
    "the settings file …", or None (passed in code, or no endpoint)."""
    if not llm.base_url:
        return None
    if os.environ.get("LITASSIST_LLM__BASE_URL"):
        return "the environment"
    if os.environ.get("OPENAI_BASE_URL") == llm.base_url:
        return "the environment (as OPENAI_BASE_URL)"
    try:
        text = env_file.read_text(errors="replace") if env_file.is_file() else ""
    except OSError:
        text = ""
    if re.search(r"^\s*(export\s+)?LITASSIST_LLM__BASE_URL\s*=", text, re.MULTILINE | re.IGNORECASE):
        return f"the settings file {env_file.resolve()}"
    return None


def _same_host(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def quiet_third_parties() -> None:
    """Keep libraries that phone home (Chroma, Gradio, Hugging Face) from trying; this machine
    may be offline, and a researcher's library is nobody else's business."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # tiktoken would download its encodings; llama-index-core ships the two it needs
    spec = importlib.util.find_spec("llama_index.core")
    if spec is not None and spec.submodule_search_locations:
        cache = Path(spec.submodule_search_locations[0]) / "_static" / "tiktoken_cache"
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
