"""The writer's claim on a database file: an exclusive advisory lock on ``FILE.lock``.

One process owns a database file. SQLite alone would let a second writer process in
and only make the two wait on each other (or fail with "database is locked" at some
random later write); the lock file turns that into a clear error at start-up, naming
the process that owns the file.

``flock`` locks belong to the open file description, so a second Store on the same
file inside one process is refused too, and the kernel drops the lock when the
owner dies (SIGKILL, power loss): a stale lock file with an old PID is harmless.
The file is never deleted: unlinking a lock file races with the next owner.
"""
from __future__ import annotations

import fcntl
import os

from sync.errors import StoreInUse
from sync.store.translate import from_os


class WriterLock:
    """Held from :meth:`acquire` until :meth:`release`; not reentrant."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.path = db_path + ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise from_os(exc, self.db_path, self.path) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = self._owner(fd)
            os.close(fd)
            raise StoreInUse(self.db_path, pid=pid, lock_path=self.path) from None
        except OSError as exc:
            os.close(fd)
            raise from_os(exc, self.db_path, self.path) from exc
        try:
            # The PID is only for the loser's message; the lock is the flock itself.
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            os.close(fd)  # closing drops the flock
            raise from_os(exc, self.db_path, self.path) from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    @staticmethod
    def _owner(fd: int) -> int | None:
        # Empty while the owner is between flock and write: then we cannot say who.
        try:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None
