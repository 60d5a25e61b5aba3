"""Backing off after wrong codes: brute force against 8-digit short codes must
not pay.

Each source (the scanner, the kiosk's keypad) may get ``tries`` codes wrong in a
sliding minute; the next wrong one makes it refuse every code for ``backoff``
seconds, doubling each time it happens again while the wrong tries go on (a quiet
hour resets that). Short codes also share one bank-wide budget of ``4 × tries`` a
minute, so several sources together cannot outpace one. At 5 tries a minute and a
hundred live codes among 10⁸, guessing one takes about 10⁶ tries: years.

A short code that was real but opens nothing any more (expired, picked up, replaced)
is answered with its own reason, and counts as a wrong try all the same
(:mod:`locker.flows`): a guesser pays for it as for any wrong number.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from locker.errors import Refused

WINDOW = 60.0
QUIET_RESET = 3600.0
SHARED = "*short-codes*"


class Throttle:
    def __init__(self, tries: int = 5, backoff: float = 60.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.tries, self.backoff, self.clock = tries, backoff, clock
        self._wrong: dict[str, deque[float]] = {}
        self._until: dict[str, float] = {}
        self._strikes: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def check(self, source: str, *, short: bool = False) -> None:
        """Refuse while ``source`` (or, for short codes, the shared budget) backs off."""
        now = self.clock()
        with self._lock:
            for key in (source, SHARED) if short else (source,):
                until = self._until.get(key, 0.0)
                if now < until:
                    raise Refused("backing_off", retry_after=until - now)

    def wrong(self, source: str, *, short: bool = False) -> None:
        now = self.clock()
        with self._lock:
            self._count(source, self.tries, now)
            if short:
                self._count(SHARED, 4 * self.tries, now)

    def _count(self, key: str, limit: int, now: float) -> None:
        times = self._wrong.setdefault(key, deque())
        times.append(now)
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if len(times) >= limit:
            strikes, last = self._strikes.get(key, (0, now))
            strikes = 0 if now - last > QUIET_RESET else strikes
            self._until[key] = now + self.backoff * (2 ** min(strikes, 6))
            self._strikes[key] = (strikes + 1, now)
            times.clear()

    def backing_off(self, source: str) -> float:
        return max(0.0, self._until.get(source, 0.0) - self.clock())
