"""Fixtures for the sync tests: for the store, a database path in tmp_path, a Store on
it, and migration lists built per test (real packages declare theirs at module level);
for the server and agent, the server's database on each back-end."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.store import Migrations, Store


def migration_set(package: str, names: list[str], calls: list[str] | None = None,
                  fail: str | None = None) -> Migrations:
    """A package whose migration NAME creates table ``{package}_{NAME}`` with one row;
    ``fail`` names one that writes first and then raises."""
    migrations = Migrations(package)
    for name in names:
        def migrate(db, name=name):
            if calls is not None:
                calls.append(f"{package}/{name}")
            table = f"{package}_{name}"
            db.execute(f"CREATE TABLE [{table}] (id INTEGER PRIMARY KEY, note TEXT)")
            db[table].insert({"id": 1, "note": name})
            if name == fail:
                raise ValueError(f"{name} is broken")
        migrations.add(name)(migrate)
    return migrations


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "appliance.db"


THINGS = Migrations("things")


@THINGS.add("0001_things")
def _things(db) -> None:
    db["things"].create({"id": int, "name": str}, pk="id")


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A store with one table, ``things (id, name)``."""
    with Store(db_path, [THINGS]) as opened:
        yield opened


def names(store: Store) -> list[str]:
    return [row["name"] for row in store.query("SELECT name FROM things ORDER BY id")]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """The central server's database: a SQLite file, then a fresh PostgreSQL database
    (skips with the reason where none is reachable; fails under CI=true)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
    else:
        from tests.sync.server.support import postgresql_database

        with postgresql_database() as url:
            yield url
