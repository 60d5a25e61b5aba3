"""Translating what SQLite and the OS say about a database file into sync.errors.

Only conditions of the file or the machine are translated (busy, corrupt, full,
read-only, I/O); an error in the caller's SQL or data is returned as ``None`` so it
propagates unchanged as the bug it is.
"""
from __future__ import annotations

import errno
import os
import sqlite3

from sync.errors import (StoreCorrupt, StoreError, StoreFull, StoreLocked, StoreReadOnly,
                         StoreUnwritable)

# Primary result codes (https://www.sqlite.org/rescode.html); extended codes keep
# the primary one in their low byte.
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 10, 11, 13, 14, 26


def _folder(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def from_sqlite(exc: BaseException, path: str) -> StoreError | None:
    """The StoreError for ``exc``, or None when it is not about the file or machine."""
    if isinstance(exc, StoreError):
        return exc
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return None
    primary = code & 0xFF
    said = f"SQLite says {getattr(exc, 'sqlite_errorname', primary)}: {exc}"
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreLocked(path, f"the database stayed locked past the busy timeout ({said})",
                           hint="another program holds a write lock on it (a sqlite3 shell "
                                "left in a transaction, a backup tool); close it and retry")
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreCorrupt(path, f"the file is not a usable SQLite database ({said})",
                            hint="stop the service, move the file (with its -wal and -shm) "
                                 "aside for analysis, and restore the last backup; events "
                                 "already sent are safe on the server")
    if primary == SQLITE_FULL:
        return StoreFull(path, f"the disk is full ({said})",
                         hint=f"free space on the filesystem holding {_folder(path)} "
                              "(`df -h`, old logs, print spool); nothing of the failed "
                              "transaction was written")
    if primary in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM):
        return StoreReadOnly(path, f"the database cannot be opened for writing ({said})",
                             hint=f"check that {_folder(path)} exists and that the service "
                                  "user may write the file, its -wal/-shm and the folder, "
                                  "and that the filesystem is not mounted read-only")
    if primary == SQLITE_IOERR:
        return StoreUnwritable(path, f"the storage reported an I/O error ({said})",
                               hint="check the disk or SD card (`dmesg`); if it is failing, "
                                    "replace it and restore the last backup")
    return None


def from_os(exc: OSError, path: str, what: str) -> StoreError:
    """The StoreError for an OSError met while touching ``what`` (a file next to ``path``)."""
    said = f"{what}: {exc.strerror or exc}"
    if exc.errno == errno.ENOSPC:
        return StoreFull(path, f"the disk is full ({said})",
                         hint=f"free space on the filesystem holding {_folder(path)}")
    if exc.errno == errno.ENOENT:
        return StoreReadOnly(path, f"the folder {_folder(path)} does not exist ({said})",
                             hint="create it (the install script or systemd StateDirectory "
                                  "does), or fix [store] path / [appliance] data_dir")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreReadOnly(path, f"cannot write next to the database ({said})",
                             hint=f"let the service user write {_folder(path)}, and check "
                                  "that the filesystem is not mounted read-only")
    return StoreUnwritable(path, f"cannot use the database's folder ({said})",
                           hint="check the disk (`dmesg`) and the folder's permissions")
