"""Notifications to residents: the Notifier interface, its adapters, delivery state and retries.

- :mod:`.settings`   how messages are sent (``SYNC_NOTIFY_*`` environment variables)
- :mod:`.adapters`   the Notifier interface, the SMS-gateway HTTP adapter, the log adapter
- :mod:`.outbox`     stored notifications: enqueue, claim (SKIP LOCKED), outcome
- :mod:`.delivery`   the loop that sends what is due and retries with backoff
- :mod:`.notices`    what residents are told: result in a locker, rate the service, a worker's message
- :mod:`.residents`  who a case is for and their phone number (household records)

:func:`install` starts the delivery loop as a background thread of the server process
(unless ``SYNC_NOTIFY_LOOP=0``) and stops it when the app shuts down.
"""
from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sync.server.notify import models  # noqa: F401  (the table, for Base.metadata)
from sync.server.notify.settings import from_env


def install(app: FastAPI) -> None:
    """Read the settings (a wrong variable stops the server, naming it) and run the
    delivery loop in the background while the app runs."""
    from sync.server.notify.adapters import notifier_for
    from sync.server.notify.delivery import run

    settings = from_env()
    app.state.notify_settings = settings
    if not settings.loop:
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[object]:
        async with inner(application) as state:
            stop = threading.Event()
            thread = threading.Thread(target=run, name="notify-delivery", daemon=True,
                                      args=(application.state.engine, notifier_for(settings), settings, stop))
            thread.start()
            try:
                yield state
            finally:
                stop.set()
                thread.join(timeout=settings.http_timeout_s + 5)

    app.router.lifespan_context = lifespan
