"""Named, ordered schema migrations, declared per package and recorded in the file.

Each package owns its tables and declares their history under its own name::

    from sync.store import Migrations

    migrations = Migrations("locker")

    @migrations.add("0001_doors")
    def doors(db):  # db: sqlite_utils.Database, inside the upgrade's transaction
        db["doors"].create({"id": int, "bus": str, "state": str}, pk="id")

The ``_migrations`` table records (package, position, name, applied_at). Before
anything is applied, what is recorded must be exactly a prefix of the code's list,
position by position; a renamed, reordered or removed migration, or a file written
by a newer release, is refused with :class:`MigrationMismatch` instead of guessed.

All pending migrations of all packages are applied in ONE transaction, each in its
own savepoint, the record written with it. A failure rolls the whole upgrade back,
so the file stays exactly at the version the previous release understands: an
appliance whose upgrade fails can be rolled back to the old package and keep working.
A migration therefore cannot run VACUUM or change journal_mode.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from sqlite_utils import Database

from sync.errors import MigrationFailed, MigrationMismatch
from sync.store.translate import from_sqlite

TABLE = "_migrations"
MigrationFunction = Callable[[Database], None]
F = TypeVar("F", bound=MigrationFunction)
_PACKAGE = re.compile(r"^[a-z][a-z0-9_.]*$")


@dataclass(frozen=True)
class Migration:
    package: str
    position: int  # 1-based, in declaration order
    name: str
    fn: MigrationFunction


@dataclass(frozen=True)
class Applied:
    package: str
    position: int
    name: str
    applied_at: str  # UTC, ISO 8601


class Migrations:
    """One package's migrations, in the order they were added."""

    def __init__(self, package: str) -> None:
        if not _PACKAGE.match(package):
            raise ValueError(f"package name {package!r}: use lower-case letters, digits, '_' or '.'")
        self.package = package
        self._migrations: list[Migration] = []

    def add(self, name: str) -> Callable[[F], F]:
        """Decorator: append ``fn(db)`` as the next migration, called ``name``."""
        if not name or not isinstance(name, str):
            raise ValueError("a migration needs a non-empty name")
        if name in self.names:
            raise ValueError(f"migration {self.package}/{name} is declared twice")

        def register(fn: F) -> F:
            self._migrations.append(Migration(self.package, len(self._migrations) + 1, name, fn))
            return fn

        return register

    @property
    def names(self) -> list[str]:
        return [m.name for m in self._migrations]

    def __iter__(self) -> Iterator[Migration]:
        return iter(self._migrations)

    def __len__(self) -> int:
        return len(self._migrations)

    def __repr__(self) -> str:
        return f"<Migrations {self.package!r}: {', '.join(self.names)}>"


def ensure_table(db: Database) -> None:
    db.execute(f"""
        CREATE TABLE IF NOT EXISTS {TABLE} (
            package TEXT NOT NULL,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            PRIMARY KEY (package, position),
            UNIQUE (package, name)
        )""")


def applied(db: Database) -> list[Applied]:
    """Every recorded migration, by package and position (empty for a new file)."""
    if not db[TABLE].exists():
        return []
    rows = db.execute(f"SELECT package, position, name, applied_at FROM {TABLE} "
                      "ORDER BY package, position").fetchall()
    return [Applied(*row) for row in rows]


def plan(db: Database, sets: Sequence[Migrations], path: str) -> list[Migration]:
    """The migrations still to apply, in order; raise MigrationMismatch on any doubt."""
    recorded: dict[str, list[Applied]] = {}
    for row in applied(db):
        recorded.setdefault(row.package, []).append(row)
    pending: list[Migration] = []
    for migrations in sets:
        code = list(migrations)
        rows = recorded.get(migrations.package, [])
        for index, row in enumerate(rows):
            _check(path, migrations, code, index, row)
        pending.extend(code[len(rows):])
    return pending


def _check(path: str, migrations: Migrations, code: list[Migration], index: int, row: Applied) -> None:
    package = migrations.package
    fix = ("restore the original names and order in the code, and express the change as "
           "a new migration at the end")
    if row.position != index + 1:
        raise MigrationMismatch(path, f"the recorded {package} migrations skip position {index + 1} "
                                      f"(found {row.position} {row.name!r})",
                                hint="the _migrations table was edited by hand; restore a backup")
    if index >= len(code):
        raise MigrationMismatch(
            path, f"{package} migration {row.position} {row.name!r} is applied in the file but "
                  f"unknown to this code, which has {len(code)}: the file was written by a newer "
                  "release, or a migration was removed",
            hint="run the release that wrote the file, or restore a backup made before the upgrade")
    if row.name == code[index].name:
        return
    if row.name in migrations.names:
        what = (f"was applied at position {row.position} but the code now has it at "
                f"{migrations.names.index(row.name) + 1}: the migrations were reordered")
    else:
        what = (f"was applied at position {row.position}, where the code now has "
                f"{code[index].name!r}: it was renamed or removed")
    raise MigrationMismatch(path, f"{package} migration {row.name!r} {what}", hint=fix)


def apply(db: Database, sets: Sequence[Migrations], path: str) -> list[Migration]:
    """Apply what :func:`plan` finds, inside the caller's transaction; return it.

    Must run inside the store's atomic(): the caller's transaction is what makes the
    upgrade all-or-nothing."""
    if not db.conn.in_transaction:
        raise RuntimeError("migrations.apply() must run inside Store.atomic()")
    ensure_table(db)
    pending = plan(db, sets, path)
    for migration in pending:
        try:
            with db.atomic():  # a savepoint: the error below names the migration
                migration.fn(db)
                db.execute(f"INSERT INTO {TABLE} (package, position, name, applied_at) "
                           "VALUES (?, ?, ?, ?)",
                           [migration.package, migration.position, migration.name,
                            datetime.now(timezone.utc).isoformat(timespec="seconds")])
        except Exception as exc:
            environment = from_sqlite(exc, path)
            if environment is exc:
                raise
            if environment is not None:  # disk full while migrating is still disk full
                raise environment from exc
            raise MigrationFailed(path, migration.package, migration.name, exc) from exc
    return pending
