# Two commands: `make demo` (set up, build the sample leak, ingest, verify, serve) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint setup bench clean

$(BIN)/leaklens: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/leaklens

setup: $(BIN)/leaklens

demo: setup
	$(BIN)/leaklens demo

test: setup
	$(BIN)/ruff check src tests bench
	tests/fetch_enron_pst.sh
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) leaklens-demo leaklens-demo-dump test-output
