# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/newsletter check
	$(BIN)/newsletter db upgrade
	$(BIN)/newsletter customers demo-csv var/demo-customers.csv --count 10000
	$(BIN)/newsletter customers import var/demo-customers.csv
	$(BIN)/newsletter plan weekly

test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q

clean:
	rm -rf $(VENV) .pytest_cache var
