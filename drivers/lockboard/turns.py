"""Whose turn it is on a half-duplex bus: unlocks go before polling.

A bus carries one transaction at a time. A plain lock is not fair — a poller that
releases it and asks again at once usually wins again — so a waiting unlock could
sit behind any number of status queries. :class:`BusTurns` hands the bus to an
urgent waiter (an unlock) first: once an unlock is waiting, no new routine
transaction starts, so it waits at most for the one already on the wire.
"""
from __future__ import annotations

import threading


class BusTurns:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._busy = False
        self._urgent_waiting = 0
        self._waiting = 0
        # Context managers as plain objects, not generators: an unlock pays for this
        # on every call, and it is on the path the benchmark measures.
        self._urgent = _Turn(self, True)
        self._routine = _Turn(self, False)

    def turn(self, *, urgent: bool = False) -> "_Turn":
        """``with turns.turn(urgent=...)``: hold the bus for one transaction; urgent
        ones (unlocks) overtake routine ones (polling)."""
        return self._urgent if urgent else self._routine

    def acquire(self, urgent: bool) -> None:
        with self._lock:  # the condition's own lock: entering it directly skips a Python frame
            if urgent:
                self._urgent_waiting += 1
                try:
                    while self._busy:
                        self._waiting += 1
                        self._cond.wait()
                        self._waiting -= 1
                finally:
                    self._urgent_waiting -= 1
            else:
                while self._busy or self._urgent_waiting:
                    self._waiting += 1
                    self._cond.wait()
                    self._waiting -= 1
            self._busy = True

    def release(self) -> None:
        with self._lock:
            self._busy = False
            if self._waiting:  # notify_all is not free, and usually nobody waits
                self._cond.notify_all()

    @property
    def urgent_waiting(self) -> int:
        return self._urgent_waiting


class _Turn:
    __slots__ = ("_turns", "_urgent")

    def __init__(self, turns: BusTurns, urgent: bool) -> None:
        self._turns, self._urgent = turns, urgent

    def __enter__(self) -> None:
        self._turns.acquire(self._urgent)

    def __exit__(self, *exc: object) -> None:
        self._turns.release()
