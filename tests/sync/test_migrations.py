"""Named, ordered migrations per package, recorded with the change they make."""
import sqlite3

import pytest

from sync.errors import MigrationFailed, MigrationMismatch
from sync.store import Migrations, Store

from .conftest import migration_set


def schema(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    return rows


def recorded(path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT package, position, name, applied_at FROM _migrations "
                            "ORDER BY rowid").fetchall()
    finally:
        conn.close()


def test_empty_file_is_migrated_and_rerunning_is_a_noop(db_path):
    calls = []
    locker = migration_set("locker", ["0001_doors", "0002_tokens"], calls)
    with Store(db_path, [locker]) as store:
        assert [(a.package, a.name) for a in store.applied_migrations()] == [
            ("locker", "0001_doors"), ("locker", "0002_tokens"), ("sync", "0001_outbox"),
            ("sync", "0002_server_cases")]
    first_schema, first_record = schema(db_path), recorded(db_path)
    assert all(applied_at.endswith("+00:00") for *_, applied_at in first_record)

    with Store(db_path, [locker]):
        pass
    assert calls == ["locker/0001_doors", "locker/0002_tokens"]  # not run again
    assert schema(db_path) == first_schema and recorded(db_path) == first_record


def test_packages_apply_in_the_order_given_and_each_in_declaration_order(db_path):
    calls = []
    # Declaration order wins over alphabetical order.
    locker = migration_set("locker", ["doors", "compartments"], calls)
    kiosk = migration_set("kiosk", ["sessions"], calls)
    with Store(db_path, [locker, kiosk]):
        pass
    assert calls == ["locker/doors", "locker/compartments", "kiosk/sessions"]
    assert [(p, pos, n) for p, pos, n, _ in recorded(db_path)] == [
        ("sync", 1, "0001_outbox"), ("sync", 2, "0002_server_cases"), ("locker", 1, "doors"), ("locker", 2, "compartments"),
        ("kiosk", 1, "sessions")]

    # A release adds one migration to each package: only those run, still in order.
    calls.clear()
    locker = migration_set("locker", ["doors", "compartments", "tokens"], calls)
    kiosk = migration_set("kiosk", ["sessions", "printouts"], calls)
    with Store(db_path, [locker, kiosk]):
        pass
    assert calls == ["locker/tokens", "kiosk/printouts"]


def test_same_migration_names_in_two_packages_do_not_collide(db_path):
    with Store(db_path, [migration_set("locker", ["0001"]), migration_set("kiosk", ["0001"])]) as store:
        assert {(a.package, a.name) for a in store.applied_migrations()} >= {("locker", "0001"), ("kiosk", "0001")}


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_a_failing_migration_leaves_nothing_behind(db_path, error):
    with Store(db_path, [migration_set("locker", ["0001_doors"])]):
        pass
    before_schema, before_record = schema(db_path), recorded(db_path)

    locker = migration_set("locker", ["0001_doors", "0002_tokens", "0003_broken"])
    kiosk = migration_set("kiosk", ["0001_sessions"])
    if error is ValueError:
        locker = migration_set("locker", ["0001_doors", "0002_tokens", "0003_broken"], fail="0003_broken")
        with pytest.raises(MigrationFailed) as raised:
            Store(db_path, [locker, kiosk])
        assert "locker/0003_broken" in str(raised.value) and str(db_path) in str(raised.value)
        assert raised.value.package == "locker" and raised.value.name == "0003_broken"
    else:
        @kiosk.add("0002_interrupted")
        def interrupted(db):
            db.execute("CREATE TABLE half_done (x)")
            raise KeyboardInterrupt  # not an Exception: rolled back all the same, not wrapped
        with pytest.raises(KeyboardInterrupt):
            Store(db_path, [locker, kiosk])

    # The whole upgrade rolled back, including the migrations that had succeeded.
    assert schema(db_path) == before_schema and recorded(db_path) == before_record
    with Store(db_path, [migration_set("locker", ["0001_doors"])]):
        pass  # and the file is free again for the previous release


def test_a_failure_on_a_new_file_leaves_no_tables_at_all(db_path):
    with pytest.raises(MigrationFailed):
        Store(db_path, [migration_set("locker", ["0001_doors"], fail="0001_doors")])
    assert schema(db_path) == []


@pytest.mark.parametrize("code_names,words", [
    (["0001_doors", "0002_pickup_tokens"], ["'0002_tokens'", "renamed or removed", "'0002_pickup_tokens'"]),
    (["0002_tokens", "0001_doors"], ["'0001_doors'", "reordered"]),
    (["0001_doors", "0003_audit", "0002_tokens"], ["'0002_tokens'", "reordered"]),
    (["0001_doors"], ["'0002_tokens'", "newer release"]),
])
def test_renamed_reordered_or_removed_migrations_are_refused(db_path, code_names, words):
    with Store(db_path, [migration_set("locker", ["0001_doors", "0002_tokens"])]):
        pass
    before_schema, before_record = schema(db_path), recorded(db_path)
    kiosk = migration_set("kiosk", ["0001_sessions"])
    with pytest.raises(MigrationMismatch) as raised:
        Store(db_path, [kiosk, migration_set("locker", code_names)])
    message = str(raised.value)
    assert str(db_path) in message and "locker" in message
    for word in words:
        assert word in message
    # Nothing applied, not even another package's pending migration checked before it.
    assert schema(db_path) == before_schema and recorded(db_path) == before_record


def test_declaring_migrations_wrongly_fails_at_import_time():
    migrations = Migrations("locker")
    migrations.add("0001_doors")(lambda db: None)
    with pytest.raises(ValueError, match="twice"):
        migrations.add("0001_doors")
    with pytest.raises(ValueError):
        Migrations("Locker Stuff")
    assert migrations.names == ["0001_doors"] and len(migrations) == 1


def test_two_lists_for_one_package_are_refused(db_path):
    with pytest.raises(ValueError, match="locker"):
        Store(db_path, [migration_set("locker", ["a"]), migration_set("locker", ["b"])])
    with Store(db_path, []):
        pass  # the refused attempt released the file
