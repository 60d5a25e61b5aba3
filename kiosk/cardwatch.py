"""Watching the card readers on threads of their own, reporting on the UI thread
(``post``): :class:`CardWatch` the resident's ID card reader (the SAM), a card placed
read once and a card taken away noticed; :class:`StaffCardWatch` the staff card
reader (PC/SC), each card placed reported by its UID.

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


class StaffCardWatch:
    """The staff card reader (``[pcsc]``, PC/SC through pcscd) on a thread of its own:
    each card placed is reported once, by its UID in upper-case hex (``on_card``, on
    the UI thread through ``post``); it must be taken away before it counts again.
    Whether it is a staff card is the app's to decide (``[kiosk] admin_cards``).

    pcscd away or no reader: said once (``on_fault``), tried again every few seconds.
    A card that gives no UID (a contact card) is said in the log and ignored."""

    def __init__(self, reader: str, *, post: Callable[[Callable[[], None]], None],
                 on_card: Callable[[str], None], on_fault: Callable[[BaseException], None],
                 wait: float = 1.0, retry: float = 3.0) -> None:
        self.wanted = reader
        self.post, self.on_card, self.on_fault = post, on_card, on_fault
        self.wait, self.retry = wait, retry
        self._reader = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-staffcard", daemon=True)

    def start(self) -> "StaffCardWatch":
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        reader = self._reader
        if reader is not None:
            try:
                reader.cancel()  # a wait in progress ends now
            except Exception as exc:  # the context is already gone: the wait ends by its timeout
                log.debug("staff card reader cancel: %s", exc)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        from drivers.errors import DriverError
        from drivers.idcard import pcsc_errors as E
        from drivers.idcard.pcsc import PcscReader

        self._reader = reader = PcscReader(self.wanted)
        faulted = False
        try:
            while not self._stop.is_set():
                try:
                    seen = reader.wait_for_card(self.wait)
                    try:
                        uid = reader.uid().hex().upper()
                    except (E.ApduError, E.NoCard, E.CardRemoved) as exc:
                        log.info("a card with no UID on the staff card reader: %s", getattr(exc, "message", exc))
                    else:
                        log.info("staff card reader: a card (…%s)", uid[-4:])
                        self.post(lambda uid=uid: self.on_card(uid))
                    faulted = False
                    while not self._stop.is_set():  # the same card counts once: wait for it to go
                        try:
                            reader.wait_for_removal(self.wait, seen.reader)
                            break
                        except E.CardTimeout:
                            continue
                except E.CardTimeout:
                    continue
                except DriverError as exc:
                    if self._stop.is_set():
                        break
                    if not faulted:
                        faulted = True
                        self.post(lambda exc=exc: self.on_fault(exc))
                    self._stop.wait(self.retry)
                except Exception as exc:  # never let the watch die silently
                    log.exception("staff card watch: %s", exc)
                    self._stop.wait(self.retry)
        finally:
            self._reader = None
            reader.close()
