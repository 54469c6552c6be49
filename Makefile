# The two commands of the README. Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench snapshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU wheel first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	# The milvus extra too: CI tests the Milvus store against Milvus Lite (tests/test_milvus.py).
	$(PY) -m pip install --quiet -e '.[test,milvus]'
	# Bytecode up front: some shells set PYTHONDONTWRITEBYTECODE, which would recompile every start.
	$(PY) -m compileall -q indexer tui notes_qa_cli > /dev/null
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/notes-qa tui

# What CI runs (.ci/run): lint, types and import contracts first (seconds), then every test, the real model included.
test: lint
	$(PY) -m pytest -q

# No real model, no process-heavy tests (kills, Ctrl+C): under 90 s, for the edit-test loop.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not model and not slow"

# Style, types, then the architecture contracts of pyproject.toml (cli -> tui -> indexer).
lint: $(STAMP)
	$(PY) -m ruff check indexer tui notes_qa_cli tests benchmarks scripts eval
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/bench_query.py
	$(PY) benchmarks/bench_query.py --encoder int8

snapshots: $(STAMP)
	$(PY) -m pytest tests/tui --snapshot-update -q

clean:
	rm -rf $(VENV) index/current index/build-* index/tmp-* .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
