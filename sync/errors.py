"""Errors raised by sync/.

Every store error names the database file and says what to do next::

    SyncError                        base of everything sync/ raises
    └── StoreError                   the local store cannot do what was asked
        ├── StoreInUse               another process (or Store) owns the file: names the PID
        ├── StoreLocked              SQLite stayed busy past the busy timeout
        ├── StoreCorrupt             not a SQLite database, or damaged pages
        ├── StoreUnwritable          the file or its folder cannot be written
        │   ├── StoreFull            the disk (or the database's page limit) is full
        │   └── StoreReadOnly        read-only file, folder or filesystem; no permission;
        │                            the folder does not exist
        ├── StoreClosed              used after close()
        ├── TransactionAborted       SQLite rolled the whole transaction back inside a
        │                            nested atomic() whose error was caught; nothing written
        ├── MigrationError           the schema cannot be brought up to date
        │   ├── MigrationFailed      a migration raised: the whole upgrade rolled back
        │   └── MigrationMismatch    the recorded migrations disagree with the code
        │                            (renamed, reordered, removed, or a newer release's file)
        └── OutboxError              the outbox used the wrong way (outside atomic(),
                                     an event UUID reused with other content)
    ├── LifecycleError               about a case's state (:mod:`sync.lifecycle`)
    │   ├── UnknownCaseState         not a state of the lifecycle
    │   └── TransitionRefused        that change of state is not allowed from the current one
    └── AgentError                   the sync agent cannot talk to the server (:mod:`sync.agent`)
        ├── ServerUnreachable        no answer: offline, refused, timed out, or a 5xx
        ├── NotEnrolled              no device registration and no enrolment code to make one
        └── ServerRefused            the server answered no (4xx): names the status and its detail
            ├── EventConflict        409: event UUIDs the server knows with other content
            └── UploadConflict       409 on an attachment upload: ``received`` says where
                                     the server stands

SQLite's own errors are translated at the store's boundary (``raise X(...) from exc``)
only when they are about the file or the machine (busy, corrupt, full, read-only,
I/O). Errors about the caller's SQL or data (a constraint, a syntax error) pass
through as ``sqlite3`` exceptions: they are bugs to fix, not conditions to handle.

Messages never hold row contents: they name files, packages and migrations only.
"""
from __future__ import annotations

import os


class SyncError(Exception):
    """Base of every sync/ error. ``hint`` tells a person what to do next."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(message + (f" — {hint}" if hint else ""))


class StoreError(SyncError):
    """The local store failed; ``path`` is the database file."""

    def __init__(self, path: str | os.PathLike, message: str, *, hint: str = "") -> None:
        self.path = str(path)
        super().__init__(f"store {self.path}: {message}", hint=hint)


class StoreInUse(StoreError):
    """Another process owns the database file (its advisory lock file is held)."""

    def __init__(self, path: str | os.PathLike, *, pid: int | None, lock_path: str) -> None:
        self.pid = pid
        self.lock_path = lock_path
        owner = f"process {pid}" if pid else "another process"
        ours = " (this very process: a second Store on the same file)" if pid == os.getpid() else ""
        super().__init__(
            path, f"{owner}{ours} already owns this database (lock file {lock_path})",
            hint="one process owns a database file; stop the other one (or send your "
                 "writes through it), or point [store] path at another file")


class StoreLocked(StoreError):
    """SQLite reported the database busy or locked past the busy timeout."""


class StoreCorrupt(StoreError):
    """The file is not a SQLite database, or SQLite found damaged pages."""


class StoreUnwritable(StoreError):
    """The file or its folder cannot be written (also: the storage reports I/O errors)."""


class StoreFull(StoreUnwritable):
    """The disk holding the file is full (or the database reached max_page_count)."""


class StoreReadOnly(StoreUnwritable):
    """Read-only file, folder or filesystem; no permission; or the folder is missing."""


class StoreClosed(StoreError):
    """The store was used after close()."""


class TransactionAborted(StoreError):
    """SQLite itself rolled back the whole transaction (disk full, I/O error, a
    ``RAISE(ROLLBACK)`` trigger) inside a nested atomic() whose error the caller caught;
    the outer atomic() then refuses to pretend it committed."""


class MigrationError(StoreError):
    """The schema cannot be brought up to date; nothing was changed."""


class MigrationFailed(MigrationError):
    """A migration raised; the whole upgrade rolled back and the file is as it was."""

    def __init__(self, path: str | os.PathLike, package: str, name: str, error: BaseException) -> None:
        self.package, self.name = package, name
        super().__init__(
            path, f"migration {package}/{name} failed: {type(error).__name__}: {error}",
            hint="the upgrade rolled back entirely and the file is as it was before; "
                 "fix the migration, or run the previous release")


class MigrationMismatch(MigrationError):
    """The migrations recorded in the file disagree with the code's list."""


class OutboxError(StoreError):
    """The outbox was used the wrong way."""


class LifecycleError(SyncError):
    """A case's state cannot change as asked (see :mod:`sync.lifecycle`)."""


class UnknownCaseState(LifecycleError):
    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(f"{value!r} is not a case state", hint="see sync/lifecycle.py for the states")


class TransitionRefused(LifecycleError):
    """``current`` (None: no case yet) may not move to ``target``; ``allowed`` lists where it may."""

    def __init__(self, current: str | None, target: str, allowed: list[str]) -> None:
        self.current, self.target, self.allowed = current, target, allowed
        super().__init__(f"a case in state {current or '(none)'} cannot become {target}",
                         hint=f"from {current or '(none)'} it may become: {', '.join(allowed) or 'nothing (final)'}")


class AgentError(SyncError):
    """The sync agent could not do one round with the server."""


class ServerUnreachable(AgentError):
    """No usable answer: connection refused, offline, timeout, or a server error (5xx).
    The agent backs off and tries again; nothing is lost."""


class NotEnrolled(AgentError):
    """This appliance has no registration with the server and no code to make one."""


class ServerRefused(AgentError):
    """The server answered with a 4xx; ``status`` and ``detail`` say why."""

    def __init__(self, status: int, detail: object, *, hint: str = "") -> None:
        self.status, self.detail = status, detail
        super().__init__(f"server refused the request: HTTP {status}: {detail}", hint=hint)


class EventConflict(ServerRefused):
    """The server already holds ``event_ids`` with other content (a UUID reused)."""

    def __init__(self, event_ids: list[str], detail: object) -> None:
        self.event_ids = event_ids
        super().__init__(409, detail, hint="these events stay in the outbox with the reason; "
                                           "the events behind them are pushed")


class UploadConflict(ServerRefused):
    """An attachment step that is not where the server stands (a gap, other bytes at a
    held offset, finish before every byte); ``received`` is what the server holds."""

    def __init__(self, received: int, detail: object) -> None:
        self.received = received
        super().__init__(409, detail, hint=f"send from offset {received}")
