# The front door: `make run` serves the portal with demo data, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
CATALOGS := $(wildcard ehealth/i18n/locales/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
SOURCES := app.py auth components ehealth pages templates
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint i18n chromium clean

run: $(RUNTIME) $(COMPILED)
	$(BIN)/python -m ehealth.manage setup
	$(BIN)/python -m etl run
	$(BIN)/python app.py

test: $(DEV) $(COMPILED) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the pinned requirements change.
$(RUNTIME): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV): requirements-dev.txt $(RUNTIME)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

%.mo: %.po | $(RUNTIME)
	$(BIN)/pybabel compile --domain messages --input-file $< --output-file $@ --statistics

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# Refresh the catalogs after changing visible strings; then translate the new entries in each .po file.
i18n: $(RUNTIME)
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords N_ --no-location --sort-output --omit-header \
		--project ehealth --output-file /tmp/ehealth-messages.pot $(SOURCES)
	for lang in uz ru en; do \
		$(BIN)/pybabel update --input-file /tmp/ehealth-messages.pot --domain messages \
			--output-dir ehealth/i18n/locales --locale $$lang --no-fuzzy-matching --ignore-obsolete; \
	done

clean:
	rm -rf $(VENV) instance
