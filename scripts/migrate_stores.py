#!/usr/bin/env python3
"""Migrating the appliance's SQLite stores on an update, once, or not at all.

    python scripts/migrate_stores.py --data-dir DIR [--check] [--backup DIR] [--restore DIR]

Glue for scripts/install.py, run with the NEW version's Python from its app folder.
It lives outside the packages because it knows every package that keeps tables in a
store (appliance/ must not import sync/, locker/, forms/ or kiosk/: tests/test_layers.py).

Every store migrates itself when its owner opens it (:mod:`sync.store.migrations`:
all pending migrations in ONE transaction, recorded in ``_migrations``). An update
(``scripts/install.py``) must know before it switches versions that the new code
can open the old files, so it runs, with the NEW version's code:

1. ``migrate_stores.py --check``: every store of ``data_dir`` copied
   (SQLite's backup API: a consistent copy even of a WAL file in use) into a
   temporary folder and migrated there. A failure leaves the real files untouched
   and the old version running.
2. ``migrate_stores.py --backup DIR``: the same on the real files, with the services
   stopped. A failing migration rolls its file back (one transaction); files already
   migrated stay at a schema the old code refuses, so the install script restores
   them from the copies it made before (``--restore DIR``).

A store is any ``*.db`` file in ``data_dir`` with a ``_migrations`` table: the
packages recorded in it are migrated to the newest migration this code has.
A package recorded in a file but unknown to this code means the file was written by
a newer release: refused. The migrations are those declared in the source
(``migrations = Migrations("package")`` at a module's top level: :func:`migration_modules`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this version's packages, whichever folder runs it

from sync.store import Migrations, Store  # noqa: E402

PACKAGES = ("appliance", "sync", "locker", "forms", "kiosk")  # where stores' tables are declared
_DECLARATION = re.compile(r'^migrations = Migrations\("([a-z0-9_.]+)"\)', re.M)


def migration_modules() -> list[str]:
    """Every module declaring ``migrations = Migrations("package")`` at its top level,
    found in the source (a new package's tables are migrated without touching this file)."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if _DECLARATION.search(path.read_text(encoding="utf-8")):
                found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


class UpgradeError(Exception):
    """A store cannot be migrated by this code; the message says what to do."""


@dataclass
class StoreResult:
    path: Path
    applied: list[str] = field(default_factory=list)  # "package/name"


def known_migrations() -> dict[str, Migrations]:
    found: dict[str, Migrations] = {}
    for name in migration_modules():
        module = importlib.import_module(name)
        migrations = getattr(module, "migrations")
        found[migrations.package] = migrations
    return found


def store_files(data_dir: Path) -> list[Path]:
    """The SQLite stores in ``data_dir`` (files with a ``_migrations`` table)."""
    stores = []
    for path in sorted(data_dir.glob("*.db")):
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
                                   ).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            continue  # not a database of ours
        if row:
            stores.append(path)
    return stores


def recorded_packages(path: Path) -> list[str]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT DISTINCT package FROM _migrations ORDER BY package")]
    finally:
        conn.close()


def migrate_store(path: Path, known: dict[str, Migrations]) -> StoreResult:
    """Apply the pending migrations of every package recorded in ``path``."""
    packages = recorded_packages(path)
    unknown = [p for p in packages if p not in known]
    if unknown:
        raise UpgradeError(f"{path}: written by a newer release (migrations of {', '.join(unknown)} unknown to "
                           "this version); install that release again, or restore the backup made before the update")
    before = _applied(path)
    store = Store(path, [known[p] for p in packages if p != "sync"])
    store.close()
    result = StoreResult(path)
    result.applied = [name for name in _applied(path) if name not in before]
    return result


def migrate(data_dir: Path) -> list[StoreResult]:
    """Migrate every store of ``data_dir`` in place (the services must be stopped)."""
    known = known_migrations()
    results = []
    for path in store_files(data_dir):
        try:
            results.append(migrate_store(path, known))
        except UpgradeError:
            raise
        except Exception as exc:
            hint = getattr(exc, "hint", "")
            raise UpgradeError(f"{path}: {exc}" + (f" — {hint}" if hint and hint not in str(exc) else "")) from exc
    return results


def check(data_dir: Path) -> list[StoreResult]:
    """Migrate copies of every store of ``data_dir``; the real files are not touched."""
    with tempfile.TemporaryDirectory(prefix="kiosk-migrate-check-") as scratch:
        backup(data_dir, Path(scratch))
        try:
            results = migrate(Path(scratch))
        except UpgradeError as exc:  # name the real file, not its copy
            raise UpgradeError(str(exc).replace(f"{scratch}/", f"{data_dir}/")) from exc
        for result in results:
            result.path = data_dir / result.path.name
        return results


def backup(data_dir: Path, into: Path) -> list[Path]:
    """Consistent copies of every store of ``data_dir`` into ``into`` (backup API)."""
    into.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in store_files(data_dir):
        target = into / path.name
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        copies.append(target)
    return copies


def restore(backup_dir: Path, data_dir: Path) -> list[Path]:
    """Put the copies made by :func:`backup` back (services stopped), WAL files removed."""
    restored = []
    for copy in sorted(backup_dir.glob("*.db")):
        target = data_dir / copy.name
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copy2(copy, target)
        restored.append(target)
    return restored


def keep_owners(data_dir: Path) -> None:
    """Run as root, SQLite leaves -wal/-shm files (and restored copies) owned by root,
    which the services' user cannot open: give every ``X.db*`` the owner of the folder."""
    if os.geteuid() != 0 or not data_dir.is_dir():
        return
    st = data_dir.stat()
    for path in data_dir.glob("*.db*"):
        os.chown(path, st.st_uid, st.st_gid)


def _applied(path: Path) -> list[str]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [f"{p}/{n}" for p, n in conn.execute("SELECT package, name FROM _migrations ORDER BY package, position")]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/migrate_stores.py", description=__doc__.splitlines()[1])
    parser.add_argument("--data-dir", required=True, metavar="DIR", help="the stores' folder ([appliance] data_dir)")
    parser.add_argument("--check", action="store_true", help="migrate copies only; the files stay as they are")
    parser.add_argument("--backup", metavar="DIR", help="first copy every store into DIR")
    parser.add_argument("--restore", metavar="DIR", help="put the copies in DIR back (services stopped), nothing else")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    try:
        return _main(args, data_dir)
    finally:
        keep_owners(data_dir)


def _main(args: argparse.Namespace, data_dir: Path) -> int:
    if args.restore:
        for path in restore(Path(args.restore), data_dir):
            print(f"{path}: restored")
        return 0
    if not data_dir.is_dir():
        print(f"{data_dir}: no data folder yet; nothing to migrate (the services create their stores at start)")
        return 0
    try:
        if args.backup:
            backup(data_dir, Path(args.backup))
        results = check(data_dir) if args.check else migrate(data_dir)
    except UpgradeError as exc:
        if args.check:
            print(f"迁移检查失败，数据未改动 / migration check failed, the data is unchanged: {exc}", file=sys.stderr)
        else:
            print(f"迁移失败，出错的数据库已回滚 / migration failed, the failing store rolled back"
                  f"{' (restore the others from ' + args.backup + ')' if args.backup else ''}: {exc}", file=sys.stderr)
        return 1
    verb = "would apply" if args.check else "applied"
    for result in results:
        print(f"{result.path}: {verb} {len(result.applied)} migration(s)"
              + (f": {', '.join(result.applied)}" if result.applied else ""))
    if not results:
        print(f"{data_dir}: no stores yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
