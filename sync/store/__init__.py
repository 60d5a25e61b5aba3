"""The appliance's local store: one SQLite file (WAL), one writer, parallel readers,
named migrations per package, and the outbox of events for the server.

- :mod:`sync.store.database`   the Store: the writer, atomic(), reader()
- :mod:`sync.store.migrations` Migrations("package") and how they are applied
- :mod:`sync.store.outbox`     the outbox table and its API
- :mod:`sync.store.server_cases` cases as the server last published them (pulled by the agent)
- :mod:`sync.store.lockfile`   the one-process-per-file lock
- :mod:`sync.store.translate`  SQLite and OS errors -> :mod:`sync.errors`
"""
from sync.store.database import Store
from sync.store.migrations import Applied, Migration, Migrations
from sync.store.outbox import OutboxEvent, append_event, get_event, mark_failed, mark_sent, pending
from sync.store import server_cases  # noqa: E402  registers sync's 0002 migration (after the outbox's 0001)

__all__ = ["Applied", "Migration", "Migrations", "OutboxEvent", "Store", "append_event",
           "get_event", "mark_failed", "mark_sent", "pending"]
