"""Readers: their own read-only connections, in parallel, seeing committed data only."""
import sqlite3
import threading

import pytest

from .conftest import names


def test_journal_is_wal_and_the_writer_syncs_fully(store):
    assert store.query("PRAGMA journal_mode") == [{"journal_mode": "wal"}]
    with store.atomic() as db:
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_readers_see_committed_data_only(store):
    with store.atomic() as db:
        db["things"].insert({"id": 1, "name": "committed"})
    inserted, commit = threading.Event(), threading.Event()

    def writer():
        with store.atomic() as db:
            db["things"].insert({"id": 2, "name": "pending"})
            inserted.set()
            commit.wait(5)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert inserted.wait(5)
        with store.reader() as early:
            # WAL: the reader is not blocked by the open write transaction…
            assert [r["name"] for r in early.query("SELECT name FROM things")] == ["committed"]
            commit.set()
            thread.join(5)
            # …and keeps its snapshot while the writer commits.
            assert [r["name"] for r in early.query("SELECT name FROM things")] == ["committed"]
    finally:
        commit.set()
        thread.join(5)
    assert names(store) == ["committed", "pending"]


def test_a_reader_inside_atomic_does_not_see_its_uncommitted_writes(store):
    with store.atomic() as db:
        db["things"].insert({"id": 1, "name": "pending"})
        assert names(store) == []
    assert names(store) == ["pending"]


def test_readers_run_in_parallel(store):
    count = 4
    together = threading.Barrier(count, timeout=5)
    seen, failures = [], []

    def read():
        try:
            with store.reader() as db:
                db.execute("SELECT count(*) FROM things").fetchone()
                together.wait()  # every reader is inside its transaction at once
                seen.append(True)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    with store.atomic() as db:  # …even while the writer holds a transaction open
        db["things"].insert({"id": 1, "name": "x"})
        threads = [threading.Thread(target=read) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert not failures and len(seen) == count


def test_a_reader_cannot_write(store):
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        with store.reader() as db:
            db.execute("INSERT INTO things (id, name) VALUES (1, 'x')")
    assert names(store) == []


def test_integrity_check_and_applied_migrations(store):
    assert store.integrity_check() == []
    assert [(a.package, a.name) for a in store.applied_migrations()] == [
        ("sync", "0001_outbox"), ("sync", "0002_server_cases"), ("things", "0001_things")]
