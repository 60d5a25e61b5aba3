"""Video consultation with the street office's departments.

=============  ===================================================================
``models``     the tables (migration 0004v)
``departments`` the departments a kiosk can call (``python -m sync.server department``)
``presence``   staff presence: online, busy, away; who is rung
``calls``      a call's life in the database: queue, first-to-answer, decline,
               time-out, hang-up, call-back and follow-up cases, the call's event
``bus``        messages between server processes (PostgreSQL LISTEN/NOTIFY, or in
               process on SQLite), the sweep
``tokens``     the signed tokens of kiosk signaling sockets
``signaling``  the WebSockets of kiosks and staff consoles
``routes``     the kiosk's signed API, the staff console page and its notes
``recordings`` recorded calls (departments set to record), kept for SYNC_RECORDING_DAYS
``errors``     the error tree
=============  ===================================================================
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sync.server.video import models  # noqa: F401  (the tables, for migrations)

HERE = Path(__file__).resolve().parent


def install(app: FastAPI) -> None:
    """The kiosk API, the signaling sockets, the staff console and its script."""
    from sync.server import web
    from sync.server.video.bus import Hub
    from sync.server.video.routes import router as pages
    from sync.server.video.signaling import router as sockets

    app.state.video_hub = Hub(app.state.engine, app.state.server_key_id)
    web.add_templates(HERE / "templates")
    app.include_router(pages)
    app.include_router(sockets)
    app.mount("/video/static", StaticFiles(directory=HERE / "static"), name="video-static")
    from sync.server.housekeeping import every
    from sync.server.video import recordings

    recordings.retention()  # a wrong SYNC_RECORDING_DAYS stops the server now, not in an hour

    def purge(engine) -> int:
        with engine.begin() as conn:
            return recordings.purge(conn)
    every(app, "recordings purge", 3600.0, purge)
