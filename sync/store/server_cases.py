"""Cases as the server last published them (the ``case`` change kind of :mod:`sync.wire`).

The sync agent writes what it pulls here, in the appliance's own store, so the kiosk
and the locker read it beside their own tables (one file, one writer: the agent's
writes go through the same :class:`~sync.store.Store` as the outbox it drains). A
row holds a case's state at the server, its last event's type and time, and what
the resident may be shown (item, next step): nothing personal::

    with store.atomic() as db:
        server_cases.put(db, {"case": "DO-261122-7KQ3P", "state": "approved", ...}, seq=41)
    server_cases.get(store, "DO-261122-7KQ3P").state     # 'approved'

A change with an older event time than the row holds leaves the row as it is (a
page pulled again after a lost cursor write changes nothing).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from sync.store.outbox import migrations

if TYPE_CHECKING:
    from sync.store.database import Store

TABLE = "server_cases"


@migrations.add("0002_server_cases")
def _create(db: Database) -> None:
    db.execute(f"""
        CREATE TABLE {TABLE} (
            id TEXT PRIMARY KEY,              -- the case id
            state TEXT NOT NULL,              -- its state at the server (sync.lifecycle)
            event TEXT NOT NULL DEFAULT '',   -- the type of the event that moved it last
            event_at TEXT NOT NULL DEFAULT '',-- that event's time, UTC ISO 8601
            data TEXT NOT NULL CHECK (json_valid(data)),  -- the change's data (item, next_step, …)
            seq INTEGER NOT NULL,             -- the server's change that brought it
            synced_at TEXT NOT NULL
        )""")


@dataclass(frozen=True)
class ServerCase:
    id: str
    state: str
    event: str
    event_at: str  # UTC ISO 8601 ('' when the server did not say)
    data: dict[str, Any]
    seq: int

    @property
    def moment(self) -> float:
        """The event's time as Unix seconds (0.0 when unknown or unreadable)."""
        return event_time(self.event_at)

    @property
    def item(self) -> str:
        return str(self.data.get("item") or "")

    @property
    def next_step(self) -> str:
        return str(self.data.get("next_step") or "")


def event_time(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return 0.0
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def put(db: Database, data: dict[str, Any], *, key: str, seq: int) -> bool:
    """Keep the server's case ``data`` (inside the caller's transaction); False when
    it was refused (no state) or older than what the row holds."""
    state = data.get("state")
    if not isinstance(state, str) or not state:
        return False
    event_at = str(data.get("event_at") or "")
    row = db.execute(f"SELECT event_at, seq FROM {TABLE} WHERE id = ?", [key]).fetchone()
    if row is not None and (event_time(row[0]), row[1]) > (event_time(event_at), seq):
        return False
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    db.execute(f"INSERT INTO {TABLE} (id, state, event, event_at, data, seq, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (id) DO UPDATE SET state = excluded.state, event = excluded.event, "
               "event_at = excluded.event_at, data = excluded.data, seq = excluded.seq, synced_at = excluded.synced_at",
               [key, state, str(data.get("event") or ""), event_at, json.dumps(data, ensure_ascii=False, sort_keys=True),
                seq, now])
    return True


def forget(db: Database, key: str) -> None:
    db.execute(f"DELETE FROM {TABLE} WHERE id = ?", [key])


def _row(row: Any) -> ServerCase:
    return ServerCase(row[0], row[1], row[2], row[3], json.loads(row[4] or "{}"), row[5])


_COLUMNS = "id, state, event, event_at, data, seq"


def get(store: Store, case_id: str) -> ServerCase | None:
    with store.reader() as db:
        row = db.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE id = ?", [case_id]).fetchone()
    return _row(row) if row else None


def of_cases(db: Any, case_ids: list[str]) -> dict[str, ServerCase]:
    """The server's state of each of ``case_ids`` it published (``db``: a reader or the writer)."""
    if not case_ids:
        return {}
    marks = ", ".join("?" * len(case_ids))
    rows = db.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE id IN ({marks})", list(case_ids)).fetchall()
    return {r[0]: _row(r) for r in rows}
