"""Watching the ID card reader on a thread of its own: a card placed is read once,
a card taken away is noticed, and both are reported on the UI thread (``post``).

With no card it keeps reading with a short find window; after a read it asks
"still there?" (one find) every ``poll`` seconds, and two misses in a row mean the
card was taken away. A reader that cannot be reached is reported once and retried
every few seconds. Plain Python, no Qt: ``post`` is :meth:`kiosk.jobs.Jobs.call_soon`.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger("kiosk.cardwatch")


class CardWatch:
    def __init__(self, reader: Callable[[], Any], *, post: Callable[[Callable[[], None]], None],
                 on_card: Callable[[Any], None], on_unreadable: Callable[[BaseException], None],
                 on_removed: Callable[[], None], on_fault: Callable[[BaseException], None],
                 poll: float = 0.4, find_window: float = 0.4) -> None:
        self.reader = reader
        self.post = post
        self.on_card, self.on_unreadable, self.on_removed, self.on_fault = on_card, on_unreadable, on_removed, on_fault
        self.poll, self.find_window = poll, find_window
        self.present = False
        self._stop = threading.Event()
        self._paused = threading.Event()  # set: leave the reader alone (doctor asks it)
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-cardwatch", daemon=True)

    def start(self) -> "CardWatch":
        self._thread.start()
        return self

    def pause(self, timeout: float = 3.0) -> None:
        """Stop using the reader until :meth:`resume` (waits for the current read)."""
        self._idle.clear()
        self._paused.set()
        if self._thread.is_alive():
            self._idle.wait(timeout)

    def resume(self) -> None:
        self._paused.clear()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        from drivers.errors import DriverError
        from drivers.idcard.errors import BadRecord, CardMoved, NoCard, SamError

        faulted = False
        misses = 0
        while not self._stop.is_set():
            if self._paused.is_set():
                self._idle.set()
                self._stop.wait(0.05)
                continue
            try:
                reader = self.reader()
                if not self.present:
                    try:
                        record = reader.read(find_window=self.find_window)
                    except NoCard:
                        continue
                    except (CardMoved, BadRecord, SamError) as exc:
                        log.info("card not read: %s", getattr(exc, "message", exc))
                        self.present = True  # wait for it to go before trying again
                        misses = 0
                        self.post(lambda exc=exc: self.on_unreadable(exc))
                        continue
                    self.present, misses, faulted = True, 0, False
                    self.post(lambda record=record: self.on_card(record))
                    del record
                else:
                    if reader.find_card():
                        misses = 0
                    else:
                        misses += 1
                        if misses >= 2:
                            self.present = False
                            self.post(self.on_removed)
                            continue
                    self._stop.wait(self.poll)
            except DriverError as exc:
                if not faulted:
                    faulted = True
                    self.post(lambda exc=exc: self.on_fault(exc))
                self._stop.wait(3.0)
            except Exception as exc:  # never let the watch die silently
                log.exception("card watch: %s", exc)
                self._stop.wait(3.0)
