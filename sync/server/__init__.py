"""The central server: ``python -m sync.server`` (FastAPI on uvicorn; SQLite by
default, PostgreSQL in production).

- :mod:`sync.server.app`        the FastAPI app and its /api/v1 routes
- :mod:`sync.server.auth`       signed requests: device, timestamp, nonce, signature
- :mod:`sync.server.devices`    enrolment codes, enrolment, revocation, heartbeats
- :mod:`sync.server.heartbeats` each program's latest heartbeat of a device, merged into one picture
- :mod:`sync.server.ingest`     pushed events: idempotent, lifecycle-checked, quarantine
- :mod:`sync.server.content`    content records and the change feed appliances pull
- :mod:`sync.server.keys`       the server's own signing key (in the database, published as ``server``)
- :mod:`sync.server.codes`      worker and booking codes signed with it, as the locker checks them
- :mod:`sync.server.models`     the tables; :mod:`sync.server.migrations` Alembic
- :mod:`sync.server.db`         engines for SQLite and PostgreSQL

Nothing a second server process needs lives in this one's memory: everything is in
the database, so any number of processes can serve one PostgreSQL database.
"""
from sync.server.app import create_app

__all__ = ["create_app"]
