"""Residents' phone pages (mobile web, no app): scan a locker's or kiosk's sticker,
sign in with an SMS code, read the service guide, apply and get a booking QR for the
locker, follow every case, rate after pickup, report a problem (报事).

- :mod:`.pages`     the routes (/phone…, /phone/sticker/<device>, /admin/phones)
- :mod:`.signin`    SMS codes through the Notifier, sessions
- :mod:`.throttle`  rate limits in the database (shared by every server process)
- :mod:`.links`     phone numbers linked to household members (admin, or the kiosk's
                    ``phone_confirmed`` event)
- :mod:`.guide`     the service guide as residents read it
- :mod:`.cases`     applications, bookings, reports, photos; what a resident sees
- :mod:`.models`    the tables (migration 0005p)

:func:`install` also runs the purge loop (photos past their retention, old attempts,
expired sessions) hourly in the background unless ``SYNC_PHONE_PURGE=0``;
``python -m sync.server.phone purge`` runs it once.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from sync.server.phone import models  # noqa: F401  (the tables, for Base.metadata)

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600.0


def purge_once(engine) -> dict[str, int]:
    from sync.server.phone.cases import purge

    with engine.begin() as conn:
        return purge(conn)


def _purge_loop(engine, stop: threading.Event) -> None:
    while not stop.wait(PURGE_EVERY_S):
        try:
            gone = purge_once(engine)
            if any(gone.values()):
                log.info("phone pages purge: %s", gone)
        except Exception:  # noqa: BLE001  (the loop must outlive one bad round; logged)
            log.exception("phone pages purge failed; trying again in an hour")


def install(app: FastAPI) -> None:
    from sync.server import web
    from sync.server.phone.pages import router

    web.add_templates(Path(__file__).resolve().parent / "templates")
    app.include_router(router)
    if os.environ.get("SYNC_PHONE_PURGE", "1").strip() in ("0", "false", "no", "off"):
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[object]:
        async with inner(application) as state:
            stop = threading.Event()
            thread = threading.Thread(target=_purge_loop, name="phone-purge", daemon=True,
                                      args=(application.state.engine, stop))
            thread.start()
            try:
                yield state
            finally:
                stop.set()
                thread.join(timeout=5)

    app.router.lifespan_context = lifespan
