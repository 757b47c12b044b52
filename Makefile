# frister: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo demo-register test check bench clean web

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## generate a municipality, import, evaluate as of today, summarise (SQLite ./frister.db)
	$(BIN)/frister demo

demo-register: $(STAMP)  ## the same from generated register XML (Barnevern XSD 4.0.1), in ./frister-register.db
	FRISTER_DATABASE_URL=sqlite:///frister-register.db $(BIN)/frister demo --source register-xml --out demo-register

test: $(STAMP)  ## the whole suite (PostgreSQL variants run when FRISTER_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest -q

check: $(STAMP)  ## rules, examples and schema drift on the SQLite default
	$(BIN)/frister rules check
	rm -f /tmp/frister-check.db && FRISTER_DATABASE_URL=sqlite:////tmp/frister-check.db $(BIN)/frister db upgrade
	FRISTER_DATABASE_URL=sqlite:////tmp/frister-check.db $(BIN)/alembic check

bench: $(STAMP)  ## the national-scale benchmark at a small size; see bench/README.md for larger ones
	$(BIN)/python bench/nightly.py --cases $${BENCH_CASES:-2000} --database sqlite

clean:
	rm -rf $(VENV) frister.db frister.db-* demo frister-register.db frister-register.db-* demo-register .pytest_cache

web: $(STAMP)  ## serve the demo's web pages on http://localhost:8080/ (after make demo)
	$(BIN)/frister web --example-organisation
