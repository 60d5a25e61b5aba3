"""The grid-worker console (mobile first), evaluation and statistics, the certificate verify page.

- :mod:`.pages`        the routes: /worker (her lockers, her cases), /worker/cases/…,
                       /worker/lockers/…/qr, /worker/stats, /worker/grids (admins),
                       /rate/<token> and /verify (public, no login)
- :mod:`.cases`        what waits in her lockers, a case's timeline, who may see what
- :mod:`.actions`      collect, review, approve, return: lifecycle transitions as events
- :mod:`.ingested`     after a pushed batch: reconcile collections, notify residents, store ratings
- :mod:`.rating`       single-use expiring rating links; ratings from links and kiosks
- :mod:`.stats`        cases, deposit-to-pickup times, ratings per department and worker
- :mod:`.certificates` the public certificate check
- :mod:`.qrsvg`        QR codes as inline SVG
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sync.server.worker import models  # noqa: F401  (the tables, for Base.metadata)


def install(app: FastAPI) -> None:
    """Add this feature's routes and templates to the app."""
    from sync.server import web
    from sync.server.worker.pages import router

    web.add_templates(Path(__file__).resolve().parent / "templates")
    app.include_router(router)
