# `make run` and `make test` need only python3: each (re)creates .venv when it is missing or
# when a requirements file changed since it was built.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PORT ?= 8000
export PORT

.PHONY: run test test-fast bench clean token

$(STAMP): requirements.txt requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) tools/run_local.py

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not e2e"

bench: $(STAMP)
	$(PY) bench/catalog.py

# A bearer token from the local demo issuer: make token ROLE=publisher|reviewer [WHO=id] [PORT=8000]
token: $(STAMP)
	@$(PY) tools/demo_token.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .run
