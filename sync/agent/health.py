"""The heartbeat's health when ``python -m sync.agent`` runs on its own (no daemon owns
the store): only what this process owns or shares, never a device another daemon owns.

One owner per device (DESIGN.md): the lock boards and the QR scanner belong to the
locker daemon, the ID card reader and the camera to the kiosk app. Opening one of
them here would steal it from its owner (a serial port has one reader) or, when its
owner is down, say nothing its owner's heartbeat would not. So the standalone agent
reports:

- ``printer``: the queue's state and reasons asked of cupsd (``[printer] url``), shared
  by design: asking CUPS takes nothing from whoever prints;
- ``store``: the appliance store it drains (its file, WAL included, and the outbox:
  events waiting, held back with a reason, the oldest waiting);

and the heartbeat itself carries free disk, the software version and the queue length.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from appliance.config import Config
from sync.store import Store
from sync.wire import PeripheralHealth

log = logging.getLogger(__name__)
STORE = "store"


def standalone_health(store: Store, config: Config) -> Callable[[], dict[str, PeripheralHealth]]:
    """The probe ``Agent(health=…)`` calls on its thread before each heartbeat."""
    def probe() -> dict[str, PeripheralHealth]:
        found = {STORE: store_health(store)}
        if config.printer.enabled:
            found["printer"] = printer_health(config.printer.url)
        return found
    return probe


def printer_health(url: str) -> PeripheralHealth:
    """What ``python -m drivers doctor`` says of the printer: cupsd's state for the queue,
    its reasons (paper, toner …) and the fix; never raises."""
    from drivers.printer.doctor import health

    return PeripheralHealth.from_health(health(url))


def store_size(path: str | os.PathLike) -> int:
    """The store's bytes on disk: the database and its write-ahead log."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += Path(f"{os.fspath(path)}{suffix}").stat().st_size
        except OSError:
            pass
    return total


def store_health(store: Store) -> PeripheralHealth:
    """The store's size and its outbox: ``degraded`` while events are held back with a
    reason (the server refused them; they wait for a retry or a person)."""
    with store.reader() as db:
        waiting, held, oldest = db.execute(
            "SELECT count(*), count(last_error), min(created_at) FROM outbox WHERE sent_at IS NULL").fetchone()
    size = store_size(store.path)
    data = {"path": os.fspath(store.path), "bytes": size, "outbox_pending": waiting, "outbox_held": held,
            "oldest_pending": oldest}
    detail = f"{size / 1024 ** 2:.1f} MB, {waiting} event(s) waiting"
    if held:
        return PeripheralHealth(state="degraded", detail=f"{detail}, {held} held back by the server's refusal",
                                fix="read the reasons: sqlite3 STORE \"SELECT id, last_error FROM outbox WHERE "
                                    "last_error IS NOT NULL AND sent_at IS NULL\"; the agent's log says more",
                                data=data)
    return PeripheralHealth(state="ok", detail=detail, data=data)
