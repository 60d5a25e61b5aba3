"""A request/response link over one byte transport: the layer between a device
class and its transport URL.

The link owns the port: it opens it lazily, serialises transactions (a half-duplex
bus carries one at a time), keeps a gap between them, traces every frame at DEBUG
in hex, and turns a vanished port into :class:`DeviceGone` naming it. The next call
after a vanished port tries to open it again, so a device that comes back (USB
replugged, simulator restarted) just works again.

It never retries on its own: whether a request is safe to repeat (a status query)
or not (an unlock) is the device class's decision.
"""
from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import serial

from drivers.errors import DeviceGone, DeviceTimeout
from drivers.framing import Deframer, Scanner
from drivers.transport import open_transport

Accept = Callable[[bytes], bool]


@dataclass
class Exchange:
    """What one request/response transaction saw."""

    frames: list[bytes]  # validated frames, the accepted one (if any) last
    garbage: int  # bytes that arrived and failed validation
    sent_at: float  # wall clock when the request went out
    gone: DeviceGone | None = None  # the port vanished *after* the request went out


class SerialLink:
    def __init__(self, url: str, scan: Scanner, *, name: str, baudrate: int | None = None,
                 read_timeout: float = 0.01, gap: float = 0.005) -> None:
        self.url = url
        self.name = name
        self._scan = scan
        self._baudrate = baudrate
        self._read_timeout = read_timeout
        self._gap = gap
        self._port: serial.SerialBase | None = None
        self._lock = threading.RLock()
        self._last_end = 0.0
        self._withheld = 0  # > 0 while personal data is on the wire
        self.deframer = Deframer(scan)
        # Frames that arrived in the same chunk after the one a reader accepted:
        # they belong to the next read, not to the floor.
        self._ready: deque[bytes] = deque()
        self.log = logging.getLogger(f"drivers.{name}")

    # -- port lifetime ---------------------------------------------------------
    @property
    def port_name(self) -> str:
        port = self._port
        return str(getattr(port, "port", None) or getattr(port, "portstr", None) or self.url)

    def open(self) -> serial.SerialBase:
        with self._lock:
            if self._port is None or not self._port.is_open:
                self._port = open_transport(self.url, baudrate=self._baudrate, timeout=self._read_timeout)
                self.deframer = Deframer(self._scan)
                self._ready.clear()
                self.log.info("%s: opened %s", self.name, self.port_name)
            return self._port

    def close(self) -> None:
        with self._lock:
            if self._port is not None:
                # pyserial's socket:// close() shuts the socket down and closes it in one
                # try: when the peer is already gone, shutdown() raises and the socket
                # is left open (a descriptor lost at every reconnection). Close it here.
                sock = getattr(self._port, "_socket", None)
                try:
                    self._port.close()
                except (serial.SerialException, OSError):
                    pass
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
                self._port = None

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def __enter__(self) -> "SerialLink":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def withholding(self) -> Iterator[None]:
        """While inside, received bytes are traced as a count, never as hex: an ID
        card's text and photo must not reach a log even at DEBUG."""
        with self._lock:
            self._withheld += 1
        try:
            yield
        finally:
            with self._lock:
                self._withheld -= 1

    @property
    def lock(self) -> threading.RLock:
        """Hold this to run several transactions back to back (a bus scan)."""
        return self._lock

    # -- I/O -------------------------------------------------------------------
    def _gone(self, exc: BaseException) -> DeviceGone:
        where = self.port_name
        self.close()
        return DeviceGone(f"{self.name} on {where} vanished: {exc}",
                          hint="check the cable or USB adapter; the driver reconnects when the port is back",
                          port=where)

    def write(self, data: bytes) -> None:
        with self._lock:
            port = self.open()  # PortUnavailable when it cannot be opened
            wait = self._gap - (time.monotonic() - self._last_end)
            if wait > 0:
                time.sleep(wait)
            try:
                port.write(data)  # no flush() (tcdrain): see exchange()
            except (serial.SerialException, OSError) as exc:
                raise self._gone(exc) from exc
            if self.log.isEnabledFor(logging.DEBUG):
                self.log.debug("%s TX %s", self.name, data.hex(" "))

    def read_frames(self, deadline: float, *, until: Accept | None = None,
                    silence: float | None = None) -> list[bytes]:
        """Read frames until ``until(frame)`` accepts one, ``silence`` seconds pass
        with no byte after at least one frame, or ``deadline`` (monotonic) passes.
        Returns the frames seen (the accepted one last)."""
        frames: list[bytes] = []
        with self._lock:
            port = self.open()
            last_byte = time.monotonic()
            try:
                while True:
                    while self._ready:
                        frame = self._ready.popleft()
                        frames.append(frame)
                        if until is not None and until(frame):
                            return frames
                    now = time.monotonic()
                    if now >= deadline:
                        break
                    if silence is not None and frames and now - last_byte >= silence:
                        break
                    waiting = port.in_waiting
                    chunk = port.read(waiting or 1)
                    if chunk:
                        last_byte = time.monotonic()
                        if self.log.isEnabledFor(logging.DEBUG):
                            self.log.debug("%s RX %s", self.name, f"<{len(chunk)} bytes withheld: personal data>"
                                           if self._withheld else chunk.hex(" "))
                        self._ready.extend(self.deframer.feed(chunk))
            except (serial.SerialException, OSError) as exc:
                raise self._gone(exc) from exc
            finally:
                self._last_end = time.monotonic()
        return frames

    def exchange(self, request: bytes, *, timeout: float, until: Accept | None = None,
                 silence: float | None = None, expect: int = 1) -> Exchange:
        """One whole transaction in one hold of the lock: drop stale input, keep
        the gap, send ``request``, then read frames until ``until`` accepts one,
        ``silence`` follows a frame, or ``timeout`` passes.

        ``expect`` is the awaited reply's length: pyserial's ``read(n)`` returns
        early only once ``n`` bytes are in, so asking for the whole reply costs one
        wake-up instead of two. Raises :class:`DeviceGone` or
        :class:`PortUnavailable` when the request could not be sent; a port that
        vanishes *after* it was sent is reported in :attr:`Exchange.gone` instead,
        because the request may have acted (an unlock is then "unknown", not an error).
        """
        with self._lock:
            port = self.open()
            deframer = self.deframer
            try:
                stale = _waiting(port)
                if stale:  # a late reply to an earlier request, or line noise
                    deframer.feed(port.read(stale))
                    self.log.debug("%s: discarded %d stale bytes", self.name, stale)
                deframer.clear()
                self._ready.clear()  # frames kept back by read_frames(): stale too
                before = deframer.dropped
                wait = self._gap - (time.monotonic() - self._last_end)
                if wait > 0:
                    time.sleep(wait)
                # No flush() (tcdrain) here: write() returns once the kernel has the
                # bytes, and the reply timeout covers their time on the wire.
                _write(port, request)
            except (serial.SerialException, OSError) as exc:
                raise self._gone(exc) from exc
            sent_at = time.time()
            trace = self.log.isEnabledFor(logging.DEBUG)
            if trace:
                self.log.debug("%s TX %s", self.name, request.hex(" "))
            frames: list[bytes] = []
            gone = None
            last_byte = time.monotonic()
            deadline = last_byte + timeout
            want = expect
            try:
                while True:
                    now = time.monotonic()
                    if now >= deadline or (silence is not None and frames and now - last_byte >= silence):
                        break
                    chunk = _read(port, want, deadline - now)
                    if chunk:
                        last_byte = time.monotonic()
                        if trace:
                            self.log.debug("%s RX %s", self.name, f"<{len(chunk)} bytes withheld: personal data>"
                                           if self._withheld else chunk.hex(" "))
                        if _take(deframer.feed(chunk), frames, until):
                            break
                    want = max(1, expect - len(deframer.pending())) if _direct(port) else \
                        port.in_waiting or max(1, expect - len(deframer.pending()))
            except (serial.SerialException, OSError) as exc:
                gone = self._gone(exc)
            finally:
                self._last_end = time.monotonic()
            garbage = deframer.dropped - before + len(deframer.pending())
        return Exchange(frames, garbage, sent_at, gone)

    def transact(self, request: bytes, accept: Accept, *, timeout: float, what: str = "reply",
                 expect: int = 1) -> bytes:
        """Send ``request`` and return the first frame ``accept`` takes.

        Frames that validate but are not accepted (another board's reply, a late
        reply to an earlier request) are logged and skipped. Raises
        :class:`DeviceTimeout` when none comes in ``timeout`` seconds, and
        :class:`DeviceGone` when the port vanished on the way."""
        ex = self.exchange(request, timeout=timeout, until=accept, expect=expect)
        if ex.frames and accept(ex.frames[-1]):
            for stray in ex.frames[:-1]:
                self.log.debug("%s: skipped unrelated frame %s", self.name, stray.hex(" "))
            return ex.frames[-1]
        if ex.gone is not None:
            raise ex.gone
        raise DeviceTimeout(f"{self.name} on {self.port_name}: no {what} within {timeout * 1000:.0f} ms",
                            hint="check power, wiring (A/B swapped?), address and baud rate",
                            port=self.port_name)

    def discard_input(self) -> None:
        """Drop stale bytes before a new request (late replies, line noise)."""
        with self._lock:
            port = self.open()
            try:
                stale = port.read(port.in_waiting) if port.in_waiting else b""
            except (serial.SerialException, OSError) as exc:
                raise self._gone(exc) from exc
            if stale:
                self.deframer.feed(stale)
                self.log.debug("%s: discarded %d stale bytes", self.name, len(stale))
            if self._ready:
                self.log.debug("%s: discarded %d stale frames", self.name, len(self._ready))
                self._ready.clear()
            self.deframer.clear()


