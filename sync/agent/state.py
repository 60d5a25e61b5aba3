"""The agent's own file, ``DATA_DIR/sync.db``: what it pulled and where it stands.

The agent is this file's one writer (a :class:`~sync.store.Store` of its own); the
kiosk and the locker read it (``store.reader()`` on their own read-only connection,
or a plain read-only sqlite3 connection: WAL lets them read while the agent writes).

- ``agent_state``: key/value: the enrolled device id and community, the pull cursor.
- ``synced_records``: the current value of every record pulled (kind, key), with the
  change ``seq`` that brought it and when: the sync state per record.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlite_utils import Database

from sync.store import Migrations, Store
from sync.wire import Change

migrations = Migrations("sync_agent")


@migrations.add("0001_state")
def _state(db: Database) -> None:
    db.execute("CREATE TABLE agent_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("""
        CREATE TABLE synced_records (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            data TEXT NOT NULL CHECK (json_valid(data)),
            seq INTEGER NOT NULL,            -- the server's change that brought this value
            synced_at TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        )""")


def open_state(path: str) -> Store:
    return Store(path, [migrations])


def get(store: Store, key: str, default: str | None = None) -> str | None:
    with store.reader() as db:
        row = db.execute("SELECT value FROM agent_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def put(db: Database, key: str, value: str) -> None:
    db.execute("INSERT INTO agent_state (key, value) VALUES (?, ?) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])


def apply_changes(store: Store, changes: list[Change], cursor: int) -> None:
    """One page of changes and the new cursor, in one transaction."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    with store.atomic() as db:
        for change in changes:
            if change.data is None:
                db.execute("DELETE FROM synced_records WHERE kind = ? AND key = ?", [change.kind, change.key])
            else:
                db.execute("INSERT INTO synced_records (kind, key, data, seq, synced_at) VALUES (?, ?, ?, ?, ?) "
                           "ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data, seq = excluded.seq, "
                           "synced_at = excluded.synced_at",
                           [change.kind, change.key, json.dumps(change.data, ensure_ascii=False, sort_keys=True),
                            change.seq, now])
        put(db, "cursor", str(cursor))


def records(store: Store, kind: str) -> dict[str, dict[str, Any]]:
    with store.reader() as db:
        rows = db.execute("SELECT key, data FROM synced_records WHERE kind = ? ORDER BY key", [kind]).fetchall()
    return {key: json.loads(data) for key, data in rows}
