"""Alembic migrations of the server's database, run programmatically.

:func:`upgrade` is what ``python -m sync.server`` runs at start-up and what
``python -m sync.server migrate`` runs alone. On PostgreSQL it holds an advisory
lock, so several server processes starting at once migrate one after another.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

HERE = Path(__file__).resolve().parent
LOCK_ID = 0x6B696F736B  # pg_advisory_lock key: "kiosk"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def head() -> str:
    """Every head revision, sorted and comma-separated. Features of the server add
    their tables on their own branch from a common base (``down_revision`` of the
    base they need), so there may be several heads; ``upgrade`` applies them all."""
    script = ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]
    return ", ".join(sorted(script.get_heads()))


def current(engine: Engine) -> str | None:
    """The database's revisions in the same form as :func:`head` (None: empty)."""
    with engine.connect() as conn:
        found = MigrationContext.configure(conn).get_current_heads()
    return ", ".join(sorted(found)) or None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    config = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_ID})
            conn.commit()
            try:
                command.upgrade(config, revision)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_ID})
                conn.commit()
    else:
        command.upgrade(config, revision)