def _direct(port: serial.SerialBase) -> bool:
    """A local tty or pty (pyserial's posix Serial, not a socket://, spy:// or loop://
    port): its file descriptor is read and written here directly, as pyserial does but
    without its per-call bookkeeping (about a fifth of an unlock's time beyond the bare
    bytes' own round trip)."""
    return type(port) is serial.Serial and isinstance(getattr(port, "fd", None), int)


def _write(port: serial.SerialBase, data: bytes) -> None:
    if _direct(port):
        try:
            if os.write(port.fd, data) == len(data):
                return
        except BlockingIOError:
            pass
        raise serial.SerialException("the port's output buffer is full: the request was not sent whole")
    port.write(data)


def _read(port: serial.SerialBase, want: int, timeout: float) -> bytes:
    """Up to ``want`` bytes: what has arrived once anything has, or b"" after
    ``timeout`` (a direct port; others read through pyserial as configured)."""
    if not _direct(port):
        return port.read(want)
    fd = port.fd
    try:
        readable, _, _ = select.select([fd], [], [], max(0.0, timeout))
        if not readable:
            return b""
        data = os.read(fd, want)
    except InterruptedError:
        return b""
    except BlockingIOError:
        return b""
    if not data:  # readable yet empty: the device is gone (pyserial says the same)
        raise serial.SerialException("device reports readiness to read but returned no data "
                                     "(device disconnected or multiple access on port?)")
    return data


def _waiting(port: serial.SerialBase) -> int:
    """How many received bytes wait unread. On a tty the TIOCINQ ioctl behind
    ``in_waiting`` costs ~35 µs (a pty flushes its buffer work first), a zero-timeout
    select ~5 µs: ask select whether anything is there at all, and only then how much
    (a vanished device is readable too, and ``in_waiting`` then raises)."""
    fileno = getattr(port, "fd", None)
    if isinstance(fileno, int) and fileno >= 0:
        readable, _, _ = select.select([fileno], [], [], 0)
        if not readable:
            return 0
    return port.in_waiting


def _take(new: list[bytes], frames: list[bytes], until: Accept | None) -> bool:
    """Append ``new`` frames up to the one ``until`` accepts; True once accepted."""
    for frame in new:
        frames.append(frame)
        if until is not None and until(frame):
            return True
    return False
