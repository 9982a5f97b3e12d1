# `make run` serves on 127.0.0.1:5000 with emails printed to the console; `make test` runs the suite.
VENV := .venv
PY := $(VENV)/bin/python
export APP_ENV ?= development

.PHONY: run test lint migrate clean

$(VENV)/.runtime: requirements.txt
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.runtime
	$(VENV)/bin/flask --app wsgi db upgrade

run: migrate
	$(VENV)/bin/flask --app wsgi run --host 127.0.0.1 --port 5000

test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) instance .pytest_cache
