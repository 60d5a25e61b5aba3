"""atomic(): a transaction that nests with savepoints and rolls back on anything."""
import sqlite3
import threading

import pytest

from sync.errors import OutboxError, StoreClosed, TransactionAborted
from sync.store import append_event

from .conftest import names


class NotAnException(BaseException):
    pass


def test_a_committed_transaction_is_visible(store):
    with store.atomic() as db:
        db["things"].insert({"id": 1, "name": "a"})
        db["things"].insert({"id": 2, "name": "b"})
    assert names(store) == ["a", "b"]


@pytest.mark.parametrize("error", [ValueError, KeyError, KeyboardInterrupt, SystemExit,
                                   GeneratorExit, NotAnException])
def test_any_exception_rolls_the_transaction_back(store, error):
    with pytest.raises(error):
        with store.atomic() as db:
            db["things"].insert({"id": 1, "name": "a"})
            with store.atomic():
                db["things"].insert({"id": 2, "name": "b"})
            raise error()
    assert names(store) == []
    with store.atomic() as db:  # and the writer is usable afterwards
        db["things"].insert({"id": 3, "name": "c"})
    assert names(store) == ["c"]


def test_a_caught_inner_failure_rolls_back_only_the_inner_savepoint(store):
    with store.atomic() as db:
        db["things"].insert({"id": 1, "name": "outer"})
        with pytest.raises(KeyboardInterrupt):
            with store.atomic():
                db["things"].insert({"id": 2, "name": "inner"})
                with store.atomic():
                    db["things"].insert({"id": 3, "name": "innermost"})
                raise KeyboardInterrupt
        with store.atomic():
            db["things"].insert({"id": 4, "name": "after"})
    assert names(store) == ["outer", "after"]


def test_an_uncaught_inner_failure_rolls_back_everything(store):
    with pytest.raises(ValueError):
        with store.atomic() as db:
            db["things"].insert({"id": 1, "name": "outer"})
            with store.atomic():
                db["things"].insert({"id": 2, "name": "inner"})
                raise ValueError
    assert names(store) == []


def test_errors_in_the_callers_sql_pass_through_untranslated(store):
    with pytest.raises(sqlite3.IntegrityError):
        with store.atomic() as db:
            db["things"].insert({"id": 1, "name": "a"})
            db.execute("INSERT INTO things (id, name) VALUES (1, 'again')")
    assert names(store) == []


@pytest.fixture
def boom(store):
    """A trigger that makes SQLite itself roll back the whole transaction, as disk
    full or an I/O error would."""
    with store.atomic() as db:
        db.execute("CREATE TRIGGER boom BEFORE INSERT ON things WHEN NEW.name = 'boom' "
                   "BEGIN SELECT RAISE(ROLLBACK, 'boom'); END")
    return store


def test_writes_after_sqlite_dropped_the_transaction_are_not_committed_one_by_one(boom):
    store = boom
    with pytest.raises(TransactionAborted) as raised:
        with store.atomic() as db:
            db["things"].insert({"id": 1, "name": "before"})
            try:
                with store.atomic():
                    with store.atomic():
                        db["things"].insert({"id": 2, "name": "boom"})
            except sqlite3.IntegrityError:
                pass  # the caller "handles" it and carries on
            db["things"].insert({"id": 3, "name": "after"})
            with store.atomic():
                db["things"].insert({"id": 4, "name": "nested after"})
    assert "boom" in str(raised.value) and str(store.path) in str(raised.value)
    assert names(store) == []
    with store.atomic() as db:
        db["things"].insert({"id": 5, "name": "fine"})
    assert names(store) == ["fine"]


def test_a_swallowed_error_at_the_outermost_level_is_not_reported_as_committed(boom):
    store = boom
    with pytest.raises(TransactionAborted):
        with store.atomic() as db:
            try:
                db["things"].insert({"id": 1, "name": "boom"})
            except sqlite3.IntegrityError:
                pass
    assert names(store) == []


def test_writers_in_threads_are_serialised(store):
    with store.atomic() as db:
        db["things"].insert({"id": 1, "name": "0"})

    def bump(times: int) -> None:
        for _ in range(times):
            with store.atomic() as db:
                n = int(db.execute("SELECT name FROM things WHERE id = 1").fetchone()[0])
                threading.Event().wait(0)  # invite a switch between read and write
                db.execute("UPDATE things SET name = ? WHERE id = 1", [str(n + 1)])

    threads = [threading.Thread(target=bump, args=(100,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert names(store) == ["400"]


def test_append_event_outside_a_transaction_is_refused(store):
    with store.atomic() as db:
        pass
    with pytest.raises(OutboxError, match="outside a transaction") as raised:
        append_event(db, aggregate_type="case", aggregate_id="1", event_type="created", payload={})
    assert str(store.path) in str(raised.value)


def test_a_closed_store_says_so(store):
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreClosed):
        with store.atomic():
            pass
    with pytest.raises(StoreClosed):
        store.query("SELECT 1")
    assert "closed" in repr(store)
