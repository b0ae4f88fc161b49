# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv and installs
# what it needs from the project's own files; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The sample corpus (250 ACL papers with full text, from the aclsum package) into the default
# library, then the library's contents. Adding it again is a no-op.
run: $(VENV)/.installed
	$(BIN)/litassist add "$$($(BIN)/python -c 'import aclsum, pathlib; print(pathlib.Path(aclsum.__file__).parent / "dataset" / "paper_jsons")')"
	$(BIN)/litassist papers

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

check: $(VENV)/.installed-test
	$(BIN)/ruff check assistant store prompts ui tests
	$(BIN)/ruff format --check assistant store prompts ui tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python tests/bench/bench_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
