"""Background chores of a server process: ``every(app, name, seconds, chore)`` runs
``chore(engine)`` in a thread of its own every ``seconds`` for the app's lifetime.
A chore that fails is logged and tried again next time; several server processes
may run the same chore (each is an idempotent delete of what is past its time)."""
from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

log = logging.getLogger(__name__)


def _loop(name: str, seconds: float, chore: Callable, engine, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        try:
            done = chore(engine)
            if done:
                log.info("%s: %s", name, done)
        except Exception:  # noqa: BLE001  (the loop must outlive one bad round; logged)
            log.exception("%s failed; trying again in %.0f s", name, seconds)


def every(app: FastAPI, name: str, seconds: float, chore: Callable) -> None:
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[object]:
        async with inner(application) as state:
            stop = threading.Event()
            thread = threading.Thread(target=_loop, name=name, daemon=True,
                                      args=(name, seconds, chore, application.state.engine, stop))
            thread.start()
            try:
                yield state
            finally:
                stop.set()
                thread.join(timeout=5)

    app.router.lifespan_context = lifespan
