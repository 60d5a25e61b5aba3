"""The grid-worker console (mobile first), evaluation and statistics, the certificate verify page.

- :mod:`.pages`        the routes: /worker (her lockers, their alarms, her cases), /worker/cases/…
                       (and their materials), /worker/lockers/…/qr, /worker/alarms/…/handled,
                       /worker/stats, /worker/grids (admins), /rate/<token> and /verify (public)
- :mod:`.department_pages`  department staff: /staff/cases, /staff/cases/…, /staff/stats
- :mod:`.cases`        what waits in her lockers, a case's timeline, who may see one case
- :mod:`.scope`        who sees which cases in bulk: a grid's, a department's
- :mod:`.alarms`       lockers' door and board alarms: open ones, what to do, handled, a case's
- :mod:`.materials`    a case's uploaded attachments for the consoles
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
    from sync.server.worker.department_pages import router as department_router
    from sync.server.worker.pages import router

    web.add_templates(Path(__file__).resolve().parent / "templates")
    app.include_router(router)
    app.include_router(department_router)
