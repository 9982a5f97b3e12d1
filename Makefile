# `make run` serves on 127.0.0.1:5000 with emails printed to the console; `make test` runs the suite.
VENV := .venv
PY := $(VENV)/bin/python
export APP_ENV ?= development

.PHONY: run test lint migrate translations clean

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

# After changing a text: extract the message ids, merge them into every catalog, compile.
# The compiled .mo files are committed, so `make run` and gunicorn need no build step.
translations: $(VENV)/.runtime
	$(VENV)/bin/pybabel extract -F app/translations/babel.cfg -k lazy_gettext --no-location \
		--sort-output --project "Account service" --copyright-holder "the project's authors" \
		-o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations \
		--no-fuzzy-matching --ignore-obsolete --width 100
	$(VENV)/bin/pybabel compile -d app/translations --statistics

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) instance .pytest_cache
