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
- :mod:`.kiosk`     the kiosk's signed look-up of a booking by its short code
- :mod:`.models`    the tables (migration 0005p)

:func:`install` also runs the purge loop (photos past their retention, old attempts,
expired sessions) hourly in the background unless ``SYNC_PHONE_PURGE=0``;
``python -m sync.server.phone purge`` runs it once.
"""
from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from sync.server.phone import models  # noqa: F401  (the tables, for Base.metadata)

PURGE_EVERY_S = 3600.0


def purge_once(engine) -> dict[str, int]:
    from sync.server.phone.cases import purge

    with engine.begin() as conn:
        return purge(conn)


def install(app: FastAPI) -> None:
    from sync.server import web
    from sync.server.phone.kiosk import router as kiosk_router
    from sync.server.phone.pages import router

    web.add_templates(Path(__file__).resolve().parent / "templates")
    app.include_router(router)
    app.include_router(kiosk_router)  # a booking's short code typed at the kiosk
    if os.environ.get("SYNC_PHONE_PURGE", "1").strip() in ("0", "false", "no", "off"):
        return
    from sync.server.housekeeping import every

    every(app, "phone pages purge", PURGE_EVERY_S,
          lambda engine: {k: v for k, v in purge_once(engine).items() if v})
