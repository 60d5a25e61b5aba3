"""What the sync agent pulled from the server, read-only: ``synced_records(kind,
key, data)`` in the agent's own file beside the store (``appliance.sync.db``).

The agent is that file's one writer; the kiosk reads through its own read-only
connection (WAL: it reads while the agent writes). Before the first sync the file
does not exist: every kind then reads as empty, never as an error.

Kinds (``sync.wire.ChangeKind``): ``household``, ``subsidy``, ``guide_item``,
``certificate_template``, ``config``, and ``announcement`` once the server
publishes it.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from appliance.config import Config


class SyncedContent:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_config(cls, config: Config) -> "SyncedContent":
        # sync.agent.agent's state_path_for, without importing the agent (requests, the
        # wire models: a second on a loaded kiosk at start-up). tests/kiosk check they agree.
        path = Path(config.store_path)
        return cls(path.with_name(f"{path.stem}.sync.db"))

    def query(self, sql: str, params: list[Any]) -> list[tuple]:
        """Rows of a read-only query (for the store modules of this package only)."""
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # the agent has not migrated it yet
                return []
            raise
        finally:
            conn.close()

    def records(self, kind: str) -> dict[str, dict[str, Any]]:
        rows = self.query("SELECT key, data FROM synced_records WHERE kind = ? ORDER BY key", [kind])
        return {key: json.loads(data) for key, data in rows}

    def record(self, kind: str, key: str) -> dict[str, Any] | None:
        rows = self.query("SELECT data FROM synced_records WHERE kind = ? AND key = ?", [kind, key])
        return json.loads(rows[0][0]) if rows else None

    def find(self, kind: str, json_path: str, value: str) -> list[tuple[str, dict[str, Any]]]:
        """Records of ``kind`` whose ``json_path`` (``$.id_number``) equals ``value``."""
        rows = self.query("SELECT key, data FROM synced_records WHERE kind = ? AND json_extract(data, ?) = ?",
                           [kind, json_path, value])
        return [(key, json.loads(data)) for key, data in rows]
