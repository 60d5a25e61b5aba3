"""The last code refused at each input device, for a screen to show.

A code refused at the locker's own scanner has nobody to answer it: the daemon's
scanner thread has no caller. So the locker keeps the last refusal per source
(``scanner``, ``kiosk`` …) and the API hands out the scanner's in ``state`` and with
every ``events`` answer (:meth:`Refusals.screen`): its reason id, its text in
Chinese and English, when it happened, and how long the source still backs off.
A refusal stays on show for :data:`SHOWN` seconds, or while its source backs off;
a code accepted from the same source clears it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from locker.errors import REASONS, Refused
from locker.throttle import Throttle

SHOWN = 30.0  # seconds a refusal stays on the screen (longer while backing off)


class Refusals:
    def __init__(self, throttle: Throttle, *, clock: Callable[[], float] = time.time) -> None:
        self.throttle, self.clock = throttle, clock
        self._last: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def note(self, source: str, exc: Refused) -> dict[str, Any]:
        """``exc`` refused a code from ``source``: the entry the screen shows (also
        what the audit log's ``code_refused`` carries)."""
        zh, en = REASONS.get(exc.reason, REASONS["bad_request"])
        entry = {"at": round(self.clock(), 3), "source": source, "reason": exc.reason, "zh": zh, "en": en,
                 "message": exc.message}
        with self._lock:
            self._last[source] = entry
        return entry

    def accepted(self, source: str) -> None:
        with self._lock:
            self._last.pop(source, None)

    def screen(self, source: str = "scanner") -> dict[str, Any]:
        """``{"refusal": REFUSAL | None, "backing_off": SECONDS}``: what the screen
        beside ``source`` shows now. REFUSAL is ``{"at", "source", "reason", "zh",
        "en", "message"}``; ``backing_off`` is 0 when the source may scan."""
        backing_off = round(self.throttle.backing_off(source), 1)
        with self._lock:
            entry = self._last.get(source)
        if entry is not None and backing_off <= 0 and self.clock() - entry["at"] > SHOWN:
            entry = None
        return {"refusal": dict(entry) if entry else None, "backing_off": backing_off}
