"""The Store: one appliance database file, its single writer and its readers.

- One process owns a database file. The Store takes an exclusive advisory lock on
  ``FILE.lock`` when it opens (:mod:`sync.store.lockfile`); a second Store, in this
  process or another, gets :class:`~sync.errors.StoreInUse` naming the owner's PID.
  Other processes send their writes through the owner.
- The Store owns the single write connection; a thread lock serialises writers in
  this process. Everything written goes through :meth:`Store.atomic`.
- Readers run in parallel, each on its own read-only connection (WAL lets them read
  while the writer writes); :meth:`Store.reader` gives one snapshot of committed data.
- ``journal_mode=WAL``, ``synchronous=FULL`` on the writer, always: a door opened or
  a case deposited must survive a power cut the moment its transaction returns, and
  at this appliance's pace (events per minute, not per millisecond) the fsync per
  commit costs nothing anyone notices (``python -m bench store`` measures it).
  NORMAL would only risk losing the last transactions on power loss, never
  corruption, but "the door opened and the appliance forgot" is the failure this
  store exists to prevent.
- ``foreign_keys=ON`` on every connection, and a busy timeout (default 5 s).
- Opening applies the migrations: sync's own (the outbox) first, then each package's
  in the order given (:mod:`sync.store.migrations`).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

from sqlite_utils import Database

from sync.errors import StoreClosed, StoreCorrupt, StoreError, StoreUnwritable, TransactionAborted
from sync.store import migrations as schema
from sync.store import outbox
from sync.store.lockfile import WriterLock
from sync.store.migrations import Applied, Migrations
from sync.store.translate import SQLITE_READONLY, from_sqlite

log = logging.getLogger(__name__)


class Store:
    """The appliance's database file, opened for writing by this process::

        store = Store(config.store_path, [locker.store.migrations])
        with store.atomic() as db:
            db["doors"].update(door_id, {"state": "open"})
            append_event(db, aggregate_type="door", aggregate_id=str(door_id),
                         event_type="opened", payload={"by": "pickup"})
        with store.reader() as db:
            rows = list(db.query("select * from doors"))
        store.close()
    """

    # The writer's durability; a subclass may lower it, as bench/bench_store.py does
    # to measure what FULL costs. Nothing in the appliance should.
    SYNCHRONOUS: ClassVar[Literal["FULL", "NORMAL", "EXTRA"]] = "FULL"

    def __init__(self, path: str | os.PathLike, migrations: Sequence[Migrations] = (), *,
                 busy_timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()  # reentrant: atomic() nests within one thread
        self._depth = 0  # atomic() levels open; only the thread holding _lock touches it
        self._aborted: BaseException | None = None
        self._writer_lock = WriterLock(self.path)
        self._writer_lock.acquire()
        try:
            self._db: Database | None = self._connect_writer()
            try:
                self._migrate(_with_outbox(migrations))
            except BaseException:
                self._db.close()
                raise
        except BaseException:
            self._writer_lock.release()
            raise
        log.debug("store %s open", self.path)

    # -- connections -----------------------------------------------------------------
    def _connect(self, target: str, **kwargs: Any) -> sqlite3.Connection:
        try:
            # isolation_level=None: no implicit BEGIN; atomic() and reader() say when.
            # timeout is SQLite's busy timeout.
            conn = sqlite3.connect(target, timeout=self.busy_timeout, isolation_level=None, **kwargs)
        except sqlite3.Error as exc:
            self._raise(exc)
        try:
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException as exc:
            conn.close()
            self._raise(exc)
        return conn

    def _connect_writer(self) -> Database:
        # check_same_thread=False: any thread may write, one at a time under _lock.
        conn = self._connect(self.path, check_same_thread=False)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreUnwritable(self.path, f"SQLite cannot use WAL here (journal_mode stays {mode!r})",
                                      hint="keep the database on a local filesystem (not NFS or a "
                                           "FAT USB stick) where shared memory works")
            conn.execute(f"PRAGMA synchronous={self.SYNCHRONOUS}")
            return Database(conn, execute_plugins=False)
        except BaseException as exc:
            conn.close()
            self._raise(exc)

    def _migrate(self, sets: Sequence[Migrations]) -> None:
        with self.atomic() as db:
            done = schema.apply(db, sets, self.path)
        if done:
            # Names of migrations only: nothing here is personal data.
            log.info("store %s: applied %s", self.path,
                     ", ".join(f"{m.package}/{m.name}" for m in done))

    def _writer(self) -> Database:
        if self._db is None:
            raise StoreClosed(self.path, "the store is closed",
                              hint="open a new Store; a closed one stays closed")
        return self._db

    def _raise(self, exc: BaseException, *, reading: bool = False) -> Any:
        """Re-raise ``exc``, translated when it is about the file or the machine."""
        if reading and getattr(exc, "sqlite_errorcode", 0) & 0xFF == SQLITE_READONLY:
            raise exc  # a write on a reader: the caller's bug, not the folder's permissions
        translated = from_sqlite(exc, self.path)
        if translated is None or translated is exc:
            raise exc
        raise translated from exc

    # -- writing ---------------------------------------------------------------------
    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """A transaction; nested calls are savepoints. Rolls back on ANY exception.

        The outermost level starts with BEGIN IMMEDIATE, so the write lock is taken up
        front rather than on the first write. An exception caught around an inner
        atomic() rolls back that inner level only. Swallowing a SQLite error without a
        nested atomic() around it is a bug: SQLite may already have rolled back the
        whole transaction (disk full, I/O error), see :class:`TransactionAborted`.
        """
        with self._lock:
            db = self._writer()
            conn = db.conn
            level = self._depth
            savepoint = f"store_atomic_{level}"
            try:
                if level == 0:
                    conn.execute("BEGIN IMMEDIATE")
                elif self._aborted is None:
                    conn.execute(f"SAVEPOINT {savepoint}")
            except BaseException as exc:
                self._raise(exc)
            self._depth += 1
            try:
                yield db
            except BaseException as exc:
                self._depth -= 1
                self._undo(conn, level, savepoint, exc)
                self._raise(exc)
            self._depth -= 1
            self._finish(conn, level, savepoint)

    def _undo(self, conn: sqlite3.Connection, level: int, savepoint: str, exc: BaseException) -> None:
        try:
            if level == 0:
                self._aborted = None
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            elif self._aborted is None:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                else:
                    # SQLite dropped the whole transaction. The caller may catch exc and
                    # carry on writing: without a transaction each statement would
                    # commit on its own. Open a throwaway one to catch those writes;
                    # the outermost level rolls it back and raises TransactionAborted.
                    self._aborted = exc
                    conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as undo_error:
            # The original exception matters more; the connection is reset at level 0.
            log.error("store %s: rollback failed: %s", self.path, undo_error)

    def _finish(self, conn: sqlite3.Connection, level: int, savepoint: str) -> None:
        if self._aborted is not None:
            if level > 0:
                return  # the throwaway transaction's savepoints do not exist
            cause, self._aborted = self._aborted, None
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise TransactionAborted(
                self.path, f"SQLite rolled back the whole transaction after "
                           f"{type(cause).__name__}: {cause}; nothing of it was written",
                hint="do not carry on after that error: let it propagate out of atomic()") from cause
        try:
            if level > 0:
                conn.execute(f"RELEASE {savepoint}")
            elif conn.in_transaction:
                conn.execute("COMMIT")
            else:
                raise TransactionAborted(
                    self.path, "the transaction was gone before COMMIT (an error SQLite rolls "
                               "back on was caught inside atomic(), or the body ran COMMIT or "
                               "ROLLBACK itself); any statement after that was committed on its own",
                    hint="let errors propagate out of atomic(), or catch them around a nested "
                         "atomic(); never run COMMIT/ROLLBACK inside it")
        except BaseException as exc:
            self._undo(conn, level, savepoint, exc)
            self._raise(exc)

    # -- reading ---------------------------------------------------------------------
    @contextmanager
    def reader(self) -> Iterator[Database]:
        """A read-only connection of its own, holding one snapshot of committed data.

        Readers run in parallel with each other and with the writer (WAL). A reader
        opened inside atomic() does not see that transaction's uncommitted writes.
        Each call opens a fresh connection (about a tenth of a millisecond), which
        keeps readers trivially thread-safe; pool them if that ever shows in a profile.
        """
        self._writer()  # refuse once closed, even though readers do not need the writer
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        conn = self._connect(uri, uri=True)
        try:
            db = Database(conn, recursive_triggers=False, execute_plugins=False)
            conn.execute("BEGIN")  # deferred: the snapshot is taken at the first read
            yield db
        except BaseException as exc:
            self._raise(exc, reading=True)
        finally:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            finally:
                conn.close()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one SELECT on a reader; the rows as dicts."""
        with self.reader() as db:
            return list(db.query(sql, params))

    def applied_migrations(self) -> list[Applied]:
        with self.reader() as db:
            return schema.applied(db)

    def integrity_check(self) -> list[str]:
        """SQLite's ``PRAGMA integrity_check``: the problems found, [] when the file is sound."""
        try:
            with self.reader() as db:
                problems = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
        except StoreCorrupt as exc:  # damage bad enough to stop the check itself
            return [str(exc.__cause__ or exc)]
        return [] if problems == ["ok"] else problems

    # -- lifetime --------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._db is None

    def close(self) -> None:
        """Close the writer and release the file; waits for a writer in another thread."""
        with self._lock:
            if self._db is None:
                return
            if self._depth:
                raise StoreError(self.path, "close() called inside atomic()")
            db, self._db = self._db, None
            try:
                db.close()
            finally:
                self._writer_lock.release()
        log.debug("store %s closed", self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.path}{' (closed)' if self.closed else ''}>"


def _with_outbox(sets: Sequence[Migrations]) -> list[Migrations]:
    """sync's own migrations (the outbox) first, then the packages' in the order given."""
    ordered = [outbox.migrations]
    for migrations in sets:
        if migrations is outbox.migrations:
            continue
        if any(m.package == migrations.package for m in ordered):
            raise ValueError(f"two migration lists for package {migrations.package!r}")
        ordered.append(migrations)
    return ordered
