"""Alembic migrations: the schema they make is the models' schema, on both back-ends;
``python -m sync.server migrate``, ``enrol-code`` and ``revoke`` from the command line."""
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sync.server import db, migrations
from sync.server.__main__ import main
from sync.server.models import Base
from tests.support import ROOT


def test_migrations_make_exactly_the_models_schema(database_url):
    engine = db.create(database_url)
    try:
        migrations.upgrade(engine)
        assert migrations.current(engine) == migrations.head()
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        migrations.upgrade(engine)  # again: nothing to do
    finally:
        engine.dispose()


def test_migrate_as_a_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'server.db'}"
    migrated = subprocess.run([sys.executable, "-m", "sync.server", "migrate", "--database", url],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == f"database at revision {migrations.head()}"


def test_enrol_code_and_revoke_commands(database_url, capsys):
    assert main(["enrol-code", "--community", "示范社区", "--device-id", "kiosk-9", "--database", database_url]) == 0
    assert len(capsys.readouterr().out.strip()) == 20
    assert main(["enrol-code", "--community", "示范社区", "--device-id", "Kiosk 9", "--database", database_url]) == 2
    assert "device id" in capsys.readouterr().err
    assert main(["revoke", "--device-id", "nobody", "--database", database_url]) == 1
    assert "no device nobody" in capsys.readouterr().err
