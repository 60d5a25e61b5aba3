"""scripts/migrate_stores.py: what an update runs on the appliance's stores."""
from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from locker import schema
from sync.store import Store
from tests.support import ROOT

SCRIPT = ROOT / "scripts" / "migrate_stores.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def digest(folder: Path) -> dict[str, str]:
    """The databases' bytes (a read-only look at a WAL file may leave an empty -shm beside it)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.db"))}


def test_every_migrations_list_in_the_code_is_found_by_the_update():
    declared = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in ("tests", "bench", ".venv", "scripts"):
            continue
        declared |= set(re.findall(r'Migrations\("([a-z0-9_.]+)"\)', path.read_text(encoding="utf-8")))
    declared -= {"package"}  # the docstring's example
    out = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'scripts'); import migrate_stores; "
                          "print(' '.join(sorted(migrate_stores.known_migrations())))"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert declared <= set(out.stdout.split()), \
        f"{declared - set(out.stdout.split())}: declare it as `migrations = Migrations(\"…\")` at a module's top " \
        f"level so that {SCRIPT.name} finds it"


def test_check_touches_nothing_and_a_newer_store_is_refused(tmp_path):
    Store(tmp_path / "locker.db", [schema.migrations]).close()
    (tmp_path / "notes.db").write_bytes(b"not a database at all")
    before = digest(tmp_path)
    out = run("--check", "--data-dir", str(tmp_path))
    assert out.returncode == 0 and "locker.db: would apply 0 migration(s)" in out.stdout, out.stderr
    assert digest(tmp_path) == before

    conn = sqlite3.connect(tmp_path / "locker.db")
    conn.execute("INSERT INTO _migrations (package, position, name, applied_at) VALUES ('from_the_future', 1, 'x', '')")
    conn.commit()
    conn.close()
    before = digest(tmp_path)
    refused = run("--data-dir", str(tmp_path))
    assert refused.returncode == 1 and "newer release" in refused.stderr and "from_the_future" in refused.stderr
    assert digest(tmp_path) == before


def test_backup_and_restore(tmp_path):
    data, backup = tmp_path / "data", tmp_path / "backup"
    data.mkdir()
    Store(data / "locker.db", [schema.migrations]).close()
    out = run("--data-dir", str(data), "--backup", str(backup))
    assert out.returncode == 0 and (backup / "locker.db").exists()
    conn = sqlite3.connect(data / "locker.db")
    conn.execute("CREATE TABLE damage (x)")
    conn.commit()
    conn.close()
    assert run("--data-dir", str(data), "--restore", str(backup)).returncode == 0
    conn = sqlite3.connect(data / "locker.db")
    try:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'damage'").fetchone()[0] == 0
    finally:
        conn.close()
