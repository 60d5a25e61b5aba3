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

import logging
import time

from drivers.errors import DeviceGone, PortUnavailable
from drivers.health import DEGRADED, DOWN, OK, Health
from drivers.link import SerialLink
from drivers.scanner.codec import LineCodec, LineFormat
from drivers.scanner.errors import BadCode, ScannerGone, ScannerUnavailable
from drivers.scanner.reader import CodeReader
from drivers.scanner.scanned import ScannedCode

log = logging.getLogger("drivers.scanner")


class SerialScanner(CodeReader):
    def __init__(self, url: str, *, fmt: LineFormat | None = None, name: str = "scanner",
                 baudrate: int = 9600, line_timeout: float = 0.5,
                 backoff: tuple[float, float] = (0.1, 5.0)) -> None:
        super().__init__(url, name=name, backoff=backoff)
        self.codec = LineCodec(fmt)
        self.link = SerialLink(url, self.codec, name=name, baudrate=baudrate)
        self.line_timeout = line_timeout
        self.last_line_bad = False
        self._partial = b""
        self._partial_since = 0.0

    # -- the port ------------------------------------------------------------------
    @property
    def port_name(self) -> str:
        return self.link.port_name

    @property
    def is_open(self) -> bool:
        return self.link.is_open

    def _open_port(self) -> None:
        try:
            self.link.open()
        except PortUnavailable as exc:
            raise ScannerUnavailable(exc.message, hint=exc.hint, port=exc.port or self.url) from exc
        self.codec.reset()
        self._partial = b""

    def _close_port(self) -> None:
        self.link.close()

    # -- reading -------------------------------------------------------------------
    def _read_slice(self, until: float) -> None:
        try:
            # silence: return soon after a burst rather than sitting out the slice.
            # Not ``until=``: the link stops mid-chunk there and drops the frames after it.
            frames = self.link.read_frames(max(until, time.monotonic() + 0.01), silence=0.005)
        except DeviceGone as exc:
            raise self._vanished(ScannerGone(exc.message, hint=exc.hint, port=exc.port or self.url)) from exc
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
        if not self.is_open:
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
