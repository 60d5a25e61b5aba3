"""The serial scanner a caller uses: codes from a USB-CDC or RS-232 scanner, one
per line, over :class:`drivers.link.SerialLink`.

The scanner only talks: there is no request/response, so this class never calls
``transact``. It reads lines as they come, drops and counts the bad ones (by
:attr:`BadCode.reason`), and hands out one code per line in order.

A line left without its terminator (a code cut off mid-transmission) would glue
itself to the front of the next code and make a wrong code; a scanner sends a
whole code in one burst, so a partial line that stays unchanged for
``line_timeout`` seconds is dropped and counted as ``unterminated``.

A vanished port raises :class:`ScannerGone` naming it, once; the next calls
reopen it with a growing back-off, raising :class:`ScannerUnavailable` when a
whole timeout passes without the port. Iterating (``for code in scanner``) rides
over both and only ends at :meth:`close`.
"""
from __future__ import annotations

import collections
import logging
import math
import threading
import time
from typing import Iterator

from drivers.errors import DeviceGone, PortUnavailable
from drivers.health import DEGRADED, DOWN, OK, Health
from drivers.link import SerialLink
from drivers.scanner.codec import LineCodec, LineFormat
from drivers.scanner.errors import BadCode, ScannerError, ScannerGone, ScannerUnavailable
from drivers.scanner.scanned import ScannedCode

log = logging.getLogger("drivers.scanner")

READ_SLICE = 0.1  # seconds per link read: bounds how late close() and the partial-line check are


class SerialScanner:
    def __init__(self, url: str, *, fmt: LineFormat | None = None, name: str = "scanner",
                 baudrate: int = 9600, line_timeout: float = 0.5,
                 backoff: tuple[float, float] = (0.1, 5.0)) -> None:
        self.url = url
        self.name = name
        self.codec = LineCodec(fmt)
        self.link = SerialLink(url, self.codec, name=name, baudrate=baudrate)
        self.line_timeout = line_timeout
        self.backoff = backoff  # first and longest wait between reopen attempts
        self.errors: collections.Counter[str] = collections.Counter()  # dropped lines by reason
        self.codes_read = 0
        self.reconnects = 0
        self.last_error: ScannerError | None = None
        self.last_line_bad = False
        self._ready: collections.deque[ScannedCode] = collections.deque()
        self._closed = threading.Event()
        self._was_open = False
        self._next_attempt = 0.0
        self._delay = backoff[0]
        self._partial = b""
        self._partial_since = 0.0

    # -- lifetime ----------------------------------------------------------------
    def open(self) -> "SerialScanner":
        """Open the port now (otherwise the first read does). Raises ScannerUnavailable."""
        self._closed.clear()
        self._reopen(time.monotonic(), force=True)
        if self.last_error is not None and not self.link.is_open:
            raise self.last_error
        return self

    def close(self) -> None:
        self._closed.set()
        self.link.close()

    def __enter__(self) -> "SerialScanner":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port_name(self) -> str:
        return self.link.port_name

    # -- reading -------------------------------------------------------------------
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
                if not self.link.is_open and error is not None and not self._closed.is_set():
                    # A fresh instance: re-raising one object grows its traceback on every call.
                    raise type(error)(error.message, hint=error.hint, port=error.port)
                return None
            first = False
            if not self.link.is_open:
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
            self.link.open()
        except PortUnavailable as exc:
            if not isinstance(self.last_error, ScannerUnavailable):
                log.warning("%s: %s", self.name, exc)
            self.last_error = ScannerUnavailable(exc.message, hint=exc.hint, port=exc.port or self.url)
            self._next_attempt = now + self._delay
            self._delay = min(self._delay * 2, self.backoff[1])
            return False
        if self._was_open:
            self.reconnects += 1
            log.warning("%s: reconnected on %s", self.name, self.port_name)
        self._was_open = True
        self.codec.reset()
        self._partial = b""
        self.last_error, self._delay = None, self.backoff[0]
        return True

    def _read_slice(self, until: float) -> None:
        try:
            # silence: return soon after a burst rather than sitting out the slice.
            # Not ``until=``: the link stops mid-chunk there and drops the frames after it.
            frames = self.link.read_frames(max(until, time.monotonic() + 0.01), silence=0.005)
        except DeviceGone as exc:
            self.last_error = ScannerGone(exc.message, hint=exc.hint, port=exc.port or self.url)
            self._next_attempt = time.monotonic() + self._delay
            log.warning("%s", self.last_error)
            raise self.last_error from exc
        now = time.monotonic()
        for frame in frames:
            self._take(frame, now)
        self._check_partial(now)

    def _take(self, frame: bytes, now: float) -> None:
        try:
            text = self.codec.decode(frame)
        except BadCode as exc:
            self._drop(exc.reason, str(exc))
            return
        if text is None:
            return  # an empty line: the LF of a CRLF split across reads
        self.codes_read += 1
        self.last_line_bad = False
        log.debug("%s: code of %d characters", self.name, len(text))  # codes may be secrets
        self._ready.append(ScannedCode(text, "serial", now, extra={"port": self.port_name}))

    def _check_partial(self, now: float) -> None:
        pending = self.link.deframer.pending()
        if not pending or pending != self._partial:
            self._partial, self._partial_since = pending, now
            return
        if now - self._partial_since >= self.line_timeout:
            self.link.deframer.clear()
            self._partial = b""
            self._drop("unterminated", f"{len(pending)} bytes without a line end for {self.line_timeout} s")

    def _drop(self, reason: str, detail: str) -> None:
        self.errors[reason] += 1
        self.last_line_bad = True
        log.warning("%s on %s: dropped a line (%s): %s", self.name, self.port_name, reason, detail)

    # -- doctor ----------------------------------------------------------------------
    def health(self) -> Health:
        """What this scanner has seen so far (no I/O)."""
        data = {"codes": self.codes_read, "dropped": dict(self.errors), "reconnects": self.reconnects,
                "port": self.port_name}
        if not self.link.is_open:
            error = self.last_error
            if error is None:
                return Health(self.name, self.url, DEGRADED, "not opened yet", data=data)
            return Health(self.name, self.url, DOWN, error.message, fix=error.hint, data=data)
        dropped = sum(self.errors.values())
        detail = f"listening on {self.port_name}; {self.codes_read} codes read, {dropped} lines dropped"
        if self.last_line_bad:
            return Health(self.name, self.url, DEGRADED, detail + "; the last line was garbage",
                          fix="check the baud rate and the scanner's prefix/suffix and character set", data=data)
        return Health(self.name, self.url, OK, detail, data=data)
