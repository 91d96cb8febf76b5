# Two entry points for a fresh machine: `make demo` and `make test`; `make bench` runs every benchmark small.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# This week's weekly edition (Monday): the demo sends it, so re-running `make demo` sends nothing twice.
EDITION ?= $(shell $(PYTHON) -c "import datetime as d; t = d.date.today(); print(t - d.timedelta(days=t.weekday()))")

.PHONY: demo test bench install clean

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
	$(BIN)/newsletter plan weekly --date $(EDITION)
	$(BIN)/newsletter send weekly --date $(EDITION) --to maildir:./outbox
	$(BIN)/newsletter results demo-clicks --from maildir:./outbox
	$(BIN)/newsletter results weekly --date $(EDITION) --by team
	@echo "Preference page of a demo customer: $$($(BIN)/newsletter customers link CRM-000001)"
	@echo "Sign-up page: http://127.0.0.1:8000/signup   staff preview: http://127.0.0.1:8000/preview   results: http://127.0.0.1:8000/results   (Ctrl+C stops the server)"
	$(BIN)/newsletter serve

test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q

# Every bench in bench/ at a small size (bench/summary.py's SMALL), then one table of their figures.
bench: $(STAMP)
	$(BIN)/python bench/summary.py

clean:
	rm -rf $(VENV) .pytest_cache var outbox
