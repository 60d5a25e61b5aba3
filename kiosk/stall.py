"""How long the UI thread was busy: a timer that should fire every ``interval_ms``
notes how late each tick came. ``worst_ms`` is the longest stall seen, what the
tests keep under 100 ms and admin mode shows."""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer


class StallMeter(QObject):
    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval = interval_ms / 1000
        self.worst_ms = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    def start(self) -> "StallMeter":
        self.reset()
        self._timer.start(int(self.interval * 1000))
        return self

    def reset(self) -> None:
        self.worst_ms, self.ticks, self._last = 0.0, 0, time.perf_counter()
        self.worst_at = self._last  # perf_counter() at the end of the worst stall

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        late = (now - self._last - self.interval) * 1000
        self._last = now
        self.ticks += 1
        if late > self.worst_ms:
            self.worst_ms = late
            self.worst_at = now
