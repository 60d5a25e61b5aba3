"""The set-up the drivers' tests stand on: `make`'s Python check and the PostgreSQL
step of scripts/debian-packages, run for real (a scratch cluster of the machine's own
PostgreSQL on a free port; the running server on 5432 is never touched)."""
from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support import ROOT, require

SCRIPT = ROOT / "scripts" / "debian-packages"


def test_make_without_python_3_11_says_what_to_install(tmp_path):
    make = shutil.which("make")
    require("make", make is not None, "make not found")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "scripts").mkdir()
    stub = tmp_path / "scripts" / "debian-packages"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("")
    for python in ("/nonexistent/python3.11", "false"):
        run = subprocess.run([make, "-s", "-C", str(tmp_path), "test", f"PYTHON={python}"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode != 0
        ours = [line for line in run.stderr.splitlines() if "***" not in line]
        assert len(ours) == 1, run.stderr  # one line of ours, then make's own "Error 1"
        assert ours[0].startswith(f'make: no Python 3.11 with its venv module as "{python}"')
        assert "apt-get install python3.11 python3.11-venv" in ours[0] and "PYTHON=" in ours[0]
        assert not (tmp_path / ".venv").exists()


def test_the_script_lists_postgresql_faketime_and_x11vnc_with_reasons():
    text = SCRIPT.read_text()
    names = subprocess.run([str(SCRIPT), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for name, why in (("postgresql", "server tests"), ("faketime", "clock-jump drill"), ("x11vnc", "Xvfb")):
        assert name in names
        row = next(line for line in text.splitlines() if line.strip().startswith(f'"{name} '))
        assert why in row


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clusters() -> str:
    return subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout


@pytest.fixture
def scratch_cluster():
    """A new, stopped PostgreSQL cluster on a free port, dropped afterwards."""
    require("root", os.geteuid() == 0, "making a PostgreSQL cluster needs root")
    require("postgresql", shutil.which("pg_createcluster") is not None and os.path.isdir("/usr/lib/postgresql"),
            "pg_createcluster not found (scripts/debian-packages installs postgresql)")
    version = max(os.listdir("/usr/lib/postgresql"), key=lambda v: float(v))
    name, port = f"kiosktest{secrets.token_hex(3)}", _free_port()
    subprocess.run(["pg_createcluster", "--port", str(port), version, name], check=True,
                   capture_output=True, timeout=120)
    try:
        yield version, name, port
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True, timeout=120)


def test_postgresql_is_started_and_lets_the_test_role_in(scratch_cluster):
    version, name, port = scratch_cluster
    role = "kiosk_probe"
    env = {**os.environ, "KIOSK_PG_PORT": str(port), "KIOSK_PG_ROLE": role}
    hba = Path(f"/etc/postgresql/{version}/{name}/pg_hba.conf")
    others = {p: Path(p).read_bytes() for p in glob.glob("/etc/postgresql/*/*/pg_hba.conf") if Path(p) != hba}
    url = f"postgresql://{role}@127.0.0.1:{port}/postgres"

    # Not root: the exact commands, and nothing done.
    as_nobody = subprocess.run(["runuser", "-u", "nobody", "--", "env", f"KIOSK_PG_PORT={port}",
                                f"KIOSK_PG_ROLE={role}", "bash", "-s", "--", "--postgresql"],
                               input=SCRIPT.read_text(), capture_output=True, text=True, timeout=60)
    assert as_nobody.returncode == 0, as_nobody.stderr
    assert f"pg_ctlcluster --skip-systemctl-redirect {version} {name} start" in as_nobody.stderr
    assert f"CREATE ROLE \"{role}\" LOGIN CREATEDB" in as_nobody.stderr and str(hba) in as_nobody.stderr
    assert f"{port} down" in " ".join(_clusters().split())

    # Root: start, role, pg_hba, each said.
    first = subprocess.run([str(SCRIPT), "--postgresql"], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"started cluster {version}/{name} on port {port}" in first.stdout
    assert f"created role {role}" in first.stdout and f"{hba} lets role {role} in" in first.stdout
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:  # what the server tests do
        conn.execute("CREATE DATABASE kiosk_probe_db")
        conn.execute("DROP DATABASE kiosk_probe_db WITH (FORCE)")
    rules = [line.split() for line in hba.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert rules[0] == ["host", "all", role, "127.0.0.1/32", "trust"]  # first match wins: only this role
    assert ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"] in rules  # everyone else as before

    # All in place: nothing to say, nothing changed.
    before = hba.read_bytes()
    again = subprocess.run([str(SCRIPT), "--postgresql"], env=env, capture_output=True, text=True, timeout=60)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert hba.read_bytes() == before
    assert {p: Path(p).read_bytes() for p in others} == others  # the machine's own clusters untouched
