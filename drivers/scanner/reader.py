"""What every scanner on a port that can vanish shares: the wait for the next code,
and reopening the port with a growing back-off after an unplug.

:class:`CodeReader` owns that loop. A scanner built on it (the serial
:class:`~drivers.scanner.device.SerialScanner`, the keyboard-wedge
:class:`~drivers.scanner.wedge.WedgeScanner`) says only what differs: whether its
port is open (:attr:`~CodeReader.is_open`), how to open and close it
(:meth:`~CodeReader._open_port`, :meth:`~CodeReader._close_port`), and how to read
one slice of time from it into ``_ready`` (:meth:`~CodeReader._read_slice`).
"""
from __future__ import annotations

import abc
import collections
import logging
import math
import threading
import time
from typing import Iterator, Self

from drivers.scanner.errors import ScannerError, ScannerGone, ScannerUnavailable
from drivers.scanner.scanned import ScannedCode

log = logging.getLogger("drivers.scanner")

READ_SLICE = 0.1  # seconds per read: bounds how late close() and the partial-code check are


class CodeReader(abc.ABC):
    def __init__(self, url: str, *, name: str, backoff: tuple[float, float]) -> None:
        self.url = url
        self.name = name
        self.backoff = backoff  # first and longest wait between reopen attempts
        self.errors: collections.Counter[str] = collections.Counter()  # dropped codes by reason
        self.codes_read = 0
        self.reconnects = 0
        self.last_error: ScannerError | None = None
        self._ready: collections.deque[ScannedCode] = collections.deque()
        self._closed = threading.Event()
        self._was_open = False
        self._next_attempt = 0.0
        self._delay = backoff[0]

    # -- what a scanner says about its port --------------------------------------------
    @property
    @abc.abstractmethod
    def port_name(self) -> str: ...

    @property
    @abc.abstractmethod
    def is_open(self) -> bool: ...

    @abc.abstractmethod
    def _open_port(self) -> None:
        """Open the port and start reading afresh; :class:`ScannerUnavailable` if it cannot."""

    @abc.abstractmethod
    def _close_port(self) -> None: ...

    @abc.abstractmethod
    def _read_slice(self, until: float) -> None:
        """Read until about ``until``, putting whole codes in ``_ready``; raise :meth:`_vanished`'s
        error if the port went away."""

    # -- lifetime ----------------------------------------------------------------------
    def open(self) -> Self:
        """Open the port now (otherwise the first read does). Raises ScannerUnavailable."""
        self._closed.clear()
        self._reopen(time.monotonic(), force=True)
        if not self.is_open and self.last_error is not None:
            raise self.last_error
        return self

    def close(self) -> None:
        self._closed.set()
        self._close_port()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------
    def read_code(self, timeout: float | None = None) -> ScannedCode | None:
        """The next code, waiting up to ``timeout`` seconds (``None``: forever).
        Returns ``None`` when no code came in time. Raises :class:`ScannerGone`
        when the port vanishes, :class:`ScannerUnavailable` when it stayed
        unavailable for the whole timeout."""
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        first = True
        while True:
            if self._ready:
                return self._ready.popleft()
            now = time.monotonic()
            if self._closed.is_set() or (now >= deadline and not first):
                error = self.last_error
                if not self.is_open and error is not None and not self._closed.is_set():
                    # A fresh instance: re-raising one object grows its traceback on every call.
                    raise type(error)(error.message, hint=error.hint, port=error.port)
                return None
            first = False
            if not self.is_open:
                if now < self._next_attempt:
                    self._closed.wait(max(0.0, min(deadline, self._next_attempt) - now))
                    continue
                if not self._reopen(now):
                    continue
            self._read_slice(min(deadline, now + READ_SLICE))

    def __iter__(self) -> Iterator[ScannedCode]:
        return self.codes()

    def codes(self, poll: float = 0.5) -> Iterator[ScannedCode]:
        """Yield codes until :meth:`close`, reconnecting through unplugs."""
        while not self._closed.is_set():
            try:
                code = self.read_code(poll)
            except (ScannerGone, ScannerUnavailable) as exc:
                log.debug("%s: %s", self.name, exc)  # already logged when it happened
                continue
            if code is not None:
                yield code

    def _reopen(self, now: float, *, force: bool = False) -> bool:
        if not force and now < self._next_attempt:
            return False
        try:
            self._open_port()
        except ScannerUnavailable as exc:
            if not isinstance(self.last_error, ScannerUnavailable):
                log.warning("%s: %s", self.name, exc)
            self.last_error = exc
            self._next_attempt = now + self._delay
            self._delay = min(self._delay * 2, self.backoff[1])
            return False
        if self._was_open:
            self.reconnects += 1
            log.warning("%s: reconnected on %s", self.name, self.port_name)
        self._was_open = True
        self.last_error, self._delay = None, self.backoff[0]
        return True

    def _vanished(self, error: ScannerGone) -> ScannerGone:
        """Note that the port vanished (logged once, here); the caller raises ``error``."""
        self.last_error = error
        self._next_attempt = time.monotonic() + self._delay
        log.warning("%s", error)
        return error
