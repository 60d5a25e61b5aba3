"""The error tree: every condition of the file or machine names the file and what to do."""
import ast
import errno
import inspect
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

import sync.errors
from sync.errors import (StoreCorrupt, StoreFull, StoreLocked, StoreReadOnly, StoreUnwritable,
                         TransactionAborted)
from sync.store import Store
from sync.store.translate import from_os, from_sqlite

from tests.support import ROOT, require

from .conftest import THINGS, names


def test_the_docstring_shows_every_error():
    doc = ast.get_docstring(ast.parse(inspect.getsource(sync.errors)))
    classes = [name for name, obj in vars(sync.errors).items()
               if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == "sync.errors"]
    assert classes and all(name in doc for name in classes)


def test_a_file_that_is_not_sqlite_is_reported_as_corrupt(db_path):
    db_path.write_bytes(b"PK\x03\x04 this is a zip, not a database " * 50)
    with pytest.raises(StoreCorrupt) as raised:
        Store(db_path)
    assert str(db_path) in str(raised.value) and "backup" in str(raised.value)
    db_path.unlink()
    with Store(db_path):  # the failed open released the file
        pass


def test_an_empty_file_is_a_new_database(db_path):
    db_path.write_bytes(b"")
    with Store(db_path) as store:
        assert store.integrity_check() == []


def test_damaged_pages_are_found(db_path):
    with Store(db_path, [THINGS]) as store:
        with store.atomic() as db:
            db["things"].insert_all({"id": i, "name": "x" * 200} for i in range(2000))
        page_size = store.query("PRAGMA page_size")[0]["page_size"]
    size = db_path.stat().st_size
    with open(db_path, "r+b") as file:  # scribble over the table's later pages
        file.seek(size - 20 * page_size)
        file.write(os.urandom(10 * page_size))
    with Store(db_path, [THINGS]) as store:
        assert store.integrity_check() != []
        with pytest.raises(StoreCorrupt) as raised:
            store.query("SELECT sum(length(name)) FROM things")
        assert str(db_path) in str(raised.value)


def test_a_missing_folder_is_named(tmp_path):
    path = tmp_path / "no-such-folder" / "appliance.db"
    with pytest.raises(StoreReadOnly) as raised:
        Store(path)
    assert f"{tmp_path / 'no-such-folder'} does not exist" in str(raised.value)


def test_disk_full_rolls_back_and_names_the_file(store):
    with store.atomic() as db:
        db["things"].insert({"id": 1, "name": "small"})
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        # A database page limit fails exactly like a full disk (SQLITE_FULL).
        db.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(StoreFull) as raised:
        with store.atomic() as db:
            db["things"].insert({"id": 2, "name": "fits"})
            db["things"].insert({"id": 3, "name": "x" * 100_000})
    assert str(store.path) in str(raised.value) and "free space" in str(raised.value)
    assert names(store) == ["small"]

    # Caught inside a nested atomic(), SQLite has still dropped the whole transaction.
    with pytest.raises(TransactionAborted):
        with store.atomic() as db:
            db["things"].insert({"id": 4, "name": "lost"})
            try:
                with store.atomic():
                    db["things"].insert({"id": 5, "name": "x" * 100_000})
            except StoreFull:
                pass
    assert names(store) == ["small"]
    with store.atomic() as db:  # space left for small writes
        db["things"].insert({"id": 6, "name": "fits"})
    assert names(store) == ["small", "fits"]


def test_a_read_only_folder_is_named(tmp_path):
    """Root writes through file permissions, so the folder is made read-only with a
    read-only bind mount in a private mount namespace (what a read-only root
    filesystem looks like to the appliance)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    unshare = shutil.which("unshare")
    require("unshare (util-linux)", unshare is not None, "needed to mount a read-only folder")
    code = ("import sys\nfrom sync.store import Store\nfrom sync.errors import StoreReadOnly\n"
            "try:\n    Store(sys.argv[1])\nexcept StoreReadOnly as exc:\n    print(exc)\n    sys.exit(0)\n"
            "sys.exit('no StoreReadOnly')\n")
    script = f'mount --bind -o ro "$1" "$1" && exec "$2" -c "$3" "$1/appliance.db"'
    run = subprocess.run([unshare, "-m", "sh", "-c", script, "sh", str(folder), sys.executable, code],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    require("mount namespaces", "mount" not in run.stderr or run.returncode == 0,
            f"cannot make a read-only bind mount here: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    assert str(folder) in run.stdout


def sqlite_error(code: int, cls=sqlite3.OperationalError) -> sqlite3.Error:
    error = cls("as SQLite would say it")
    error.sqlite_errorcode = code
    error.sqlite_errorname = f"code {code}"
    return error


@pytest.mark.parametrize("code,expected", [
    (5, StoreLocked),                 # SQLITE_BUSY
    (5 | (2 << 8), StoreLocked),      # SQLITE_BUSY_SNAPSHOT
    (6, StoreLocked),                 # SQLITE_LOCKED
    (11, StoreCorrupt),               # SQLITE_CORRUPT
    (26, StoreCorrupt),               # SQLITE_NOTADB
    (13, StoreFull),                  # SQLITE_FULL
    (8, StoreReadOnly),               # SQLITE_READONLY
    (8 | (3 << 8), StoreReadOnly),    # SQLITE_READONLY_ROLLBACK
    (14, StoreReadOnly),              # SQLITE_CANTOPEN
    (3, StoreReadOnly),               # SQLITE_PERM
    (10 | (3 << 8), StoreUnwritable), # SQLITE_IOERR_WRITE
    (19, None),                       # SQLITE_CONSTRAINT: the caller's data
    (1, None),                        # SQLITE_ERROR: the caller's SQL
])
def test_sqlite_errors_translate_by_result_code(code, expected):
    translated = from_sqlite(sqlite_error(code), "/var/lib/kiosk/appliance.db")
    if expected is None:
        assert translated is None
    else:
        assert type(translated) is expected
        assert "/var/lib/kiosk/appliance.db" in str(translated) and translated.hint


@pytest.mark.parametrize("number,expected", [
    (errno.ENOSPC, StoreFull), (errno.EROFS, StoreReadOnly), (errno.EACCES, StoreReadOnly),
    (errno.ENOENT, StoreReadOnly), (errno.EIO, StoreUnwritable),
])
def test_os_errors_translate_by_errno(number, expected):
    error = OSError(number, os.strerror(number))
    translated = from_os(error, "/var/lib/kiosk/appliance.db", "/var/lib/kiosk/appliance.db.lock")
    assert type(translated) is expected and "/var/lib/kiosk" in str(translated)
