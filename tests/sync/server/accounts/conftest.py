"""SQLite by default; the tests that matter across server processes also on PostgreSQL
(``@BOTH``), as in tests/sync/server/admin/conftest.py."""
from tests.sync.server.admin.conftest import BOTH, database_url  # noqa: F401  (a fixture and a mark)
