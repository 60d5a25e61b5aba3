"""``make install`` in a throwaway root: files, modes, users, enabled units that
``systemd-analyze verify`` accepts and that name paths which exist; an update whose
migration fails leaves the old version and its data as they were; a good update
migrates once; uninstall keeps the data unless asked."""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT, require, require_program

INSTALL = ROOT / "scripts" / "install.py"
SYSTEM_PYTHON = "/usr/bin/python3"
UNITS = ("kiosk-locker.service", "kiosk-sync-agent.service", "kiosk-server.service", "kiosk-ui.service",
         "community-kiosk.target")
EXCLUDE = {".git", ".venv", "var", "__pycache__", ".pytest_cache"}


@pytest.fixture(scope="module", autouse=True)
def tools():
    for program in ("systemd-sysusers", "systemd-tmpfiles", "systemctl", "systemd-analyze"):
        require_program("systemd's offline tools (Debian package systemd)", program)
    require("Debian's python3 with venv", Path(SYSTEM_PYTHON).exists(), "apt-get install python3-venv")


def install(root: Path, *args: str, source: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([SYSTEM_PYTHON, str(INSTALL), "--root", str(root), *args,
                           *(["--source", str(source), "--deps-from", str(ROOT / ".venv"), "--no-start"]
                             if args[0] == "install" else [])],
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"install.py {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def ids(root: Path, file: str) -> dict[str, int]:
    return {line.split(":")[0]: int(line.split(":")[2]) for line in (root / file).read_text().splitlines()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def installed(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed version's Python as its units do (working directory, config)."""
    current = root / "opt/community-kiosk/current"
    proc = subprocess.run([str(current / "venv/bin/python"), *args], cwd=current / "app", capture_output=True,
                          text=True, timeout=120, env={"PATH": os.environ["PATH"],
                                                       "KIOSK_CONFIG": str(root / "etc/kiosk/appliance.toml")})
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def unit_paths(text: str) -> list[str]:
    """Every absolute path a unit names for the service: its programs, folders and files."""
    paths: list[str] = []
    for key, value in re.findall(r"(?m)^(ExecStart|WorkingDirectory|ReadWritePaths|EnvironmentFile)=(.*)$", text):
        words = value.split()
        if key == "ExecStart":
            words = [w for w in words if w.startswith("/")]
        # "-/run/user": optional by design (created at login by logind), not by the install
        paths += [w.lstrip("-") for w in words if w.lstrip("-").startswith("/") and not w.startswith("-/run/")]
    return paths


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("root")
    install(root, "install", "--version", "v1")
    return root


def test_files_modes_and_users(root):
    current = root / "opt/community-kiosk/current"
    assert current.is_symlink() and os.readlink(current).startswith("versions/v1-")
    assert (current / "app/locker/daemon.py").is_file() and not (current / "app/.git").exists()
    assert not (current / "app/.venv").exists() and not (current / "app/var").exists()

    users, groups = ids(root, "etc/passwd"), ids(root, "etc/group")
    assert {"kiosk", "kiosk-server"} <= set(users) and {"kiosk", "kiosk-server"} <= set(groups)
    shells = {l.split(":")[0]: l.split(":")[6] for l in (root / "etc/passwd").read_text().splitlines()}
    assert shells["kiosk"] == shells["kiosk-server"] == "/usr/sbin/nologin"

    data = root / "var/lib/kiosk"
    assert mode(data) == 0o750 and (data.stat().st_uid, data.stat().st_gid) == (users["kiosk"], groups["kiosk"])
    assert mode(root / "var/lib/kiosk-server") == 0o750
    assert (root / "var/lib/kiosk-server").stat().st_uid == users["kiosk-server"]
    config = root / "etc/kiosk/appliance.toml"
    assert mode(config) == 0o640 and config.stat().st_gid == groups["kiosk"]
    assert 'data_dir = "/var/lib/kiosk"' in config.read_text()
    assert mode(root / "etc/kiosk/server.env") == 0o640
    assert mode(root / "etc/udev/rules.d/99-kiosk-devices.rules") == 0o644

    wants = root / "etc/systemd/system/community-kiosk.target.wants"
    assert sorted(p.name for p in wants.iterdir()) == ["kiosk-locker.service", "kiosk-ui.service"]
    assert (root / "etc/systemd/system/multi-user.target.wants/community-kiosk.target").is_symlink()


def test_the_installed_version_runs_its_own_code(root):
    out = installed(root, "-c", "import appliance, locker; print(appliance.__file__); print(locker.__file__)").stdout
    assert all(line.startswith(str(root / "opt/community-kiosk/versions/")) for line in out.splitlines()), out
    assert "OK" in installed(root, "-m", "appliance", "check-config").stdout


def test_units_name_existing_paths_and_pass_systemd_analyze_verify(root):
    require_program("cage (the kiosk UI's Wayland compositor)", "cage")
    # The installed root as a booted Debian would have it: systemd's own units and the
    # programs the units start (Debian's python3, cage, env), copied from this machine.
    (root / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
    if not (root / "usr/lib/systemd/system").exists():
        shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    for program in (SYSTEM_PYTHON, shutil.which("cage"), "/usr/bin/env"):
        shutil.copy(program, root / "usr/bin" / Path(program).name)
    for name in UNITS:
        unit = root / "etc/systemd/system" / name
        text = unit.read_text()
        for path in unit_paths(text):
            assert (root / path.lstrip("/")).exists(), f"{name} names {path}, which the install did not create"
        proc = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no", f"/etc/systemd/system/{name}"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stderr.strip() == "", f"{name}:\n{proc.stderr}"
    # ... and the check can fail: a unit whose program is missing
    broken = root / "etc/systemd/system/kiosk-broken.service"
    broken.write_text((root / "etc/systemd/system/kiosk-locker.service").read_text()
                      .replace("/venv/bin/python", "/venv/bin/no-such-python"))
    proc = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no", "/etc/systemd/system/kiosk-broken.service"],
                          capture_output=True, text=True, timeout=60)
    broken.unlink()
    assert proc.returncode != 0 and "no-such-python" in proc.stderr


def test_units_are_hardened():
    for name in UNITS[:-1]:
        text = (ROOT / "systemd" / name).read_text()
        for line in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                     "PrivateTmp=yes", "CapabilityBoundingSet=\n", "DevicePolicy=closed", "Restart=always",
                     # the UI too: tests/appliance/test_ui_sandbox.py runs cage and Qt under this filter
                     "SystemCallFilter=@system-service\n", "RestrictNamespaces=yes\n",
                     "SystemCallArchitectures=native\n", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                     "LockPersonality=yes\n", "RestrictRealtime=yes\n", "RestrictSUIDSGID=yes\n",
                     "ProtectKernelTunables=yes\n", "ProtectKernelModules=yes\n", "ProtectControlGroups=yes\n"):
            assert line in text, f"{name} lacks {line.strip()}"
        assert re.search(r"(?m)^WatchdogSec=\d+$", text), name
        assert re.search(r"(?m)^User=kiosk(-server)?$", text), name
    assert "DeviceAllow" not in (ROOT / "systemd/kiosk-server.service").read_text()
    assert "DeviceAllow=char-ttyUSB rw" in (ROOT / "systemd/kiosk-locker.service").read_text()


def _copy_source(tmp_path: Path, name: str, migration: str) -> Path:
    source = tmp_path / name
    shutil.copytree(ROOT, source, symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in EXCLUDE or n.endswith(".egg-info")])
    with open(source / "locker/schema.py", "a", encoding="utf-8") as f:
        f.write(migration)
    return source


BROKEN = '''

@migrations.add("9999_broken_in_test")
def _broken_in_test(db):
    db.execute("CREATE TABLE half_done (x)")
    db.execute("ALTER TABLE no_such_table ADD COLUMN y")
'''
GOOD = '''

@migrations.add("9999_added_in_test")
def _added_in_test(db):
    db.execute("CREATE TABLE added_in_test (x)")
'''


def _store_rows(path: Path) -> tuple[list, list, list]:
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("SELECT package, position, name FROM _migrations ORDER BY package, position").fetchall(),
                conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall(),
                conn.execute("SELECT note FROM marker").fetchall())
    finally:
        conn.close()


def test_updates_migrate_once_and_a_failed_migration_keeps_the_old_version(tmp_path):
    root = tmp_path / "root"
    install(root, "install", "--version", "v1")
    # The admin points the appliance at its data (here: inside the throwaway root).
    config = root / "etc/kiosk/appliance.toml"
    config.write_text(config.read_text().replace('data_dir = "/var/lib/kiosk"', f'data_dir = "{root}/var/lib/kiosk"'))
    store = root / "var/lib/kiosk/locker.db"
    installed(root, "-c", f"from sync.store import Store; from locker import schema; "
                          f"Store({str(store)!r}, [schema.migrations]).close()")
    conn = sqlite3.connect(store)
    conn.execute("CREATE TABLE marker (note TEXT)")
    conn.execute("INSERT INTO marker VALUES ('a resident''s drop-off')")
    conn.commit()
    conn.close()
    before = _store_rows(store)
    v1 = os.readlink(root / "opt/community-kiosk/current")

    failed = install(root, "install", "--version", "v2", source=_copy_source(tmp_path, "v2", BROKEN), check=False)
    assert failed.returncode == 1
    assert "9999_broken_in_test" in failed.stderr and "old version keeps running" in failed.stderr
    assert os.readlink(root / "opt/community-kiosk/current") == v1
    assert not any(p.name.startswith("v2") for p in (root / "opt/community-kiosk/versions").iterdir())
    assert _store_rows(store) == before, "a failed update changed the data"
    # the old version still opens its store, with nothing to migrate
    assert "would apply 0 migration(s)" in installed(root, "scripts/migrate_stores.py", "--check", "--data-dir",
                                                     str(root / "var/lib/kiosk")).stdout

    install(root, "install", "--version", "v3", source=_copy_source(tmp_path, "v3", GOOD))
    assert os.readlink(root / "opt/community-kiosk/current").startswith("versions/v3-")
    migrations, tables, marker = _store_rows(store)
    assert [m[2] for m in migrations].count("9999_added_in_test") == 1
    assert migrations[:len(before[0])] == before[0] or set(before[0]) <= set(migrations)
    assert ("added_in_test",) in tables and ("half_done",) not in tables and marker == before[2]

    again = install(root, "install", "--version", "v3b", source=tmp_path / "v3")
    assert "would apply 0 migration(s)" in again.stdout
    assert [m[2] for m in _store_rows(store)[0]].count("9999_added_in_test") == 1, "a migration ran twice"


def test_uninstall_keeps_data_unless_purged(tmp_path):
    root = tmp_path / "root"
    install(root, "install", "--version", "v1")
    (root / "var/lib/kiosk/appliance.db").write_bytes(b"")
    install(root, "uninstall")
    assert not (root / "opt/community-kiosk").exists()
    assert not any((root / "etc/systemd/system").glob("kiosk-*.service"))
    assert not (root / "etc/systemd/system/multi-user.target.wants/community-kiosk.target").exists()
    assert (root / "var/lib/kiosk/appliance.db").exists() and (root / "etc/kiosk/appliance.toml").exists()
    assert "kiosk" in ids(root, "etc/passwd")

    install(root, "uninstall", "--purge")
    assert not (root / "var/lib/kiosk").exists() and not (root / "etc/kiosk").exists()
    assert "kiosk" not in ids(root, "etc/passwd") and "kiosk" not in ids(root, "etc/group")
    assert "kiosk-server" not in ids(root, "etc/passwd")


def test_an_edited_udev_rules_file_is_kept(tmp_path):
    root = tmp_path / "root"
    install(root, "install", "--version", "v1")
    rules = root / "etc/udev/rules.d/99-kiosk-devices.rules"
    rules.write_text(rules.read_text() + "# this site's ports\n")
    out = install(root, "install", "--version", "v2").stdout
    assert rules.read_text().endswith("# this site's ports\n") and "kept your" in out
    assert (root / "etc/udev/rules.d/99-kiosk-devices.rules.dist").read_bytes() == \
        (ROOT / "systemd/99-kiosk-devices.rules").read_bytes()



def test_udev_rules_give_stable_names_and_group_access():
    rules = [line for line in (ROOT / "systemd/99-kiosk-devices.rules").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    for name in ("kiosk-lockbus0", "kiosk-idreader", "kiosk-scanner"):
        line = next(r for r in rules if f'SYMLINK+="{name}"' in r)
        assert 'SUBSYSTEM=="tty"' in line and 'GROUP="dialout"' in line and 'MODE="0660"' in line, line
    # every assignment is KEY="…" or KEY+="…", every match KEY=="…": a typo'd operator is an ignored rule
    for line in rules:
        for part in (p.strip() for p in line.split('", ')):
            assert re.match(r'^[A-Z_]+(\{[A-Za-z_]+\})?(==|\+=|=|!=)"', part + '"'), f"malformed: {part}"
    # the groups the rules hand out are the units' supplementary groups
    assert "SupplementaryGroups=dialout" in (ROOT / "systemd/kiosk-locker.service").read_text()
    assert re.search(r"SupplementaryGroups=dialout video", (ROOT / "systemd/kiosk-ui.service").read_text())


BROKEN_ALEMBIC = '''"""A migration that fails half-way (test).

Revision ID: 9999broken
Revises: 0004w
"""
import sqlalchemy as sa
from alembic import op

revision = "9999broken"
down_revision = "0004w"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("x", sa.Integer))
    op.execute("UPDATE no_such_table SET y = 1")


def downgrade() -> None:
    pass
'''


def _tables(db: Path, alembic: bool = True) -> list:
    """The tables, and the migrations recorded (Alembic's or the store's)."""
    conn = sqlite3.connect(db)
    try:
        recorded = ("SELECT version_num FROM alembic_version ORDER BY 1" if alembic
                    else "SELECT package, name FROM _migrations ORDER BY 1, 2")
        return (conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
                + conn.execute(recorded).fetchall())
    finally:
        conn.close()


def test_a_failed_server_migration_keeps_the_old_version_and_database(tmp_path):
    require("the base migration of the test", (ROOT / "sync/server/migrations/versions/0004w_worker_console.py").exists(),
            "the broken test migration branches from revision 0004w")
    root = tmp_path / "root"
    install(root, "install", "--version", "v1", "--role", "server")
    database = root / "var/lib/kiosk-server/server.db"
    (root / "etc/kiosk/server.env").write_text(f"SYNC_DATABASE_URL=sqlite:///{database}\nSYNC_PORT=8000\n")
    installed(root, "-m", "sync.server", "migrate", "--database", f"sqlite:///{database}")
    before = _tables(database)
    v1 = os.readlink(root / "opt/community-kiosk/current")

    source = _copy_source(tmp_path, "v4", "")
    (source / "sync/server/migrations/versions/9999_broken_in_test.py").write_text(BROKEN_ALEMBIC)
    failed = install(root, "install", "--version", "v4", "--role", "server", source=source, check=False)
    assert failed.returncode == 1 and "no_such_table" in failed.stderr, failed.stderr
    assert os.readlink(root / "opt/community-kiosk/current") == v1
    assert _tables(database) == before and ("half_done",) not in before


def _alembic(revision: str, upgrade: str) -> str:
    """A test migration branching from 0004w (as BROKEN_ALEMBIC) with this upgrade's body."""
    head = BROKEN_ALEMBIC.replace("9999broken", revision).split("def upgrade() -> None:")[0]
    return head + "def upgrade() -> None:\n" + upgrade + "\n\n\ndef downgrade() -> None:\n    pass\n"


# Passes the installer's check (PostgreSQL's application_name says it is the check) and
# fails for real half-way, after its table was made and a row changed
FAILS_FOR_REAL_ALEMBIC = _alembic("9999forreal", "\n".join([
    '    op.create_table("half_done", sa.Column("x", sa.Integer))',
    "    op.execute(\"UPDATE marker SET note = 'changed by a failed migration'\")",
    '    if op.get_bind().exec_driver_sql("SHOW application_name").scalar() != "kiosk-migrate-check":',
    '        raise RuntimeError("this migration fails on the real run (test)")']))
GOOD_ALEMBIC = _alembic("9999good", '    op.create_table("added_in_test", sa.Column("x", sa.Integer))')


def _pg_state(url: str) -> tuple[list, list, list]:
    """The tables, Alembic's revisions and the marker's rows of a PostgreSQL database."""
    import psycopg

    with psycopg.connect(url) as conn:
        return (conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall(),
                conn.execute("SELECT version_num FROM alembic_version ORDER BY 1").fetchall(),
                conn.execute("SELECT note FROM marker ORDER BY 1").fetchall())


def test_a_postgresql_server_update_is_checked_first_and_a_failed_migration_rolled_back(tmp_path):
    """A server on PostgreSQL: the new version's migrations are tried on the live
    database in a transaction that is rolled back while the old version serves; a
    migration that fails there stops the update; one that fails only for real (the
    services stopped) is rolled back with its one transaction; the old version stays
    current and the database is as it was. A good migration is applied once."""
    import psycopg

    from tests.sync.server.support import postgresql_database

    require("the base migration of the test", (ROOT / "sync/server/migrations/versions/0004w_worker_console.py").exists(),
            "the test migrations branch from revision 0004w")
    with postgresql_database() as url:
        root = tmp_path / "root"
        install(root, "install", "--version", "v1", "--role", "server")
        (root / "etc/kiosk/server.env").write_text(f"# the central server\nSYNC_DATABASE_URL={url}\nSYNC_PORT=8000\n")
        installed(root, "-m", "sync.server", "migrate", "--database", url)
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE marker (note text)")
            conn.execute("INSERT INTO marker VALUES ('a resident''s case')")
        before = _pg_state(url)
        v1 = os.readlink(root / "opt/community-kiosk/current")

        source = _copy_source(tmp_path, "v4", "")
        (source / "sync/server/migrations/versions/9999_broken_in_test.py").write_text(BROKEN_ALEMBIC)
        failed = install(root, "install", "--version", "v4", "--role", "server", source=source, check=False)
        assert failed.returncode == 1 and "no_such_table" in failed.stderr, failed.stdout + failed.stderr
        assert "one transaction, rolled back" in failed.stdout, failed.stdout  # the check found it
        assert os.readlink(root / "opt/community-kiosk/current") == v1 and _pg_state(url) == before

        source = _copy_source(tmp_path, "v5", "")
        (source / "sync/server/migrations/versions/9999_for_real_in_test.py").write_text(FAILS_FOR_REAL_ALEMBIC)
        failed = install(root, "install", "--version", "v5", "--role", "server", source=source, check=False)
        assert failed.returncode == 1 and "fails on the real run" in failed.stderr, failed.stdout + failed.stderr
        assert "9999forreal); rolled back" in failed.stdout, failed.stdout  # the check passed
        said = [line for line in failed.stdout.splitlines() if "migration failed and was rolled back" in line]
        assert len(said) == 1 and "postgresql://root@127.0.0.1:5432/" in said[0], failed.stdout
        assert os.readlink(root / "opt/community-kiosk/current") == v1
        assert not any(p.name.startswith("v5") for p in (root / "opt/community-kiosk/versions").iterdir())
        assert _pg_state(url) == before, "a failed migration left something behind"

        source = _copy_source(tmp_path, "v6", "")
        (source / "sync/server/migrations/versions/9999_good_in_test.py").write_text(GOOD_ALEMBIC)
        install(root, "install", "--version", "v6", "--role", "server", source=source)
        assert os.readlink(root / "opt/community-kiosk/current").startswith("versions/v6-")
        tables, revisions, marker = _pg_state(url)
        assert ("added_in_test",) in tables and ("half_done",) not in tables and marker == before[2]
        assert revisions == sorted(before[1] + [("9999good",)])
        again = install(root, "install", "--version", "v6b", "--role", "server", source=tmp_path / "v6")
        assert "rolled back" in again.stdout  # the check ran, with nothing to do
        assert _pg_state(url) == (tables, revisions, marker), "a migration ran twice"


def test_make_install_and_uninstall_targets(tmp_path):
    require_program("make", "make")
    root = tmp_path / "root"
    args = f"--deps-from {ROOT / '.venv'} --no-start --version v1"
    done = subprocess.run(["make", "-C", str(ROOT), "install", f"DESTDIR={root}", "ROLE=server",
                           f"INSTALL_ARGS={args}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    wants = root / "etc/systemd/system/community-kiosk.target.wants"
    assert [p.name for p in wants.iterdir()] == ["kiosk-server.service"]
    done = subprocess.run(["make", "-C", str(ROOT), "uninstall", f"DESTDIR={root}", "PURGE=1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (root / "opt/community-kiosk").exists() and not (root / "var/lib/kiosk").exists()


FORMS_FOR_REAL = '''

@migrations.add("9999_forms_in_test")
def _forms_in_test(db):
    db.execute("CREATE TABLE forms_in_test (x)")
'''
LOCKER_FAILS_FOR_REAL = '''

@migrations.add("9999_fails_on_the_real_file")
def _fails_on_the_real_file(db):
    # Passes on the copies of the check, fails on the real file (a disk full, a power cut)
    file = db.execute("PRAGMA database_list").fetchall()[0][2]
    db.execute("CREATE TABLE for_real (x)")
    if "kiosk-migrate-check-" not in file:
        raise OSError(28, "No space left on device (test)")
'''


def test_a_migration_failing_on_the_real_files_restores_every_store(tmp_path):
    root = tmp_path / "root"
    install(root, "install", "--version", "v1")
    config = root / "etc/kiosk/appliance.toml"
    config.write_text(config.read_text().replace('data_dir = "/var/lib/kiosk"', f'data_dir = "{root}/var/lib/kiosk"'))
    data = root / "var/lib/kiosk"
    installed(root, "-c", f"from sync.store import Store; from locker import schema; from forms.register import "
                          f"migrations; Store({str(data / 'locker.db')!r}, [schema.migrations]).close(); "
                          f"Store({str(data / 'appliance.db')!r}, [migrations]).close()")
    before = {name: _tables(data / name, alembic=False) for name in ("appliance.db", "locker.db")}
    v1 = os.readlink(root / "opt/community-kiosk/current")

    source = _copy_source(tmp_path, "v5", LOCKER_FAILS_FOR_REAL)
    with open(source / "forms/register.py", "a", encoding="utf-8") as f:
        f.write(FORMS_FOR_REAL)
    failed = install(root, "install", "--version", "v5", source=source, check=False)
    assert failed.returncode == 1 and "No space left on device" in failed.stderr, failed.stdout + failed.stderr
    assert "would apply 1 migration(s): forms/9999_forms_in_test" in failed.stdout  # the check passed
    assert os.readlink(root / "opt/community-kiosk/current") == v1
    # appliance.db was migrated before locker.db failed: restored from the backup
    assert {name: _tables(data / name, alembic=False) for name in before} == before
